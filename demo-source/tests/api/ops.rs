//! The small APIs: API key (header or query), static bearer token, no auth.

use canonflow_demo_source::streams;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn tickets_take_the_api_key_in_a_header_or_the_query() {
    let t = start().await;
    let url = t.url("/ops/v1/tickets?limit=5");
    assert_eq!(
        send(t.client.get(&url)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let wrong = t.client.get(&url).header("X-API-Key", "nope");
    assert_eq!(send(wrong).await.status, StatusCode::UNAUTHORIZED);
    let wrong = t.client.get(t.url("/ops/v1/tickets?api_key=nope"));
    assert_eq!(send(wrong).await.status, StatusCode::UNAUTHORIZED);

    let by_header = send(t.client.get(&url).header("X-API-Key", "ops-key")).await;
    let by_query = send(
        t.client
            .get(t.url("/ops/v1/tickets?limit=5&api_key=ops-key")),
    )
    .await;
    assert_eq!(by_header.status, StatusCode::OK);
    assert_eq!(by_query.status, StatusCode::OK);
    assert_eq!(by_header.json(), by_query.json());
}

#[tokio::test]
async fn ticket_offsets_cover_the_snapshot_with_naive_berlin_times() {
    let t = start().await;
    let mut served = Vec::new();
    loop {
        let url = t.url(&format!("/ops/v1/tickets?offset={}&limit=64", served.len()));
        let reply = send(t.client.get(url).header("X-API-Key", "ops-key")).await;
        assert_eq!(reply.status, StatusCode::OK);
        let body = reply.json();
        assert_eq!(body["count"], 200);
        for ticket in body["results"].as_array().unwrap() {
            let updated = ticket["updatedAt"].as_str().unwrap();
            assert!(
                chrono::NaiveDateTime::parse_from_str(updated, "%Y-%m-%d %H:%M:%S").is_ok(),
                "not a naive timestamp: {updated}"
            );
        }
        let page = ids(&body["results"], "id");
        if page.is_empty() {
            break;
        }
        served.extend(page);
    }
    assert_exactly(&served, &snapshot_ids(&t.snapshot(), streams::OPS_TICKETS));
}

#[tokio::test]
async fn asset_cursor_pages_need_the_bearer_token_and_cover_the_snapshot() {
    let t = start().await;
    let reply = send(t.client.get(t.url("/ops/v1/assets")).bearer_auth("wrong")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let mut served = Vec::new();
    let mut millis = Vec::new();
    let mut url = t.url("/ops/v1/assets?limit=30");
    loop {
        let reply = send(t.client.get(&url).bearer_auth("assets-token")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let body = reply.json();
        for asset in body["data"].as_array().unwrap() {
            millis.push(asset["updatedAtMs"].as_i64().unwrap());
        }
        served.extend(ids(&body["data"], "id"));
        match body["next_cursor"].as_str() {
            Some(cursor) => {
                url = t.url(&format!(
                    "/ops/v1/assets?limit=30&cursor={}",
                    encode(cursor)
                ))
            }
            None => break,
        }
    }
    assert!(millis.windows(2).all(|w| w[0] <= w[1]));
    assert_exactly(&served, &snapshot_ids(&t.snapshot(), streams::OPS_ASSETS));
}

#[tokio::test]
async fn holidays_are_one_public_page() {
    let t = start().await;
    let reply = send(t.client.get(t.url("/public/v1/holidays"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    let served = ids(&reply.json()["holidays"], "id");
    assert_eq!(served.len(), 20);
    assert_exactly(
        &served,
        &snapshot_ids(&t.snapshot(), streams::PUBLIC_HOLIDAYS),
    );
}
