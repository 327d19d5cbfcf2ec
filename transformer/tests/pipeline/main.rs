//! The transformer on the real local broker: raw records in, canonical
//! entities and dead letters out, offsets committed in the same transaction.

#![allow(clippy::unwrap_used, reason = "tests")]

mod support;

use std::time::Duration;

use canonflow_common::headers;
use rdkafka::Message;
use rdkafka::message::Headers;
use serde_json::json;
use support::{Harness, Raw, header};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maps_examples_dead_letters_bad_records_and_commits_what_it_wrote() {
    let harness = Harness::start(3).await;
    let mut raws: Vec<Raw> = support::examples()
        .into_iter()
        .map(|(_, raw)| raw)
        .collect();
    let examples = raws.len();
    raws.push(Raw::new(
        "hr",
        "workers",
        "W9001",
        b"{\"id\": \"W9001\", \"firstName\": ".to_vec(),
    ));
    raws.push(Raw::json(
        "hr",
        "workers",
        "W9002",
        json!({"id": "W9002", "lastName": "Ng", "updatedAt": "2024-05-01T00:00:00Z"}),
    ));
    raws.push(Raw::json(
        "finance",
        "invoices",
        "INV9",
        json!({
        "SupplierID": "S1", "Amount": "10.00", "Currency": "XXZ", "InvoiceDate": "2024-01-01",
        "Status": "open", "Lines": [], "modifiedAt": "2024-05-01T00:00:00Z"}),
    ));
    raws.push(Raw::json(
        "hr",
        "positions",
        "P0001",
        json!({"id": "P0001", "title": "Engineer"}),
    ));
    let coordinates = harness.produce(&raws).await;

    let run = harness.spawn("");
    let canonical = harness.canonical_records(examples).await;
    let dead = harness.dead_letters(3).await;
    harness.wait_committed(raws.len()).await;
    harness
        .stop(run)
        .await
        .expect("the transformer stopped cleanly");

    // Each example became exactly its expected entity, keyed by canonical id.
    for (i, (name, raw)) in support::examples().into_iter().enumerate() {
        let mut expected = support::expected(&name);
        let id = expected["canonical_id"].as_str().unwrap();
        let (kind, message) = canonical
            .iter()
            .find(|(_, m)| m.key() == Some(id.as_bytes()))
            .unwrap_or_else(|| panic!("{name}: no canonical record keyed {id}"));
        // The test produced the raw record at coordinates of its own.
        support::with_coordinates(&mut expected, &harness.topics.raw(), coordinates[i]);
        assert_eq!(harness.decode(*kind, message), expected, "{name}");
        assert_eq!(
            header(message, headers::SOURCE),
            Some(raw.source.as_str()),
            "raw headers carried"
        );
    }
    assert_eq!(
        canonical.len(),
        examples,
        "one canonical record per mapped raw record"
    );

    // Bad records: dead letters with the original record and the error.
    let by_key = |key: &str| {
        dead.iter()
            .find(|m| m.key() == Some(key.as_bytes()))
            .unwrap_or_else(|| panic!("no dead letter for {key}"))
    };
    let truncated = by_key("hr/workers/W9001");
    assert_eq!(
        truncated.payload(),
        Some(&b"{\"id\": \"W9001\", \"firstName\": "[..])
    );
    assert!(
        header(truncated, headers::ERROR_MESSAGE)
            .unwrap()
            .contains("not valid JSON")
    );
    let missing = by_key("hr/workers/W9002");
    assert_eq!(header(missing, headers::ERROR_PATH), Some("/firstName"));
    assert_eq!(header(missing, headers::ERROR_CLASS), Some("invalid_input"));
    assert_eq!(header(missing, headers::ERROR_STAGE), Some("transformer"));
    assert_eq!(header(missing, headers::ERROR_MAPPING_VERSION), Some("1"));
    assert_eq!(
        header(missing, headers::SOURCE),
        Some("hr"),
        "original headers kept"
    );
    let origin = header(missing, headers::ERROR_ORIGIN).unwrap();
    assert!(
        origin.starts_with(&format!("{}/", harness.topics.raw())),
        "{origin}"
    );
    let currency = by_key("finance/invoices/INV9");
    assert_eq!(header(currency, headers::ERROR_PATH), Some("/Currency"));
    assert!(header(currency, headers::ERROR_TIME).is_some());
    assert!(currency.headers().is_some_and(|h| h.count() >= 8));
}

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
    let result = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the transformer stopped by itself")
        .expect("joined");
    let error = result.expect_err("stopped with an error").to_string();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_mapping_file_is_refused_at_start_naming_the_key() {
    let harness = Harness::start(1).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[mappings]]\nsource = \"hr\"\nstream = \"workers\"\nentity = \"worker\"\nversion = 1\nfields.first_name = \"/firstName\"\nfields.surname = \"/lastName\"\n",
    )
    .unwrap();
    let error = harness
        .run_with_mappings(dir.path())
        .await
        .expect_err("refused")
        .to_string();
    assert!(error.contains("bad.toml"), "{error}");
    assert!(error.contains("fields.surname"), "{error}");
    assert!(error.contains("WorkerAttributes has no field"), "{error}");
}
