//! The fetcher killed with SIGKILL at random points, again and again, while
//! the source changes: afterwards every record version is on the raw topic,
//! and no checkpoint ever claimed a raw record that is not there.
#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "../fetch/support.rs"]
#[allow(dead_code, reason = "each test binary uses part of the harness")]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use canonflow_demo_source::{Fault, FaultKind};
use canonflow_testkit::eventually;
use rdkafka::Message;
use support::*;

const KILLS: usize = 20;

#[tokio::test]
async fn killed_at_random_the_fetcher_loses_nothing_and_overstates_nothing() {
    let keep = |name: &str, text: String| match name {
        "hr.toml" | "finance.toml" => text,
        _ => String::new(),
    };
    let harness = Harness::start(keep).await;
    harness
        .demo
        .set_fault(Fault::new(FaultKind::Slow { delay_ms: 40 }));
    let config = harness.dir.path().join("fetcher.toml");
    // `once` runs take every partition at once: no waiting for a departed
    // copy's group session to expire (group takeover is the `copies` test).
    // A transaction per page, so that there are many checkpoints to kill between.
    std::fs::write(
        &config,
        harness.config_toml_with(true, "transaction_records = 1"),
    )
    .unwrap();
    let log = harness.dir.path().join("fetcher.log");
    let seed = std::env::var("CANONFLOW_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut rng = fastrand::Rng::with_seed(seed);

    for _ in 0..KILLS {
        harness.demo.mutate(5);
        let mut child = Command::new(env!("CARGO_BIN_EXE_canonflow-fetcher"))
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
        // Wait until this process is fetching (it wrote a checkpoint), then
        // kill it at a random point: mostly mid-page or mid-transaction. A
        // run takes well under a second, so the point is within 400 ms (up
        // to 1.5 s, most kills found the run finished: 1 sync resumed of 20).
        let owner = format!("{}@", child.id());
        eventually(
            Duration::from_secs(60),
            "the new fetcher process writing a checkpoint",
            || async {
                harness
                    .all_checkpoints()
                    .await
                    .iter()
                    .any(|c| c.owner.starts_with(&owner))
                    .then_some(())
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(rng.u64(0..400))).await;
        drop(reaper); // SIGKILL (a no-op if the run already finished)
        child.wait().unwrap();
    }
    harness.demo.set_fault(Fault::none());
    harness.fetch_once().await.unwrap();

    let raw = harness.raw().await;
    let mut at: BTreeMap<(i32, i64), &rdkafka::message::OwnedMessage> = BTreeMap::new();
    let mut payloads: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for message in &raw {
        at.insert((message.partition(), message.offset()), message);
        let (stream, id) = split_key(message);
        payloads
            .entry((stream, id))
            .or_default()
            .push(String::from_utf8_lossy(message.payload().unwrap()).into_owned());
    }

    // Nothing lost: every version at the source is on the raw topic.
    let snapshot = harness.demo.snapshot();
    let mut checked = 0;
    let mut lost = Vec::new();
    for stream in [
        "hr/workers",
        "hr/organizations",
        "finance/invoices",
        "finance/payments",
        "finance/gl_accounts",
    ] {
        for record in &snapshot.stream(stream).unwrap().records {
            let version = record.version.as_ref().unwrap().to_string();
            let published = payloads
                .get(&(stream.to_owned(), record.id.clone()))
                .cloned()
                .unwrap_or_default();
            if !published.iter().any(|p| p.contains(&version)) {
                lost.push(format!(
                    "{stream}/{} version {version}; published: {published:?}",
                    record.id
                ));
            }
            checked += 1;
        }
    }
    if !lost.is_empty() {
        for c in harness.all_checkpoints().await {
            {
                eprintln!(
                    "{}/{} run {} {:?} base {:?} max {:?} pages {} records {} owner {} next {:?}",
                    c.source,
                    c.stream,
                    &c.sync_run[..8],
                    c.state,
                    c.base,
                    c.max_cursor,
                    c.pages,
                    c.records,
                    c.owner,
                    c.next_page
                );
            }
        }
        panic!("{} versions lost:\n{}", lost.len(), lost.join("\n"));
    }

    // Nothing overstated: every checkpoint ever written points at raw
    // records of its own stream that exist.
    let mut owners = BTreeSet::new();
    let mut run_owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut verified = 0;
    for checkpoint in harness.all_checkpoints().await {
        run_owners
            .entry(checkpoint.sync_run.clone())
            .or_default()
            .insert(checkpoint.owner.clone());
        owners.insert(checkpoint.owner.clone());
        for published in &checkpoint.published {
            let record = at.get(&(published.partition, published.offset));
            let stream = format!("{}/{}", checkpoint.source, checkpoint.stream);
            assert!(
                record.is_some_and(|r| split_key(r).0 == stream),
                "checkpoint of {stream} claims raw {published:?}, which is not a record of that stream"
            );
            verified += 1;
        }
    }
    let resumed = run_owners.values().filter(|o| o.len() > 1).count();
    eprintln!(
        "{KILLS} kills (seed {seed}), {} fetcher processes wrote checkpoints, {resumed} syncs resumed by a later process; \
         {checked} versions present, {verified} checkpoint offsets verified, {} raw records",
        owners.len(),
        raw.len()
    );
    assert!(resumed > 0, "no kill landed mid-sync");
    assert_eq!(owners.len(), KILLS + 1, "every process wrote checkpoints");
}
