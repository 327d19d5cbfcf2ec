//! The HR system: OAuth2 client credentials, and its three paging styles.

use std::time::Duration;

use canonflow_demo_source::{DemoConfig, streams};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn issues_tokens_for_form_or_basic_credentials() {
    let t = start().await;
    let token = t.hr_token().await;
    let reply = t.hr_get(&token, &t.url("/hr/v1/workers?limit=1")).await;
    assert_eq!(reply.status, StatusCode::OK);

    let basic = form_post(
        &t.client,
        &t.url("/hr/oauth/token"),
        "grant_type=client_credentials",
    )
    .basic_auth("canonflow", Some("hr-secret"));
    let reply = send(basic).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() >= 20);
    let reply = t
        .hr_get(token, &t.url("/hr/v1/organizations?limit=1"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn rejects_wrong_client_credentials() {
    let t = start().await;
    let url = t.url("/hr/oauth/token");
    let wrong_secret = "grant_type=client_credentials&client_id=canonflow&client_secret=nope";
    let reply = send(form_post(&t.client, &url, wrong_secret)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json(), serde_json::json!({"error": "invalid_client"}));

    let reply = send(form_post(&t.client, &url, "grant_type=client_credentials")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    let wrong_grant = "grant_type=password&client_id=canonflow&client_secret=hr-secret";
    let reply = send(form_post(&t.client, &url, wrong_grant)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn data_needs_a_valid_unexpired_token() {
    let t = start().await;
    let url = t.url("/hr/v1/workers");
    let reply = send(t.client.get(&url)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let reply = t.hr_get("made-up-token", &url).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Tokens that live zero seconds are expired when first used.
    let expiring = start_with(DemoConfig {
        token_ttl: Duration::ZERO,
        ..DemoConfig::default()
    })
    .await;
    let token = expiring.hr_token().await;
    let reply = expiring
        .hr_get(&token, &expiring.url("/hr/v1/workers"))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
}

/// Follows `next_cursor` from `first`; returns every record served.
async fn walk_workers(t: &TestSource, token: &str, first: &str) -> Vec<Value> {
    let mut records = Vec::new();
    let mut url = t.url(first);
    loop {
        let reply = t.hr_get(token, &url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page = reply.json();
        records.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => url = t.url(&format!("{first}&cursor={}", encode(cursor))),
            None => return records,
        }
    }
}

#[tokio::test]
async fn worker_cursor_pages_cover_the_snapshot_in_order() {
    let t = start().await;
    let token = t.hr_token().await;
    let records = walk_workers(&t, &token, "/hr/v1/workers?limit=137").await;
    let served = ids(&Value::from(records.clone()), "id");
    let snapshot = t.snapshot();
    assert!(served.len() > 1000);
    assert_exactly(&served, &snapshot_ids(&snapshot, streams::HR_WORKERS));
    let order: Vec<_> = records
        .iter()
        .map(|r| {
            (
                instant(&r["updatedAt"]),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "not sorted by (updatedAt, id)"
    );
}

#[tokio::test]
async fn updated_since_keeps_records_at_or_after_the_instant() {
    let t = start().await;
    let token = t.hr_token().await;
    let snapshot = t.snapshot();
    let boundary = instant(&versions(&snapshot, streams::HR_WORKERS)[1200]);
    let expected = ids_where(&snapshot, streams::HR_WORKERS, |v| instant(v) >= boundary);
    assert!(expected.len() > 100 && expected.len() < 900);

    // The same instant in another offset selects the same records.
    let in_utc = boundary.with_timezone(&chrono::Utc).to_rfc3339();
    for since in [boundary.to_rfc3339(), in_utc] {
        let first = format!("/hr/v1/workers?limit=100&updated_since={}", encode(&since));
        let served = walk_workers(&t, &token, &first).await;
        assert_exactly(&ids(&Value::from(served), "id"), &expected);
    }
    // An unencoded `+` arrives as a space; the source still reads the offset.
    let raw = boundary
        .with_timezone(&chrono::FixedOffset::east_opt(7200).unwrap())
        .to_rfc3339();
    assert!(raw.contains('+'));
    let served = walk_workers(
        &t,
        &token,
        &format!("/hr/v1/workers?limit=1000&updated_since={raw}"),
    )
    .await;
    assert_exactly(&ids(&Value::from(served), "id"), &expected);

    let reply = t
        .hr_get(&token, &t.url("/hr/v1/workers?updated_since=yesterday"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = t
        .hr_get(&token, &t.url("/hr/v1/workers?cursor=garbage"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn organization_next_links_cover_the_snapshot() {
    let t = start().await;
    let token = t.hr_token().await;
    let mut served = Vec::new();
    let mut pages = 0;
    let mut url = t.url("/hr/v1/organizations?limit=9");
    loop {
        let reply = t.hr_get(&token, &url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page = reply.json();
        served.extend(ids(&page["items"], "id"));
        pages += 1;
        match page["links"]["next"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with("/hr/v1/organizations?"),
                    "not relative: {next}"
                );
                url = t.url(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 12);
    assert_exactly(
        &served,
        &snapshot_ids(&t.snapshot(), streams::HR_ORGANIZATIONS),
    );
}

#[tokio::test]
async fn position_link_headers_cover_the_snapshot() {
    let t = start().await;
    let token = t.hr_token().await;
    let mut served = Vec::new();
    let mut pages = 0;
    let mut url = Some(t.url("/hr/v1/positions?per_page=50"));
    while let Some(next) = url {
        let reply = t.hr_get(&token, &next).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        served.extend(ids(&reply.json(), "id"));
        pages += 1;
        url = next_link(&reply);
    }
    assert_eq!(pages, 6);
    let expected = snapshot_ids(&t.snapshot(), streams::HR_POSITIONS);
    assert_eq!(expected.len(), 300);
    assert_eq!(served, expected, "not the snapshot's ids in id order");
}
