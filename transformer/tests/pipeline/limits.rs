//! The dead-letter limit end to end: a run of dead letters (a bad deploy)
//! stops the transformer with a fatal error and nothing committed, in its
//! consecutive form and in its ratio form.

use std::time::Duration;

use serde_json::json;

use crate::support::{Harness, Raw, stopped_with_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_deploy_stops_at_the_dead_letter_limit_without_committing() {
    let harness = Harness::start(1).await;
    let bad: Vec<Raw> = (0..5)
        .map(|i| {
            Raw::json(
                "hr",
                "workers",
                &format!("W{i}"),
                json!({"id": i, "updatedAt": "2024-05-01T00:00:00Z"}),
            )
        })
        .collect();
    harness.produce(&bad).await;
    let (run, _shutdown) = harness.spawn("dead_letter_limit = { consecutive = 3 }");
    let error = stopped_with_error(run, Duration::from_secs(60)).await;
    assert!(error.contains("3 dead letters in a row"), "{error}");
    assert!(
        error.contains("first_name"),
        "names the last error: {error}"
    );
    assert_eq!(
        harness.committed().await,
        0,
        "nothing committed past the failing records"
    );
}

/// The ratio form of the limit: dead letters never in a row, but one
/// record in two, stop the transformer when a window of records is full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_the_records_dead_lettered_trips_the_ratio_limit_without_committing() {
    let harness = Harness::start(1).await;
    let records: Vec<Raw> = (0..10)
        .map(|i| match i % 2 {
            // An unmapped stream: passes the guard.
            0 => Raw::json("hr", "positions", &format!("P{i}"), json!({"id": i})),
            _ => Raw::json(
                "hr",
                "workers",
                &format!("W{i}"),
                json!({"id": i, "updatedAt": "2024-05-01T00:00:00Z"}),
            ),
        })
        .collect();
    harness.produce(&records).await;
    let (run, _shutdown) =
        harness.spawn("dead_letter_limit = { consecutive = 100, ratio = 0.3, window = 10 }");
    let error = stopped_with_error(run, Duration::from_secs(60)).await;
    assert!(
        error.contains("5 of the last 10 records on raw partition 0")
            && error.contains("transformer.dead_letter_limit.ratio = 0.3"),
        "{error}"
    );
    assert_eq!(harness.committed().await, 0, "nothing committed");
}
