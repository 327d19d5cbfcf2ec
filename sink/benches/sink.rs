//! Sink throughput against `COPY` of the same rows, measured in the same
//! run.
//!
//! N generated canonical entities (mostly workers and invoices with lines,
//! some suppliers, cost centers and organizations; unique keys; ~300–600
//! bytes of Avro each) are loaded, in the wire format, into fresh canonical
//! topics of 6 partitions; a second generation of the same keys, each a
//! newer version, into a second set of topics. Loading is not timed.
//!
//! a) The limit: the first generation's final rows (built by the sink's own
//!    row function) `COPY`ed as CSV into the tables of a fresh schema
//!    (migrated: empty, with primary key and indexes), then dropped.
//! b) The sink, as its own release process with `exit_when_idle_secs = 5`,
//!    into the empty tables of another fresh schema; timed from spawn until
//!    its group has committed every record (start-up and the group join
//!    count; the first commit is shown too).
//! c) The same with the second generation: every record updates its row.
//! d) The first generation again, with a new group: every record is older
//!    than its row, so none changes anything.
//!
//! A checkpoint precedes each phase; the tables' contents are checked after
//! each. Besides the rates: the sink's peak RSS and CPU by thread, and the
//! CPU PostgreSQL and the broker spent meanwhile.
//!
//! Run: `scripts/bench-sink` (or `cargo bench -p canonflow-sink --bench sink`
//! with the stack up). `CANONFLOW_BENCH_RECORDS` sets N (default
//! 1,000,000); `CANONFLOW_BENCH_SINK` adds `[sink]` settings, `;`-separated
//! (`batch_records=20000;batch_max_ms=1000`); `CANONFLOW_BENCH_KAFKA` adds
//! librdkafka properties to the sink's clients (`fetch.min.bytes=100000`);
//! `CANONFLOW_BENCH_LOG_DIR` keeps the sink's logs there;
//! `CANONFLOW_BENCH_PARTITIONS` (default 6) sets the partitions per topic,
//! `CANONFLOW_BENCH_COPIES` (default 1) the sink copies in one group.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark's output is its product"
)]

// Beside this file, not in `benches/`, where Cargo would take each for a
// benchmark of its own.
#[path = "sink/copy.rs"]
mod copy;
#[path = "sink/database.rs"]
mod database;
#[path = "sink/entities.rs"]
mod entities;
#[path = "sink/process.rs"]
mod process;
#[path = "sink/produce.rs"]
mod produce;
#[path = "sink/report.rs"]
mod report;

use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_testkit::{Stack, TestSchema, TestTopics};

use crate::entities::Generator;
use crate::report::Phase;

/// Sink copies in one group (`CANONFLOW_BENCH_COPIES`, default 1).
fn copies() -> usize {
    env("CANONFLOW_BENCH_COPIES")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Partitions per canonical topic (`CANONFLOW_BENCH_PARTITIONS`, default 6).
fn partitions() -> i32 {
    env("CANONFLOW_BENCH_PARTITIONS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(6)
}

const SEED: u64 = 20_241_122;

fn main() {
    let records: usize = env("CANONFLOW_BENCH_RECORDS")
        .and_then(|s| s.replace(['_', ','], "").parse().ok())
        .unwrap_or(1_000_000);
    let properties: Vec<(String, String)> = env("CANONFLOW_BENCH_KAFKA")
        .unwrap_or_default()
        .split(';')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let settings = env("CANONFLOW_BENCH_SINK")
        .unwrap_or_default()
        .replace(';', "\n");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stack = Stack::from_env();
    let generator = Generator {
        seed: SEED,
        records,
    };

    let mut first = TestTopics::new(&stack);
    let mut second = TestTopics::new(&stack);
    runtime.block_on(create_topics(&mut first));
    runtime.block_on(create_topics(&mut second));
    eprintln!("loading {records} canonical records, twice (two generations) …");
    let loaded = [
        produce::load(&stack.kafka(), &first.topics, generator, 0),
        produce::load(&stack.kafka(), &second.topics, generator, 1),
    ];

    eprintln!("a) COPY of the same rows …");
    let copied = runtime.block_on(copy::copy(&stack, &first.topics, generator));

    let schema = runtime.block_on(TestSchema::create(&stack));
    let dir = tempfile::tempdir().unwrap();
    let phase = |phase: &str, topics: &TestTopics, generation: u32| {
        eprintln!("{phase}: running the sink …");
        runtime.block_on(database::checkpoint(&schema.pool));
        let run = process::run(&process::Setup {
            phase,
            bootstrap_servers: &stack.bootstrap_servers,
            postgres_url: &stack.postgres_url,
            topics: &topics.topics,
            schema: &schema.name,
            records,
            copies: copies(),
            properties: &properties,
            settings: &settings,
            dir: dir.path(),
        });
        let held = runtime.block_on(database::rows(&schema.pool, records, generation));
        assert_eq!(
            held,
            (records as i64, records as i64),
            "{phase}: rows in the tables, rows of generation {generation} or later"
        );
        run
    };
    let inserts = phase("insert", &first, 0);
    let updates = phase("update", &second, 1);
    let replay = phase("replay", &first, 1);

    report::print(&report::Figures {
        stack: &stack,
        records,
        seed: SEED,
        loaded: [&loaded[0], &loaded[1]],
        copied: &copied,
        phases: [
            Phase {
                label: "b) sink into empty tables (all inserts)",
                run: &inserts,
            },
            Phase {
                label: "c) sink, every record a newer version (all updates)",
                run: &updates,
            },
            Phase {
                label: "d) sink, replay of the older versions (all no-ops)",
                run: &replay,
            },
        ],
        properties: &properties,
        settings: &settings,
    });
}

/// A set of canonical topics, and the sink's dead-letter topic made as it
/// would make it (so that it is deleted afterwards).
async fn create_topics(created: &mut TestTopics) {
    for kind in EntityKind::ALL {
        let name = created.topics.canonical(kind.name());
        created
            .create(&name, partitions(), &[("cleanup.policy", "compact")])
            .await;
    }
    let dead_letters = created.topics.dead_letters("sink");
    created
        .create(&dead_letters, 1, &[("retention.ms", "-1")])
        .await;
}

/// How long a run may take: start-up plus at least 1,000 records/s.
fn deadline(records: usize) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(records as u64)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
