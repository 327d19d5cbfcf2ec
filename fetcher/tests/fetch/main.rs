//! The fetcher against the demo source and the real local broker: every
//! pagination style and auth method, incremental syncs, faults.
#![allow(clippy::unwrap_used, reason = "tests")]

mod bad_input;
#[allow(dead_code, reason = "each test binary uses part of the harness")]
mod support;

use std::collections::{BTreeMap, BTreeSet};

use canonflow_common::headers;
use canonflow_demo_source::{Fault, FaultKind};
use canonflow_fetcher::checkpoint::SyncState;
use rdkafka::Message;
use support::*;

/// Every record of every demo stream reaches the raw topic exactly once,
/// with its exact bytes and its provenance: all pagination styles (cursor,
/// next URL relative/absolute, OData v2, Link header, page number,
/// offset/limit, none) and auth methods (OAuth2, Basic, API key header,
/// bearer, none) from configuration alone.
#[tokio::test]
async fn a_first_sync_publishes_every_record_exactly_once() {
    let harness = Harness::start(|_, text| text).await;
    harness.fetch_once().await.unwrap();

    let raw = harness.raw().await;
    let mut fetched: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for message in &raw {
        let (stream, id) = split_key(message);
        fetched.entry(stream).or_default().push(id);
        let payload: serde_json::Value =
            serde_json::from_slice(message.payload().unwrap()).unwrap();
        assert!(payload.is_object());
        assert!(header(message, headers::SYNC_RUN).is_some());
        assert!(
            header(message, headers::REQUEST_URL)
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
    }
    let snapshot = harness.demo.snapshot();
    assert_eq!(
        fetched.len(),
        snapshot.streams.len(),
        "streams fetched: {:?}",
        fetched.keys()
    );
    for (stream, ids) in &fetched {
        let truth = snapshot.stream(snapshot_name(stream)).unwrap();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "{stream}: duplicates in a first sync"
        );
        let expected: BTreeSet<&String> = truth.records.iter().map(|r| &r.id).collect();
        assert_eq!(
            unique, expected,
            "{stream}: fetched ids differ from the source's"
        );
    }

    let checkpoints = harness.checkpoints().await;
    for (stream, ids) in &fetched {
        let checkpoint = &checkpoints[stream];
        assert_eq!(checkpoint.state, SyncState::Completed, "{stream}");
        assert_eq!(checkpoint.records, ids.len() as u64, "{stream}");
    }
}

/// After changes at the source, the next sync publishes the changed records
/// (plus what the lookback window re-reads), and the watermark moves to the
/// highest cursor published.
#[tokio::test]
async fn an_incremental_sync_publishes_the_changes() {
    let harness = Harness::start(|_, text| text).await;
    harness.fetch_once().await.unwrap();
    let first = harness.raw().await.len();
    let before = harness.checkpoints().await;

    let changed = harness.demo.mutate(40);
    assert_eq!(changed, 40);
    harness.fetch_once().await.unwrap();
    let raw = harness.raw().await;
    assert!(raw.len() > first, "the second sync published nothing");

    // Every record version at the source is on the raw topic.
    let snapshot = harness.demo.snapshot();
    let mut payloads: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for message in &raw {
        let (stream, id) = split_key(message);
        let payload = String::from_utf8(message.payload().unwrap().to_vec()).unwrap();
        payloads
            .entry((snapshot_name(&stream).to_owned(), id))
            .or_default()
            .push(payload);
    }
    for (stream, truth) in &snapshot.streams {
        for record in &truth.records {
            let Some(version) = &record.version else {
                continue;
            };
            let published = payloads
                .get(&(stream.clone(), record.id.clone()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            assert!(
                published.iter().any(|p| p.contains(&version.to_string())),
                "{stream}/{}: version {version} is not on the raw topic",
                record.id
            );
        }
    }
    let after = harness.checkpoints().await;
    for (stream, checkpoint) in &after {
        let truth = snapshot.stream(snapshot_name(stream)).unwrap();
        if checkpoint.max_cursor.is_none() {
            continue; // full refresh: no cursor configured
        }
        assert_eq!(checkpoint.state, SyncState::Completed);
        assert!(
            checkpoint.watermark() >= before[stream].watermark(),
            "{stream}: watermark went back"
        );
        // An incremental sync re-reads far less than the whole stream.
        if checkpoint.sync_run != before[stream].sync_run {
            assert!(
                (checkpoint.records as usize) < truth.total,
                "{stream}: re-read {} of {} records",
                checkpoint.records,
                truth.total
            );
        }
    }
    let changed_streams: usize = after
        .iter()
        .filter(|(s, c)| {
            c.sync_run != before[*s].sync_run
                && c.records > 0
                && c.max_cursor > before[*s].watermark()
        })
        .count();
    assert!(changed_streams > 0, "no stream saw the changes");
}

/// 429 bursts with Retry-After, then truncated and malformed pages: each
/// sync still completes with every record.
#[tokio::test]
async fn transient_faults_are_retried_and_no_page_is_skipped() {
    let only_hr = |name: &str, text: String| {
        if name == "hr.toml" {
            text
        } else {
            String::new()
        }
    };
    let harness = Harness::start(only_hr).await;
    let faults = [
        Fault::new(FaultKind::RateLimit {
            retry_after_secs: 1,
        })
        .on("/hr/v1/workers")
        .times(3),
        Fault::new(FaultKind::Truncated)
            .on("/hr/v1/organizations")
            .times(2),
        Fault::new(FaultKind::Malformed)
            .on("/hr/v1/positions")
            .times(2),
    ];
    for fault in faults {
        let served = fault.kind.clone();
        harness.demo.set_fault(fault);
        harness.fetch_once().await.unwrap();
        let fetched: BTreeSet<(String, String)> =
            harness.raw().await.iter().map(split_key).collect();
        for stream in ["hr/workers", "hr/organizations", "hr/positions"] {
            let truth = harness.demo.snapshot();
            for record in &truth.stream(stream).unwrap().records {
                assert!(
                    fetched.contains(&(stream.to_owned(), record.id.clone())),
                    "{stream}/{} missing after {served:?}",
                    record.id
                );
            }
        }
    }
    let stats = format!("{:?}", harness.demo.stats());
    assert!(stats.contains("status: 429"), "no 429 was served: {stats}");
}

/// A source that keeps failing ends the run with a clear error naming the
/// stream, instead of retrying forever or skipping pages.
#[tokio::test]
async fn a_source_that_keeps_failing_ends_in_a_clear_error() {
    let harness = Harness::start(|name, text| match name {
        "public.toml" => text.replace("[[streams]]", "[limits]\nmax_retries = 2\nretry_initial_delay_ms = 10\nbreaker_failures = 2\n\n[[streams]]"),
        _ => String::new(),
    })
    .await;
    harness
        .demo
        .set_fault(Fault::new(FaultKind::ServerError).on("/public"));
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(error.contains("public/holidays"), "{error}");
    assert!(harness.raw().await.is_empty());
}

/// Wrong credentials are a fatal error that names the source and the status.
#[tokio::test]
async fn wrong_credentials_fail_clearly() {
    let harness = Harness::start(|name, text| match name {
        "finance.toml" => text,
        _ => String::new(),
    })
    .await;
    std::fs::write(harness.dir.path().join("DEMO_FINANCE_PASSWORD"), "wrong").unwrap();
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("finance/") && error.contains("401"),
        "{error}"
    );
    assert!(!error.contains("wrong"), "the secret leaked into: {error}");
}

/// An OAuth2 token that expires mid-sync is refreshed once the source
/// answers 401, and the sync completes.
#[tokio::test]
async fn an_expired_oauth2_token_is_refreshed_mid_sync() {
    let config = canonflow_demo_source::DemoConfig {
        token_ttl: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let harness = Harness::start_with(config, |name, text| match name {
        // Use each token until the source rejects it.
        "hr.toml" => text.replace(
            "client_id = \"canonflow\"",
            "client_id = \"canonflow\"\nrefresh_before_secs = 0",
        ),
        _ => String::new(),
    })
    .await;
    harness
        .demo
        .set_fault(Fault::new(FaultKind::Slow { delay_ms: 250 }).on("/hr/v1/workers"));
    harness.fetch_once().await.unwrap();
    let workers = harness
        .raw()
        .await
        .iter()
        .filter(|m| split_key(m).0 == "hr/workers")
        .count();
    assert_eq!(
        workers,
        harness.demo.snapshot().stream("hr/workers").unwrap().total
    );
    let stats = harness.demo.stats();
    assert!(
        stats.count("/hr/v1/workers", 401) > 0,
        "no token expired mid-sync: {stats:?}"
    );
    assert!(
        stats.count("/hr/oauth/token", 200) > 1,
        "the token was never refreshed: {stats:?}"
    );
}

/// Requests that time out are retried; an API key sent as a query
/// parameter works and never shows in record headers.
#[tokio::test]
async fn timeouts_are_retried_and_query_keys_stay_secret() {
    let harness = Harness::start(|name, text| match name {
        "ops.toml" => text
            .replace("in = \"header\"", "in = \"query\"")
            .replace("name = \"X-API-Key\"", "name = \"api_key\"")
            .replace(
                "[[streams]]",
                "[limits]\nrequest_timeout_ms = 300\nretry_initial_delay_ms = 10\n\n[[streams]]",
            ),
        _ => String::new(),
    })
    .await;
    harness.demo.set_fault(
        Fault::new(FaultKind::Slow { delay_ms: 2_000 })
            .on("/ops")
            .times(2),
    );
    harness.fetch_once().await.unwrap();
    let raw = harness.raw().await;
    assert_eq!(
        raw.len(),
        harness.demo.snapshot().stream("ops/tickets").unwrap().total
    );
    let key = canonflow_demo_source::DemoConfig::default().ops_api_key;
    for message in &raw {
        let url = header(message, headers::REQUEST_URL).unwrap();
        assert!(!url.contains(&key), "the API key leaked into {url}");
    }
}
