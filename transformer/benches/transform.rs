//! Transformer throughput against the physical limit measured in the same
//! run.
//!
//! N generated raw records (hr/workers, hr/organizations,
//! finance/cost_centers, finance/suppliers, finance/invoices, shaped like
//! `schemas/examples/`, plus ~10 % of unmapped hr/positions; ~20 % updates
//! of earlier keys) are loaded into a fresh 6-partition raw topic; loading
//! is not timed. The limit is a plain group consumer feeding an idempotent
//! producer that copies the raw topic unchanged. The transformer runs as its
//! own release process with the shipped mappings and `exit_when_idle_secs =
//! 5`; it is timed from spawn until its group has committed every raw
//! record, so start-up and the group join count (the first commit is shown
//! too). Both read the same topic on the same broker, one after the other.
//! A third figure maps and encodes the same records in this process, one
//! thread, no Kafka: what one mapping thread could do if the broker cost
//! nothing (the transformer maps on `map_threads` of them). Last, end to end: the transformer and the sink at once on a
//! freshly loaded copy of the raw topic, against `COPY` of the rows they
//! wrote ([`e2e`]; needs the sink's release binary).
//!
//! Run: `scripts/bench-transformer` (or `cargo bench -p canonflow-transformer
//! --bench transform` with the stack up). `CANONFLOW_BENCH_RECORDS` sets N
//! (default 1,000,000); `CANONFLOW_BENCH_TRANSFORMER` adds `[transformer]`
//! settings, `;`-separated (`transaction_records=20000;transaction_max_ms=3000`);
//! `CANONFLOW_BENCH_KAFKA` adds librdkafka properties to the clients of both
//! the limit and the transformer (`linger.ms=50;batch.num.messages=20000`).
//! For scaling: `CANONFLOW_BENCH_PARTITIONS` (default 6) sets the partitions
//! of every topic, `CANONFLOW_BENCH_COPIES` (default 1) the transformer
//! copies in one group, and `CANONFLOW_BENCH_E2E=0` skips the end-to-end
//! figure. `CANONFLOW_BENCH_LOG_DIR` keeps the transformer copies' logs there.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark's output is its product"
)]

// Beside this file, not in `benches/`, where Cargo would take each for a
// benchmark of its own.
#[path = "transform/e2e.rs"]
mod e2e;
#[path = "transform/limit.rs"]
mod limit;
#[path = "transform/mapping.rs"]
mod mapping;
#[path = "transform/process.rs"]
mod process;
#[path = "transform/produce.rs"]
mod produce;
#[path = "transform/records.rs"]
mod records;
#[path = "transform/report.rs"]
mod report;
#[path = "transform/vocabulary.rs"]
mod vocabulary;

use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_common::topics::Topics;
use canonflow_testkit::{Stack, TestTopics};

const SEED: u64 = 20_241_122;

/// Partitions of every topic (`CANONFLOW_BENCH_PARTITIONS`, default 6).
fn partitions() -> i32 {
    env("CANONFLOW_BENCH_PARTITIONS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(6)
}

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
    let settings = env("CANONFLOW_BENCH_TRANSFORMER")
        .unwrap_or_default()
        .replace(';', "\n");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stack = Stack::from_env();
    let mut kafka = stack.kafka();
    kafka.properties.extend(properties.iter().cloned());

    let mut created = TestTopics::new(&stack);
    let topics = created.topics.clone();
    runtime.block_on(create_topics(&mut created, &topics));
    eprintln!("loading {records} raw records into {} …", topics.raw());
    let loaded = produce::load(&stack.kafka(), &topics.raw(), records, SEED);

    eprintln!("limit: copying them …");
    let copied = {
        // Deleted as soon as measured: the local broker keeps topics in memory.
        let mut copy = TestTopics::new(&stack);
        let name = copy.name("copy");
        runtime.block_on(copy.create(&name, partitions(), &[]));
        limit::pass_through(&kafka, &topics.raw(), &name, records)
    };

    eprintln!("mapping alone: mapping and encoding them in process …");
    let mapping = mapping::map_only(records, SEED);

    eprintln!("transformer: running it …");
    let dir = tempfile::tempdir().unwrap();
    let run = process::run(&process::Setup {
        bootstrap_servers: &stack.bootstrap_servers,
        topics: &topics,
        partitions: partitions(),
        copies: env("CANONFLOW_BENCH_COPIES")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        records,
        properties: &properties,
        settings: &settings,
        dir: dir.path(),
    });
    let end_to_end = match env("CANONFLOW_BENCH_E2E").as_deref() {
        Some("0") => None,
        _ => Some(e2e::run(&stack, records, &settings)),
    };
    report::print(&report::Figures {
        stack: &stack,
        records,
        seed: SEED,
        partitions: partitions(),
        loaded,
        copied,
        mapping,
        run,
        end_to_end,
        properties: &properties,
        settings: &settings,
    });
}

/// The raw topic, and the transformer's own topics made as it would make
/// them (so that they are deleted afterwards).
async fn create_topics(created: &mut TestTopics, topics: &Topics) {
    created.create(&topics.raw(), partitions(), &[]).await;
    for kind in EntityKind::ALL {
        let name = topics.canonical(kind.name());
        let compact = [("cleanup.policy", "compact")];
        created.create(&name, partitions(), &compact).await;
    }
    let dead_letters = topics.dead_letters("transformer");
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
