//! Injected faults: each kind's answer, path scoping, counts that clear the
//! fault, and endpoints that are never faulted.

use std::time::{Duration, Instant};

use canonflow_demo_source::{Fault, FaultKind};
use reqwest::StatusCode;

use crate::helpers::*;

const TICKETS: &str = "/ops/v1/tickets?limit=50&api_key=ops-key";

async fn tickets(t: &TestSource) -> Reply {
    send(t.client.get(t.url(TICKETS))).await
}

#[tokio::test]
async fn rate_limit_and_unavailable_say_when_to_retry() {
    let t = start().await;
    t.source.set_fault(Fault::new(FaultKind::RateLimit {
        retry_after_secs: 2,
    }));
    let reply = tickets(&t).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("retry-after"), Some("2"));
    // Token and admin endpoints are never faulted.
    t.hr_token().await;
    assert_eq!(
        send(t.client.get(t.url("/admin/stats"))).await.status,
        StatusCode::OK
    );

    t.source.set_fault(Fault::new(FaultKind::Unavailable {
        retry_after_secs: 5,
    }));
    let reply = tickets(&t).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("retry-after"), Some("5"));

    t.source.set_fault(Fault::none());
    assert_eq!(tickets(&t).await.status, StatusCode::OK);
}

#[tokio::test]
async fn faults_apply_only_under_their_path_prefix() {
    let t = start().await;
    t.source
        .set_fault(Fault::new(FaultKind::ServerError).on("/finance"));
    assert_eq!(tickets(&t).await.status, StatusCode::OK);
    let reply = t.finance_get(&t.url("/finance/api/payments")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn truncated_bodies_are_half_of_an_invalid_json_document() {
    let t = start().await;
    let whole = tickets(&t).await;
    t.source
        .set_fault(Fault::new(FaultKind::Truncated).times(1));
    let cut = tickets(&t).await;
    assert_eq!(cut.status, StatusCode::OK);
    assert_eq!(cut.body.len(), whole.body.len() / 2);
    assert!(whole.body.starts_with(&cut.body));
    assert!(serde_json::from_str::<serde_json::Value>(&cut.body).is_err());
    assert_eq!(
        tickets(&t).await.body,
        whole.body,
        "fault did not clear after one request"
    );
}

#[tokio::test]
async fn malformed_and_html_bodies_come_with_200() {
    let t = start().await;
    t.source.set_fault(Fault::new(FaultKind::Malformed));
    let reply = tickets(&t).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.starts_with(r#"{"data": ["#));
    assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_err());

    t.source.set_fault(Fault::new(FaultKind::NotJson));
    let reply = tickets(&t).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_err());
}

#[tokio::test]
async fn fail_once_set_over_http_fails_one_request() {
    let t = start().await;
    let reply = send(
        t.client
            .post(t.url("/admin/faults"))
            .json(&serde_json::json!({"kind": "fail_once"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(tickets(&t).await.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(tickets(&t).await.status, StatusCode::OK);
    assert_eq!(tickets(&t).await.status, StatusCode::OK);
}

#[tokio::test]
async fn counted_faults_clear_after_their_count() {
    let t = start().await;
    t.source
        .set_fault(Fault::new(FaultKind::ServerError).times(2));
    let statuses = [
        tickets(&t).await.status,
        tickets(&t).await.status,
        tickets(&t).await.status,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK
        ]
    );
    let stats = t.source.stats();
    assert_eq!(stats.count("/ops/v1/tickets", 500), 2);
    assert_eq!(stats.count("/ops/v1/tickets", 200), 1);

    // Count 0 lasts until replaced.
    t.source.set_fault(Fault::new(FaultKind::ServerError));
    for _ in 0..5 {
        assert_eq!(tickets(&t).await.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}

#[tokio::test]
async fn slow_answers_normally_after_the_delay() {
    let t = start().await;
    let normal = tickets(&t).await;
    t.source
        .set_fault(Fault::new(FaultKind::Slow { delay_ms: 50 }).times(1));
    let started = Instant::now();
    let slow = tickets(&t).await;
    // A lower bound only: the delay is a sleep, so it cannot be shorter.
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(slow.status, StatusCode::OK);
    assert_eq!(slow.body, normal.body);
}

#[tokio::test]
async fn admin_faults_round_trip_as_json() {
    let t = start().await;
    let fault = serde_json::json!({"kind": "rate_limit", "retry_after_secs": 1, "path_prefix": "/hr", "count": 3});
    let reply = send(t.client.post(t.url("/admin/faults")).json(&fault)).await;
    assert_eq!(reply.json(), fault);
    let reply = send(t.client.get(t.url("/admin/faults"))).await;
    assert_eq!(reply.json(), fault);
    let reply = send(
        t.client
            .post(t.url("/admin/faults"))
            .json(&serde_json::json!({"kind": "explode"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}
