//! The sink killed with SIGKILL again and again mid-run, PostgreSQL made
//! unreachable (every connection dropped) and PostgreSQL itself crashed and
//! restarted while a copy writes: afterwards the table holds exactly the
//! newest version of every entity — no row missing, none stale, none extra.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "tests; the chaos figure line is the output"
)]

#[allow(dead_code, reason = "each test binary uses part of the harness")]
#[path = "../sink/support.rs"]
mod support;

use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

use canonflow_testkit::{KillOnDrop, PostgresServer, TcpProxy, eventually};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{Harness, supplier};

const KILLS: usize = 20;
const SUPPLIERS: usize = 4_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_cut_off_and_through_postgres_restarts_the_sink_ends_with_exactly_the_newest_rows() {
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

    // A PostgreSQL server of this test's own, so that it can crash it.
    let server = PostgresServer::start().await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(
            PgConnectOptions::from_str(&server.url)
                .unwrap()
                .options([("search_path", harness.schema.name.as_str())]),
        )
        .await
        .unwrap();
    harness.create_schema_on(&pool).await;
    let proxy = TcpProxy::start(&server.address).await;
    let url = server.url.replace(&server.address, &proxy.address);
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
            // Copies side by side: each its own free port for /metrics.
            .env("CANONFLOW__TELEMETRY__LISTEN", "127.0.0.1:0")
            .arg("--config")
            .arg(config)
            // The stack's environment would override the file's PostgreSQL
            // URL, bypassing the proxy and the test's own server.
            .env_remove("CANONFLOW__POSTGRES__URL")
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
    let mut restarts = 0;
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
        if kills % 7 == 5 {
            // PostgreSQL crashes under a running copy and starts again.
            server.crash();
            tokio::time::sleep(Duration::from_millis(rng.u64(500..2_000))).await;
            server.start_again().await;
            restarts += 1;
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

    let names: Vec<(String, String)> =
        sqlx::query_as("select source_id, name from canonflow_supplier order by source_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(names.len(), SUPPLIERS, "no row missing, none extra");
    let stale: Vec<_> = names
        .iter()
        .filter(|(_, name)| !name.ends_with(" v3"))
        .collect();
    assert!(stale.is_empty(), "stale rows: {stale:?}");
    // The outages reached the sink: it retried its writes.
    let retried = std::fs::read_to_string(&log)
        .unwrap()
        .matches("PostgreSQL unavailable")
        .count();
    println!(
        "kills: {kills}, postgres cuts: {cuts}, postgres restarts: {restarts}, write retries: {retried}, records: {}, rows: {}, missing: 0, stale: 0",
        records.len(),
        names.len()
    );
    assert!(retried > 0, "the sink never saw PostgreSQL away");
    assert!(
        kills >= 10 && cuts >= 1 && restarts >= 1,
        "the run exercised kills ({kills}), cuts ({cuts}) and restarts ({restarts})"
    );
}
