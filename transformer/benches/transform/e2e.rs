//! End to end, all at once: the same raw records loaded into a fresh raw
//! topic (not timed), then the transformer and the sink spawned together,
//! each its own release process; timed from their spawn until the last row
//! was written (the newest `updated_at` in the tables: PostgreSQL's clock,
//! the start of the last writing transaction). The limit, in the same run:
//! PostgreSQL `COPY` of those same final rows into empty copies of the
//! tables, one connection.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use canonflow_canonical::EntityKind;
use canonflow_testkit::{Stack, TestSchema, TestTopics};
use futures::StreamExt;
use sqlx::AssertSqlSafe;

use crate::process::{self, Setup};

/// How long the sink waits with nothing to do before it exits: longer
/// than the transformer's start-up, so it does not leave before the data.
const SINK_IDLE_SECS: u64 = 15;

#[derive(Debug)]
pub struct EndToEnd {
    pub records: usize,
    /// From spawn until the last row was written.
    pub elapsed: Duration,
    pub rows: u64,
    /// `COPY` of the same rows.
    pub copied: Duration,
    pub peak_rss_kib: [u64; 2],
}

pub fn run(stack: &Stack, records: usize, settings: &str) -> EndToEnd {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut created = TestTopics::new(stack);
    let topics = created.topics.clone();
    runtime.block_on(crate::create_topics(&mut created, &topics));
    eprintln!(
        "end to end: loading {records} raw records into {} …",
        topics.raw()
    );
    crate::produce::load(&stack.kafka(), &topics.raw(), records, crate::SEED);
    let tables = runtime.block_on(TestSchema::create(stack));
    let dir = tempfile::tempdir().unwrap();
    let transformer_config = dir.path().join("transformer.toml");
    let setup = Setup {
        bootstrap_servers: &stack.bootstrap_servers,
        topics: &topics,
        partitions: crate::partitions(),
        copies: 1,
        records,
        properties: &[],
        settings,
        dir: dir.path(),
    };
    let group = canonflow_testkit::unique("bench-e2e-transformer");
    std::fs::write(&transformer_config, process::config(&setup, &group)).unwrap();
    let sink_config = dir.path().join("sink.toml");
    std::fs::write(&sink_config, sink_toml(stack, &topics.prefix, &tables.name)).unwrap();

    eprintln!("end to end: running the transformer and the sink at once …");
    let spawned_at = SystemTime::now();
    let transformer_log = dir.path().join("transformer.log");
    let sink_log = dir.path().join("sink.log");
    let mut children = [
        process::spawn(&transformer_config, &transformer_log, 0),
        spawn_sink(stack, &sink_config, &sink_log),
    ];
    let peak_rss_kib = wait_for_exits(&mut children, records, [&transformer_log, &sink_log]);

    let (last_write, rows) = runtime.block_on(last_write(&tables));
    let elapsed = last_write
        .duration_since(spawned_at)
        .expect("rows written after the spawn");
    eprintln!("end to end: COPY of the same {rows} rows …");
    let copied = runtime.block_on(copy_of(stack, &tables));
    EndToEnd {
        records,
        elapsed,
        rows,
        copied,
        peak_rss_kib,
    }
}

fn sink_toml(stack: &Stack, prefix: &str, schema: &str) -> String {
    format!(
        "[kafka]\nbootstrap_servers = {:?}\nsession_timeout_ms = {}\n\
         [topics]\nprefix = {prefix:?}\n\
         [telemetry]\nlog_format = \"json\"\n\
         [sink]\nschema = {schema:?}\ngroup_id = {:?}\nexit_when_idle_secs = {SINK_IDLE_SECS}\n",
        stack.bootstrap_servers,
        canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
        canonflow_testkit::unique("bench-e2e-sink"),
    )
}

/// The sink's release binary, beside this benchmark's transformer
/// (`scripts/bench-transformer` builds it).
fn sink_binary() -> PathBuf {
    let path =
        Path::new(env!("CARGO_BIN_EXE_canonflow-transformer")).with_file_name("canonflow-sink");
    assert!(
        path.exists(),
        "{} is missing: cargo build --release -p canonflow-sink --bins",
        path.display()
    );
    path
}

fn spawn_sink(stack: &Stack, config: &Path, log: &Path) -> Child {
    Command::new(sink_binary())
        .env("CANONFLOW__TELEMETRY__LISTEN", "127.0.0.1:0")
        .env("CANONFLOW__POSTGRES__URL", &stack.postgres_url)
        .env("RUST_LOG", "info")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Waits until both stages exited by themselves (idle), successfully;
/// their peak RSS.
fn wait_for_exits(children: &mut [Child; 2], records: usize, logs: [&Path; 2]) -> [u64; 2] {
    let deadline = crate::deadline(records) * 2;
    let started = Instant::now();
    let mut peaks = [0; 2];
    let mut done = [false; 2];
    while !done.iter().all(|d| *d) {
        for (i, child) in children.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            peaks[i] = peaks[i].max(canonflow_testkit::bench::peak_rss_kib(child.id()));
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "{status}; log:\n{}",
                    process::tail(logs[i])
                );
                done[i] = true;
            }
        }
        if started.elapsed() > deadline {
            for child in children.iter_mut() {
                let _ = child.kill();
            }
            panic!(
                "not done after {deadline:?}; logs:\n{}\n{}",
                process::tail(logs[0]),
                process::tail(logs[1])
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    peaks
}

/// When the last row was written, and how many rows there are.
async fn last_write(tables: &TestSchema) -> (SystemTime, u64) {
    let (mut newest, mut rows) = (0.0_f64, 0_u64);
    for kind in EntityKind::ALL {
        let sql = format!(
            "select coalesce(extract(epoch from max(updated_at))::float8, 0), count(*) \
             from canonflow_{}",
            kind.name()
        );
        let (at, count): (f64, i64) = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_one(&tables.pool)
            .await
            .unwrap();
        newest = newest.max(at);
        rows += count as u64;
    }
    assert!(rows > 0, "no rows written");
    (UNIX_EPOCH + Duration::from_secs_f64(newest), rows)
}

/// `COPY` of every table's rows into an empty copy of it; the time of the
/// `COPY … FROM STDIN` statements alone.
async fn copy_of(stack: &Stack, tables: &TestSchema) -> Duration {
    let target = TestSchema::create(stack).await;
    let mut source = tables.pool.acquire().await.unwrap();
    let mut into = target.pool.acquire().await.unwrap();
    let mut copied = Duration::ZERO;
    for kind in EntityKind::ALL {
        let table = format!("canonflow_{}", kind.name());
        let create = format!(
            "create table \"{}\".{table} (like \"{}\".{table} including all)",
            target.name, tables.name
        );
        sqlx::query(AssertSqlSafe(create))
            .execute(&mut *into)
            .await
            .unwrap();
        let mut rows = Vec::new();
        let mut out = source
            .copy_out_raw(&format!("copy {table} to stdout"))
            .await
            .unwrap();
        while let Some(chunk) = out.next().await {
            rows.extend_from_slice(&chunk.unwrap());
        }
        drop(out);
        let started = Instant::now();
        let mut copy = into
            .copy_in_raw(&format!("copy {table} from stdin"))
            .await
            .unwrap();
        for chunk in rows.chunks(1 << 20) {
            copy.send(chunk).await.unwrap();
        }
        copy.finish().await.unwrap();
        copied += started.elapsed();
    }
    copied
}
