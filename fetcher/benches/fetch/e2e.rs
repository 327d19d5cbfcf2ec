//! Source → PostgreSQL, all at once: the fetcher (`once`), the transformer
//! and the sink spawned together on a fresh prefix and schema, each its own
//! release process; timed from their spawn until the last row was written
//! (the newest `updated_at`). The limit, in the same run: PostgreSQL `COPY`
//! of those same rows into empty copies of the tables, one connection.

use std::path::Path;
use std::time::{Duration, SystemTime};

use canonflow_testkit::bench::{processes, rows};
use canonflow_testkit::{Stack, TestSchema};

/// How long the transformer and the sink wait with nothing to do before
/// they exit: longer than the fetcher's start-up and its slowest stream.
const IDLE_SECS: u64 = 20;
/// A run that is not done by then has hung.
const DEADLINE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug)]
pub struct EndToEnd {
    /// From spawn until the last row was written.
    pub elapsed: Duration,
    pub rows: u64,
    /// `COPY` of the same rows.
    pub copied: Duration,
    /// Fetcher, transformer, sink.
    pub peak_rss_kib: Vec<u64>,
}

/// `fetcher_toml` renders the fetcher's deployment for a topic prefix.
pub async fn run(stack: &Stack, fetcher_toml: impl Fn(&str) -> String) -> EndToEnd {
    let prefix = canonflow_testkit::unique("bench-e2e");
    let schema = TestSchema::create(stack).await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let configs = [
        file("fetcher.toml", fetcher_toml(&prefix)),
        file("transformer.toml", transformer_toml(stack, &prefix)),
        file(
            "sink.toml",
            processes::sink_toml(stack, &prefix, &schema.name, IDLE_SECS),
        ),
    ];
    let fetcher = env!("CARGO_BIN_EXE_canonflow-fetcher");
    let binaries = [
        Path::new(fetcher).to_path_buf(),
        processes::beside(fetcher, "canonflow-transformer"),
        processes::beside(fetcher, "canonflow-sink"),
    ];
    let logs: Vec<_> = ["fetcher", "transformer", "sink"]
        .iter()
        .map(|stage| dir.path().join(format!("{stage}.log")))
        .collect();
    let postgres = [("CANONFLOW__POSTGRES__URL", stack.postgres_url.as_str())];

    eprintln!("end to end: the fetcher, the transformer and the sink at once …");
    let spawned_at = SystemTime::now();
    let mut children: Vec<_> = (0..3)
        .map(|i| processes::spawn(&binaries[i], &configs[i], &logs[i], &postgres))
        .collect();
    let log_paths: Vec<&Path> = logs.iter().map(|l| l.as_path()).collect();
    let peak_rss_kib = processes::wait_for_exits(&mut children, &log_paths, DEADLINE);

    let (last_write, rows) = rows::last_write(&schema).await;
    let elapsed = last_write
        .duration_since(spawned_at)
        .expect("rows written after the spawn");
    eprintln!("end to end: COPY of the same {rows} rows …");
    let copied = rows::copy_of(stack, &schema).await;
    EndToEnd {
        elapsed,
        rows,
        copied,
        peak_rss_kib,
    }
}

fn transformer_toml(stack: &Stack, prefix: &str) -> String {
    let mappings = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mappings");
    format!(
        "[kafka]\nbootstrap_servers = {:?}\nsession_timeout_ms = {}\n\
         [topics]\nprefix = {prefix:?}\n\
         [telemetry]\nlog_format = \"json\"\n\
         [transformer]\nmappings_dir = {:?}\ngroup_id = {:?}\nexit_when_idle_secs = {IDLE_SECS}\n",
        stack.bootstrap_servers,
        canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
        mappings.canonicalize().unwrap(),
        canonflow_testkit::unique("bench-e2e-transformer"),
    )
}

/// Prints the figure and its summary line; `records` is what the source
/// served.
pub fn report(e2e: &EndToEnd, records: usize) {
    let rate = records as f64 / e2e.elapsed.as_secs_f64().max(1e-9);
    let copy_rate = e2e.rows as f64 / e2e.copied.as_secs_f64().max(1e-9);
    println!(
        "end to end: {records} source records → {} rows, fetcher, transformer and sink at once: \
         {:.2} s, {rate:.0} records/s; COPY of the same rows {:.2} s, {copy_rate:.0} rows/s; \
         peak RSS fetcher {} MiB, transformer {} MiB, sink {} MiB",
        e2e.rows,
        e2e.elapsed.as_secs_f64(),
        e2e.copied.as_secs_f64(),
        e2e.peak_rss_kib[0] / 1024,
        e2e.peak_rss_kib[1] / 1024,
        e2e.peak_rss_kib[2] / 1024,
    );
    canonflow_testkit::bench::Summary {
        stage: "end to end",
        figure: "source → rows (fetcher, transformer and sink at once)",
        records: records as u64,
        seconds: e2e.elapsed.as_secs_f64(),
        limit: "COPY of the same rows",
        // Source records per second against rows per second.
        limit_seconds: e2e.copied.as_secs_f64() * records as f64 / (e2e.rows as f64).max(1.0),
        target_percent: 50.0,
        peak_rss_kib: e2e.peak_rss_kib.iter().copied().max(),
        cpu_seconds: None,
    }
    .print();
}
