//! The admin API: snapshot and stats over HTTP match the library calls.

use canonflow_demo_source::{Snapshot, Stats, streams};
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn snapshot_over_http_matches_and_lists_every_stream() {
    let t = start().await;
    let reply = send(t.client.get(t.url("/admin/snapshot"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    let served: Snapshot = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(served, t.snapshot());
    let names: Vec<&str> = served.streams.keys().map(String::as_str).collect();
    let mut expected = streams::ALL.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    let workers = served.stream(streams::HR_WORKERS).unwrap();
    assert_eq!(workers.total, 2000);
    assert!(workers.records.iter().all(|r| r.version.is_some()));
    let positions = served.stream(streams::HR_POSITIONS).unwrap();
    assert!(positions.records.iter().all(|r| r.version.is_none()));
}

#[tokio::test]
async fn stats_count_data_requests_by_path_and_status() {
    let t = start().await;
    send(t.client.get(t.url("/public/v1/holidays"))).await;
    send(t.client.get(t.url("/public/v1/holidays"))).await;
    send(t.client.get(t.url("/ops/v1/tickets"))).await;
    assert_eq!(
        send(t.client.get(t.url("/nowhere"))).await.status,
        StatusCode::NOT_FOUND
    );
    let reply = send(t.client.get(t.url("/admin/stats"))).await;
    let served: Stats = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(served, t.source.stats());
    assert_eq!(served.count("/public/v1/holidays", 200), 2);
    assert_eq!(served.count("/ops/v1/tickets", 401), 1);
    assert_eq!(served.count("/nowhere", 404), 1);
    assert_eq!(served.total, 4, "admin requests must not be counted");
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let t = start().await;
    let url = t.url("/public/v1/holidays");
    assert_eq!(send(t.client.get(&url)).await.status, StatusCode::OK);
    t.source.shutdown().await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(&url).send().await.is_err());
}
