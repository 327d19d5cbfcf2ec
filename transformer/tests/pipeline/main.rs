//! The transformer on the real local broker: raw records in, canonical
//! entities and dead letters out, offsets committed in the same transaction.

#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "../bad_records/mod.rs"]
mod bad_records;
mod limits;
mod registry;
#[allow(dead_code, reason = "each test binary uses part of the harness")]
mod support;

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
    let at: std::collections::HashMap<String, (i32, i64)> = raws
        .iter()
        .map(|r| r.key.clone())
        .zip(coordinates)
        .collect();

    let run = harness.spawn("");
    let dead = harness.dead_letters(3).await;
    harness.wait_committed(raws.len()).await;

    // Each example ends as exactly its expected (enriched) entity, keyed by
    // canonical id: the newest record of its key. The test produced the raw
    // records at coordinates of its own.
    let expected: Vec<(String, serde_json::Value)> = support::examples()
        .into_iter()
        .map(|(name, _)| {
            let mut entity = support::expected(&name);
            support::with_coordinates(&mut entity, &harness.topics.raw(), &at);
            (name, entity)
        })
        .collect();
    let newest = harness.newest_matching(&expected).await;
    harness
        .stop(run)
        .await
        .expect("the transformer stopped cleanly");
    for (name, entity) in &expected {
        let id = entity["canonical_id"].as_str().unwrap();
        let (actual, source_header) = newest
            .get(id)
            .unwrap_or_else(|| panic!("{name}: no canonical record keyed {id}"));
        assert_eq!(actual, entity, "{name}");
        assert_eq!(
            source_header.as_deref(),
            entity["source"].as_str(),
            "{name}: headers carried"
        );
    }
    assert_eq!(
        newest.len(),
        examples,
        "canonical records only for mapped raw records"
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

/// The worker and cost center examples share cost center CC0007.
fn worker_and_cost_center() -> (Raw, Raw) {
    let examples: std::collections::BTreeMap<String, Raw> =
        support::examples().into_iter().collect();
    (
        examples["worker-messy-hr-export"].clone(),
        examples["cost-center-odata"].clone(),
    )
}

/// Waits until the newest worker record (by version) is enriched; returns it.
async fn enriched_worker(harness: &Harness) -> serde_json::Value {
    canonflow_testkit::eventually(support::DEADLINE, "an enriched worker", || async {
        let workers = harness
            .decoded(canonflow_canonical::EntityKind::Worker)
            .await;
        let newest = workers.into_iter().max_by_key(support::version_key)?;
        newest["attributes"]["cost_center_name"]
            .is_string()
            .then_some(newest)
    })
    .await
}

fn assert_enriched_from_finance(worker: &serde_json::Value) {
    assert_eq!(worker["attributes"]["cost_center_name"], "Sales – Field");
    assert_eq!(worker["attributes"]["cost_center_code"], "CC0007");
    assert_eq!(
        worker["version"]["reference_modified_at"],
        "2024-04-01T00:00:00Z"
    );
    let provenance = &worker["provenance"];
    let index = provenance["fields"]["cost_center_name"].as_u64().unwrap() as usize;
    let origin = &provenance["origins"][index];
    assert_eq!(origin["source"], "finance", "provenance names the winner");
    assert_eq!(origin["source_id"], "CC0007");
    assert_eq!(
        provenance["fields"]["first_name"], 0,
        "the rest came from HR"
    );
    assert_eq!(provenance["origins"][0]["source"], "hr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_mapped_before_its_cost_center_is_re_emitted_enriched() {
    let harness = Harness::start(2).await;
    let (worker, cost_center) = worker_and_cost_center();
    harness.produce(&[worker]).await;
    let run = harness.spawn("");
    let first = harness.canonical_records(1).await;
    assert_eq!(
        harness.decode(first[0].0, &first[0].1)["attributes"]["cost_center_name"],
        serde_json::Value::Null,
        "no cost center known yet"
    );
    harness.produce(&[cost_center]).await;
    let worker = enriched_worker(&harness).await;
    harness.stop(run).await.expect("stopped cleanly");
    assert_enriched_from_finance(&worker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cost_center_mapped_before_its_worker_enriches_it() {
    let harness = Harness::start(2).await;
    let (worker, cost_center) = worker_and_cost_center();
    harness.produce(&[cost_center, worker]).await;
    let run = harness.spawn("");
    let worker = enriched_worker(&harness).await;
    harness.stop(run).await.expect("stopped cleanly");
    assert_enriched_from_finance(&worker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_with_a_new_mapping_version_changes_only_the_mapping_version() {
    let harness = Harness::start(2).await;
    let supplier = support::example("supplier-odata");
    harness.produce(&[supplier]).await;
    let run = harness.spawn("");
    harness.wait_committed(1).await;
    harness.stop(run).await.expect("stopped cleanly");

    // Version 2 of the mappings; the transformer's offsets back to the start.
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mappings");
    for file in ["hr.toml", "finance.toml"] {
        let text = std::fs::read_to_string(shipped.join(file)).unwrap();
        std::fs::write(
            dir.path().join(file),
            text.replace("version = 1", "version = 2"),
        )
        .unwrap();
    }
    harness.reset_offsets().await;
    assert_eq!(harness.committed().await, 0);
    let run = harness.spawn_with_mappings(dir.path(), "");
    harness.wait_committed(1).await;
    harness.stop(run).await.expect("stopped cleanly");

    let records = harness
        .decoded(canonflow_canonical::EntityKind::Supplier)
        .await;
    assert_eq!(records.len(), 2, "one record per run");
    let (first, second) = (&records[0], &records[1]);
    assert_eq!(first["version"]["mapping_version"], 1);
    assert_eq!(second["version"]["mapping_version"], 2);
    assert_eq!(second["provenance"]["origins"][0]["mapping_version"], 2);
    assert!(
        support::version_key(second) > support::version_key(first),
        "the replay wins"
    );
    let mut same = second.clone();
    same["version"]["mapping_version"] = 1.into();
    same["provenance"]["origins"][0]["mapping_version"] = 1.into();
    assert_eq!(&same, first, "nothing but the mapping version changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_bad_record_is_dead_lettered_and_the_transformer_keeps_going() {
    let harness = Harness::start(2).await;
    let catalog = bad_records::catalog();
    let records: Vec<_> = catalog
        .iter()
        .map(|bad| {
            (
                bad.key.as_deref(),
                bad.payload.as_deref(),
                bad.source,
                bad.stream,
            )
        })
        .collect();
    let at = harness.produce_raw(&records).await;
    // A good record after all of them is still mapped.
    let supplier = support::example("supplier-odata");
    harness.produce(&[supplier]).await;
    let run = harness.spawn("");
    let dead = harness.dead_letters(catalog.len()).await;
    let canonical = harness.canonical_records(1).await;
    harness.wait_committed(catalog.len() + 1).await;
    harness
        .stop(run)
        .await
        .expect("still running, stopped cleanly");

    assert_eq!(canonical.len(), 1);
    for (bad, (partition, offset)) in catalog.iter().zip(at) {
        let origin = format!("{}/{partition}/{offset}", harness.topics.raw());
        let letter = dead
            .iter()
            .find(|m| header(m, headers::ERROR_ORIGIN) == Some(origin.as_str()))
            .unwrap_or_else(|| panic!("{}: no dead letter", bad.name));
        assert_eq!(
            header(letter, headers::ERROR_CLASS),
            Some("invalid_input"),
            "{}",
            bad.name
        );
        assert_eq!(
            header(letter, headers::ERROR_PATH),
            Some(bad.path),
            "{}",
            bad.name
        );
        let message = header(letter, headers::ERROR_MESSAGE).unwrap_or_default();
        assert!(message.contains(bad.problem), "{}: {message}", bad.name);
        assert_eq!(
            letter.payload(),
            bad.payload.as_deref(),
            "{}: original value kept",
            bad.name
        );
        assert_eq!(
            letter.key(),
            bad.key.as_deref(),
            "{}: original key kept",
            bad.name
        );
    }
}
