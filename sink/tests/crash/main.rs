//! The sink killed with SIGKILL again and again mid-run, and PostgreSQL made
//! unreachable (every connection dropped) while a copy writes: afterwards
//! the table holds exactly the newest version of every entity — no row
//! missing, none stale, none extra.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "tests; the chaos figure line is the output"
)]

#[allow(dead_code, reason = "each test binary uses part of the harness")]
#[path = "../sink/support.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use canonflow_testkit::{KillOnDrop, TcpProxy, eventually};
use support::{Harness, supplier};

const KILLS: usize = 20;
const SUPPLIERS: usize = 4_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_cut_off_from_postgres_the_sink_ends_with_exactly_the_newest_rows() {
    let harness = Harness::start(3).await;
    let seed = std::env::var("CANONFLOW_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut rng = fastrand::Rng::with_seed(seed);
    // Three versions of each supplier, in shuffled order.
    let mut records: Vec<_> = (1..=3)
        .flat_map(|round| (0..SUPPLIERS).map(move |i| supplier(i, round, "DE")))
        .collect();
    rng.shuffle(&mut records);
    harness.produce(&records).await;

    let proxy = TcpProxy::start(&support::postgres_address(&harness.stack.postgres_url)).await;
    let url = harness.stack.postgres_url.replace(
        &support::postgres_address(&harness.stack.postgres_url),
        &proxy.address,
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sink.toml");
    std::fs::write(
        &config,
        harness.config_toml_with_url(&url, "batch_records = 5\nexit_when_idle_secs = 5"),
    )
    .unwrap();
    // The last copy, not killed, takes what is left in bigger batches.
    let last_config = dir.path().join("last.toml");
    std::fs::write(
        &last_config,
        harness.config_toml_with_url(&url, "batch_records = 1000\nexit_when_idle_secs = 5"),
    )
    .unwrap();
    let log = dir.path().join("sink.log");
    let spawn = |config: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_canonflow-sink"))
            .arg("--config")
            .arg(config)
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
            .unwrap()
    };

    let total = i64::try_from(records.len()).unwrap();
    let mut kills = 0;
    let mut cuts = 0;
    while kills < KILLS {
        let before = harness.committed().await;
        if before >= total {
            break;
        }
        let mut child = spawn(&config);
        let guard = KillOnDrop(vec![child.id()]);
        eventually(support::DEADLINE, "the new copy committing", || async {
            (harness.committed().await > before).then_some(())
        })
        .await;
        if kills % 7 == 3 {
            // PostgreSQL gone for a while under a running copy, then back.
            proxy.cut();
            tokio::time::sleep(Duration::from_millis(rng.u64(1_000..3_000))).await;
            proxy.restore();
            cuts += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(0..400))).await;
        drop(guard);
        let _ = child.wait();
        kills += 1;
    }
    // The last copy runs until it is idle.
    let mut last = spawn(&last_config);
    let _guard = KillOnDrop(vec![last.id()]);
    let status = tokio::task::spawn_blocking(move || last.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "the last copy failed; see {}",
        log.display()
    );
    harness.wait_committed(records.len()).await;

    let names = harness.names().await;
    assert_eq!(names.len(), SUPPLIERS, "no row missing, none extra");
    let stale: Vec<_> = names
        .iter()
        .filter(|(_, name)| !name.ends_with(" v3"))
        .collect();
    assert!(stale.is_empty(), "stale rows: {stale:?}");
    println!(
        "kills: {kills}, postgres cuts: {cuts}, records: {}, rows: {}, missing: 0, stale: 0",
        records.len(),
        names.len()
    );
    assert!(
        kills >= 10 && cuts >= 1,
        "the run exercised kills ({kills}) and cuts ({cuts})"
    );
}
