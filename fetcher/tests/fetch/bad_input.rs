//! Bad answers from a source, end to end against the demo source: each
//! ends the run with an error that names the source, the stream and what
//! to fix — nothing published, no secret in the message.

use std::collections::BTreeSet;

use canonflow_demo_source::{Fault, FaultKind};
use canonflow_testkit::drain;
use rdkafka::Message;

use crate::support::{DEADLINE, Harness, header, split_key};

/// The public source alone, failing fast: two retries, 10 ms apart.
fn public_only(extra_limits: &'static str) -> impl Fn(&str, String) -> String {
    move |name, text| {
        match name {
        "public.toml" => text.replace(
            "[[streams]]",
            &format!("[limits]\nmax_retries = 2\nretry_initial_delay_ms = 10\n{extra_limits}\n[[streams]]"),
        ),
        _ => String::new(),
    }
    }
}

/// A page whose every record is rejected is a configuration error, not a
/// page of dead letters: the run stops and points at the settings.
#[tokio::test]
async fn a_page_whose_every_record_is_rejected_stops_naming_the_settings() {
    let harness = Harness::start(|name, text| match name {
        "public.toml" => text.replace("primary_key = [\"id\"]", "primary_key = [\"holidayId\"]"),
        _ => String::new(),
    })
    .await;
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public") && error.contains("holidays") && error.contains("were rejected"),
        "{error}"
    );
    assert!(
        error.contains("/holidayId") && error.contains("primary_key"),
        "{error}"
    );
    assert!(harness.raw().await.is_empty());
}

/// A response over `limits.max_response_bytes` is refused, not truncated.
#[tokio::test]
async fn an_oversized_response_is_refused_naming_the_limit() {
    let harness = Harness::start(public_only("max_response_bytes = 64")).await;
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public/holidays") && error.contains("limits.max_response_bytes"),
        "{error}"
    );
    assert!(harness.raw().await.is_empty());
}

/// An HTML error page with status 200 is not taken for data.
#[tokio::test]
async fn an_html_page_is_not_data() {
    let harness = Harness::start(public_only("")).await;
    harness
        .demo
        .set_fault(Fault::new(FaultKind::NotJson).on("/public"));
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public/holidays")
            && error.contains("not JSON")
            && error.contains("text/html"),
        "{error}"
    );
    assert!(harness.raw().await.is_empty());
}

/// A stream path the source does not have is fatal at once (404), not a
/// retry loop.
#[tokio::test]
async fn a_wrong_path_is_fatal_and_names_the_status() {
    let harness = Harness::start(|name, text| match name {
        "public.toml" => text.replace("v1/holidays", "v1/no-such-thing"),
        _ => String::new(),
    })
    .await;
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public/holidays") && error.contains("404"),
        "{error}"
    );
    assert_eq!(
        requests_with_status(&harness, 404),
        1,
        "a 404 is not retried"
    );
}

/// Credentials that are valid but not allowed the data (403) are fatal at
/// once: another attempt cannot change the answer.
#[tokio::test]
async fn a_forbidden_stream_is_fatal_at_once_and_names_the_status() {
    let harness = Harness::start(public_only("")).await;
    harness
        .demo
        .set_fault(Fault::new(FaultKind::Forbidden).on("/public"));
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public/holidays") && error.contains("403"),
        "{error}"
    );
    assert_eq!(
        requests_with_status(&harness, 403),
        1,
        "a 403 is not retried"
    );
    assert!(harness.raw().await.is_empty());
}

/// A source nobody answers at (connection refused) is retried up to
/// `limits.max_retries`, then fatal naming the source, the stream and the
/// cause.
#[tokio::test]
async fn an_unreachable_source_is_retried_then_fatal_naming_it() {
    let closed = canonflow_testkit::free_port();
    let harness = Harness::start(move |name, text| match name {
        "public.toml" => public_only("")(name, text)
            .lines()
            .map(|line| match line.starts_with("base_url") {
                true => format!("base_url = \"http://127.0.0.1:{closed}/public/\"\n"),
                false => format!("{line}\n"),
            })
            .collect(),
        _ => String::new(),
    })
    .await;
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public/holidays") && error.contains(&format!("127.0.0.1:{closed}")),
        "{error}"
    );
    assert!(
        error.contains("after 3 attempts") || error.contains("connect"),
        "{error}"
    );
    assert!(harness.raw().await.is_empty());
}

fn requests_with_status(harness: &Harness, status: u16) -> u64 {
    harness
        .demo
        .stats()
        .requests
        .iter()
        .filter(|r| r.status == status)
        .map(|r| r.count)
        .sum()
}

/// A client secret the token endpoint refuses is fatal, names the source,
/// and does not show the secret.
#[tokio::test]
async fn a_refused_oauth2_client_is_fatal_without_the_secret() {
    let harness = Harness::start(|name, text| match name {
        "hr.toml" => text,
        _ => String::new(),
    })
    .await;
    let secret = "not-the-hr-secret-4711";
    std::fs::write(harness.dir.path().join("DEMO_HR_CLIENT_SECRET"), secret).unwrap();
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("hr/") && error.contains("OAuth2 token"),
        "{error}"
    );
    assert!(!error.contains(secret), "the secret leaked into: {error}");
    assert!(harness.raw().await.is_empty());
}

/// Records a page cannot key are dead letters, read back here from the
/// fetcher's dead-letter topic: their exact bytes, the class, the JSON
/// pointer and the reason. The rest of the page is published; every record
/// of the source ends in exactly one of the two topics.
#[tokio::test]
async fn records_without_their_key_are_dead_letters_with_their_bytes_and_reason() {
    // A key field that about one worker in ten has: the others are null.
    let harness = Harness::start(|name, text| match name {
        "hr.toml" => text.replacen(
            "primary_key = [\"id\"]",
            "primary_key = [\"id\", \"terminationDate\"]",
            1,
        ),
        _ => String::new(),
    })
    .await;
    harness.fetch_once().await.unwrap();

    let worker = |m: &rdkafka::message::OwnedMessage| -> serde_json::Value {
        serde_json::from_slice(m.payload().unwrap()).unwrap()
    };
    let mut published = BTreeSet::new();
    for message in harness.raw().await {
        if split_key(&message).0 == "hr/workers" {
            let record = worker(&message);
            assert!(!record["terminationDate"].is_null(), "{record}");
            published.insert(record["id"].as_str().unwrap().to_owned());
        }
    }
    let letters = drain(
        &harness.stack,
        &harness.topics.dead_letters("fetcher"),
        DEADLINE,
    )
    .await;
    let mut dead = BTreeSet::new();
    for letter in &letters {
        let record = worker(letter);
        assert!(record["terminationDate"].is_null(), "{record}");
        assert_eq!(header(letter, "canonflow.error.stage"), Some("fetcher"));
        assert_eq!(
            header(letter, "canonflow.error.class"),
            Some("invalid_input")
        );
        assert_eq!(
            header(letter, "canonflow.error.path"),
            Some("/terminationDate")
        );
        let message = header(letter, "canonflow.error.message").unwrap();
        assert!(message.contains("missing or null"), "{message}");
        let origin = header(letter, "canonflow.error.origin").unwrap();
        assert!(origin.contains("/hr/v1/workers"), "{origin}");
        assert_eq!(header(letter, "canonflow.source"), Some("hr"));
        assert_eq!(header(letter, "canonflow.stream"), Some("workers"));
        dead.insert(record["id"].as_str().unwrap().to_owned());
    }
    assert!(!published.is_empty() && !dead.is_empty());
    assert_eq!(dead.len(), letters.len(), "a record dead-lettered twice");
    assert!(published.is_disjoint(&dead));
    let all: BTreeSet<String> = harness
        .demo
        .snapshot()
        .stream("hr/workers")
        .unwrap()
        .records
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let both: BTreeSet<String> = published.union(&dead).cloned().collect();
    assert_eq!(both, all, "every worker in exactly one topic");
}
