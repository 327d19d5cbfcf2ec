//! Two fetcher copies share the streams through the consumer group on the
//! watermarks topic: no stream is fetched by both at once, and when one copy
//! dies the other takes its streams over.
#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "../fetch/support.rs"]
#[allow(dead_code, reason = "each test binary uses part of the harness")]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use canonflow_fetcher::checkpoint::Checkpoint;
use canonflow_testkit::{StageProcess, eventually};
use support::*;

fn spawn(config: &std::path::Path, log: &std::path::Path) -> StageProcess {
    StageProcess::spawn(
        Command::new(env!("CARGO_BIN_EXE_canonflow-fetcher"))
            // Copies side by side: each its own free port for /metrics.
            .env("CANONFLOW__TELEMETRY__LISTEN", "127.0.0.1:0")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap()),
    )
}

/// Streams each owner wrote checkpoints for.
fn streams_by_owner(all: &[Checkpoint]) -> BTreeMap<String, BTreeSet<String>> {
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in all {
        owners
            .entry(c.owner.clone())
            .or_default()
            .insert(format!("{}/{}", c.source, c.stream));
    }
    owners
}

#[tokio::test]
async fn two_copies_share_the_streams_and_a_survivor_takes_over() {
    let keep = |name: &str, text: String| match name {
        "hr.toml" | "finance.toml" => {
            text.replace("[[streams]]\n", "[[streams]]\nevery_seconds = 1\n")
        }
        _ => String::new(),
    };
    let harness = Harness::start(keep).await;
    let config = harness.dir.path().join("fetcher.toml");
    std::fs::write(&config, harness.config_toml(false)).unwrap();
    let mut a = spawn(&config, &harness.dir.path().join("a.log"));
    let mut b = spawn(&config, &harness.dir.path().join("b.log"));

    let all_streams = 9;
    let shared = eventually(Duration::from_secs(90), "both copies fetching", || async {
        let owners = streams_by_owner(&harness.all_checkpoints().await);
        let streams: BTreeSet<&String> = owners.values().flatten().collect();
        (owners.len() == 2 && streams.len() == all_streams).then_some(owners)
    })
    .await;
    let a_owner = shared
        .keys()
        .find(|o| o.starts_with(&format!("{}@", a.child.id())))
        .unwrap()
        .clone();
    let a_streams = shared[&a_owner].clone();

    // SIGKILL: no goodbye to the group, and maybe a transaction left open
    // that only the survivor's takeover of its transactional ids ends.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let marker = harness.all_checkpoints().await.len();
    eventually(
        Duration::from_secs(90),
        "the survivor fetching the dead copy's streams",
        || async {
            let after = harness.all_checkpoints().await.split_off(marker);
            let taken: BTreeSet<String> = after
                .iter()
                .filter(|c| c.owner != a_owner)
                .map(|c| format!("{}/{}", c.source, c.stream))
                .collect();
            a_streams.is_subset(&taken).then_some(())
        },
    )
    .await;
    // The last copy stops gracefully: killed, it could leave a transaction
    // open that nobody ends, holding back the read_committed reads below
    // (for the transaction timeout on Kafka, forever on the local broker:
    // broker-compat deviation 11).
    assert!(
        b.terminate(Duration::from_secs(45)),
        "the surviving copy did not stop within 45 s of SIGTERM"
    );

    // Never two sync runs of one stream interleaved: once a run is followed
    // by another, it never continues.
    let mut finished: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    for c in harness.all_checkpoints().await {
        let stream = format!("{}/{}", c.source, c.stream);
        assert!(
            !finished
                .get(&stream)
                .is_some_and(|runs| runs.contains(&c.sync_run)),
            "{stream}: sync run {} continued after a later run had started (two copies at once)",
            c.sync_run
        );
        if let Some(previous) = current.insert(stream.clone(), c.sync_run.clone())
            && previous != c.sync_run
        {
            finished.entry(stream).or_default().insert(previous);
        }
    }
}
