//! End to end, all at once: the same raw records loaded into a fresh raw
//! topic (not timed), then the transformer and the sink spawned together,
//! each its own release process; timed from their spawn until the last row
//! was written (the newest `updated_at` in the tables: PostgreSQL's clock,
//! the start of the last writing transaction). The limit, in the same run:
//! PostgreSQL `COPY` of those same final rows into empty copies of the
//! tables, one connection.

use std::time::{Duration, SystemTime};

use canonflow_testkit::bench::{processes, rows};
use canonflow_testkit::{Stack, TestSchema, TestTopics};

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
    let sink = processes::sink_toml(stack, &topics.prefix, &tables.name, SINK_IDLE_SECS);
    std::fs::write(&sink_config, sink).unwrap();

    eprintln!("end to end: running the transformer and the sink at once …");
    let spawned_at = SystemTime::now();
    let transformer_log = dir.path().join("transformer.log");
    let sink_log = dir.path().join("sink.log");
    let sink_binary = processes::beside(
        env!("CARGO_BIN_EXE_canonflow-transformer"),
        "canonflow-sink",
    );
    let postgres = [("CANONFLOW__POSTGRES__URL", stack.postgres_url.as_str())];
    let mut children = [
        process::spawn(&transformer_config, &transformer_log, 0),
        processes::spawn(&sink_binary, &sink_config, &sink_log, &postgres),
    ];
    let peaks = processes::wait_for_exits(
        &mut children,
        &[&transformer_log, &sink_log],
        crate::deadline(records) * 2,
    );
    let peak_rss_kib = [peaks[0], peaks[1]];

    let (last_write, rows) = runtime.block_on(rows::last_write(&tables));
    let elapsed = last_write
        .duration_since(spawned_at)
        .expect("rows written after the spawn");
    eprintln!("end to end: COPY of the same {rows} rows …");
    let copied = runtime.block_on(rows::copy_of(stack, &tables));
    EndToEnd {
        records,
        elapsed,
        rows,
        copied,
        peak_rss_kib,
    }
}
