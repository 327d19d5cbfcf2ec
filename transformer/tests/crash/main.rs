//! The transformer killed with SIGKILL at random points, again and again,
//! while it works through a raw topic: afterwards every raw record is
//! exactly one canonical record or one dead letter — duplicates only as
//! identical re-deliveries of the same record.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "tests; the chaos figure line is the output"
)]

#[path = "../pipeline/support.rs"]
#[allow(dead_code, reason = "each test binary uses part of the harness")]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};

use canonflow_common::headers;
use canonflow_testkit::{drain, eventually};
use rdkafka::Message;
use serde_json::json;
use support::{Harness, Raw, header};

const KILLS: usize = 6;
/// Each copy but the last is killed within this many committed raw records
/// (of ~2,250), plus what it commits while the test polls (every 50 ms).
const KILL_WITHIN: i64 = 100;
const SUPPLIERS: usize = 1_500;

/// Suppliers, some updated (a later `modifiedAt`), one in ten invalid.
fn raw_records() -> Vec<Raw> {
    let mut records = Vec::new();
    for round in 0..3 {
        for i in 0..SUPPLIERS {
            if round > 0 && i % (round * 3) != 0 {
                continue;
            }
            let country = if i % 10 == 7 { "XX" } else { "DE" };
            records.push(Raw::json(
                "finance",
                "suppliers",
                &format!("S{i:05}"),
                json!({
                    "SupplierID": format!("S{i:05}"),
                    "Name": format!("Supplier {i} round {round}"),
                    "Country": country,
                    "Email": format!("billing@supplier{i}.example"),
                    "modifiedAt": format!("2024-05-0{}T00:00:00Z", round + 1),
                }),
            ));
        }
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_the_transformer_maps_every_record_exactly_once() {
    let harness = Harness::start(3).await;
    let raws = raw_records();
    let coordinates = harness.produce(&raws).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("transformer.toml");
    let mappings = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mappings");
    // Small transactions, so that there are many to kill between; a fixed
    // instance id, so that each copy fences its killed predecessor.
    let settings = "transaction_records = 10\ninstance_id = \"crash\"\nexit_when_idle_secs = 5";
    let text = harness.config_toml(&mappings, settings);
    std::fs::write(&config, text).unwrap();
    let log = dir.path().join("transformer.log");
    let seed = std::env::var("CANONFLOW_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let mut rng = fastrand::Rng::with_seed(seed);

    let total = i64::try_from(raws.len()).unwrap();
    let mut killed = 0;
    for _ in 0..=KILLS {
        let before = harness.committed().await;
        if before >= total {
            break;
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_canonflow-transformer"))
            // Copies side by side: each its own free port for /metrics.
            .env("CANONFLOW__TELEMETRY__LISTEN", "127.0.0.1:0")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        let reaper = canonflow_testkit::KillOnDrop(vec![child.id()]);
        if killed < KILLS {
            // Kill it at a random point of its work: once it has committed a
            // random number of further records. By records, not by time, so
            // that however fast a copy is, every kill lands before the end.
            let target = (before + rng.i64(1..=KILL_WITHIN)).min(total);
            eventually(support::DEADLINE, "the new copy committing", || async {
                (harness.committed().await >= target).then_some(())
            })
            .await;
            drop(reaper);
            let _ = child.wait();
            killed += 1;
        } else {
            // The last copy runs until idle.
            let status = tokio::task::spawn_blocking(move || child.wait())
                .await
                .unwrap()
                .unwrap();
            assert!(
                status.success(),
                "the last copy failed; see {}",
                log.display()
            );
        }
    }
    harness.wait_committed(raws.len()).await;

    // Every raw record by its coordinates: valid ones on the supplier topic,
    // invalid ones on the dead-letter topic.
    let raw_at: BTreeMap<(i32, i64), &Raw> = coordinates.iter().copied().zip(raws.iter()).collect();
    let canonical = drain(
        &harness.stack,
        &harness.topics.canonical("supplier"),
        support::DEADLINE,
    )
    .await;
    let mut by_origin: BTreeMap<(i32, i64), BTreeSet<Vec<u8>>> = BTreeMap::new();
    for message in &canonical {
        let entity = harness.decode(canonflow_canonical::EntityKind::Supplier, message);
        let at = (
            i32::try_from(entity["version"]["raw_partition"].as_i64().unwrap()).unwrap(),
            entity["version"]["raw_offset"].as_i64().unwrap(),
        );
        let raw = raw_at
            .get(&at)
            .unwrap_or_else(|| panic!("canonical record from no raw record: {entity}"));
        assert_eq!(entity["source_id"], raw.key.rsplit('/').next().unwrap());
        by_origin
            .entry(at)
            .or_default()
            .insert(message.payload().unwrap().to_vec());
    }
    let dead = drain(
        &harness.stack,
        &harness.topics.dead_letters("transformer"),
        support::DEADLINE,
    )
    .await;
    // Payload and error message of each dead letter, by raw coordinates.
    type Letters = BTreeMap<(i32, i64), BTreeSet<(Vec<u8>, String)>>;
    let mut dead_by_origin = Letters::new();
    for message in &dead {
        let origin = header(message, headers::ERROR_ORIGIN).unwrap();
        let mut parts = origin.rsplitn(3, '/');
        let offset: i64 = parts.next().unwrap().parse().unwrap();
        let partition: i32 = parts.next().unwrap().parse().unwrap();
        // The error time differs between re-deliveries; the rest may not.
        let error = header(message, headers::ERROR_MESSAGE).unwrap().to_owned();
        dead_by_origin
            .entry((partition, offset))
            .or_default()
            .insert((message.payload().unwrap().to_vec(), error));
    }
    let mut invalid = 0;
    for (at, raw) in &raw_at {
        let is_invalid = String::from_utf8_lossy(&raw.payload).contains("\"XX\"");
        if is_invalid {
            invalid += 1;
            let letters = dead_by_origin
                .get(at)
                .unwrap_or_else(|| panic!("{} at {at:?}: no dead letter", raw.key));
            assert_eq!(
                letters.len(),
                1,
                "{} at {at:?}: differing dead letters",
                raw.key
            );
            assert!(
                !by_origin.contains_key(at),
                "{} at {at:?}: also canonical",
                raw.key
            );
        } else {
            let payloads = by_origin
                .get(at)
                .unwrap_or_else(|| panic!("{} at {at:?}: no canonical record", raw.key));
            assert_eq!(
                payloads.len(),
                1,
                "{} at {at:?}: duplicates that differ",
                raw.key
            );
            assert!(
                !dead_by_origin.contains_key(at),
                "{} at {at:?}: also a dead letter",
                raw.key
            );
        }
    }
    assert_eq!(
        by_origin.len() + dead_by_origin.len(),
        raws.len(),
        "nothing extra"
    );
    assert!(
        invalid > 0 && killed == KILLS,
        "the run exercised kills ({killed}) and dead letters ({invalid})"
    );
    println!(
        "kills: {killed}, raw records: {}, canonical records: {} ({} distinct), dead letters: {} ({} distinct)",
        raws.len(),
        canonical.len(),
        by_origin.len(),
        dead.len(),
        dead_by_origin.len()
    );
}
