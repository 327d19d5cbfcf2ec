//! Fetcher throughput against the physical limits measured in the same run.
//!
//! The demo source serves a scaled data set in-process. The limit issue 3
//! sets is a bare loop over the same pages: HTTP GET, JSON check, next page
//! — no records, keys, Kafka or checkpoints. The second is the broker's:
//! the same records published by the fetcher's protocol alone (`ceiling`),
//! no HTTP. The fetcher itself runs as a separate release process (`once`
//! mode) on the local broker, so its peak RSS is its own.
//!
//! Beside each rate: the fetcher's peak RSS and CPU seconds per million
//! records, the broker's CPU, and how busy the machine was.
//!
//! Then, unless `CANONFLOW_BENCH_E2E=0`, source → PostgreSQL with all three
//! stages at once, next to `COPY` of the same rows (`e2e`).
//!
//! Run: `scripts/bench-fetcher` (or `cargo bench -p canonflow-fetcher --bench
//! fetch` with the stack up). `CANONFLOW_BENCH_SCALE` sets the data size;
//! `CANONFLOW_BENCH_FETCHER` adds `[fetcher]` settings, `;`-separated, e.g.
//! `transaction_records=20000;transaction_max_ms=3000`.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark's output is its product"
)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use canonflow_demo_source::{DemoConfig, DemoSource};
use canonflow_fetcher::http::SourceClient;
use canonflow_fetcher::paginate::{self, PageFacts, PagePosition};
use canonflow_fetcher::{records, source};
use serde_json::value::RawValue;

mod ceiling;
mod e2e;

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let scale: usize = std::env::var("CANONFLOW_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = DemoConfig {
        scale,
        ..DemoConfig::default()
    };
    let demo = DemoSource::start(listener, config.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources");
    // No client-side rate limit: measure the pipeline, not the limiter.
    let unlimited = |_: &str, text: String| text.replace("requests_per_second = 200", "");
    let sources_dir = demo
        .write_source_files(&config, &shipped, dir.path(), unlimited)
        .unwrap();
    let sources = source::load_dir(&sources_dir).unwrap();
    let total: usize = demo.snapshot().streams.values().map(|s| s.total).sum();

    // The limit: walk every stream's pages with nothing else to do.
    let started = Instant::now();
    let mut bare_records = 0;
    for source in &sources {
        let client = SourceClient::new(source).unwrap();
        for stream in &source.streams {
            bare_records += walk(source, &client, stream, None).await;
        }
    }
    let bare = started.elapsed();

    // The broker's ceiling: the same records, the fetcher's protocol alone.
    let stack = canonflow_testkit::Stack::from_env();
    let mut records = Vec::new();
    for source in &sources {
        let client = SourceClient::new(source).unwrap();
        for stream in &source.streams {
            walk(source, &client, stream, Some(&mut records)).await;
        }
    }
    let overrides = std::env::var("CANONFLOW_BENCH_FETCHER").unwrap_or_default();
    let per_transaction = overrides
        .split(';')
        .find_map(|kv| kv.strip_prefix("transaction_records="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(5_000);
    let ceiling = ceiling::transactional_publish(&stack, &records, per_transaction).await;

    // The fetcher, as its own process, on the local broker.
    let fetcher_toml = |prefix: &str| {
        format!(
            "[kafka]\nbootstrap_servers = \"{}\"\nsession_timeout_ms = 6000\n[topics]\nprefix = \"{prefix}\"\n\
             [fetcher]\nsources_dir = {:?}\nonce = true\n{}",
            stack.bootstrap_servers,
            sources_dir,
            overrides.replace(';', "\n")
        )
    };
    let config_file = dir.path().join("fetcher.toml");
    std::fs::write(
        &config_file,
        fetcher_toml(&canonflow_testkit::unique("bench")),
    )
    .unwrap();
    let machine = canonflow_testkit::bench::cpu::snapshot();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_canonflow-fetcher"))
        // Copies side by side: each its own free port for /metrics.
        .env("CANONFLOW__TELEMETRY__LISTEN", "127.0.0.1:0")
        .arg("--config")
        .arg(&config_file)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .spawn()
        .unwrap();
    let (mut peak_kib, mut cpu_seconds) = (0, 0.0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        peak_kib = peak_kib.max(canonflow_testkit::bench::peak_rss_kib(child.id()));
        // Read until it exits: the last reading is within 20 ms of its end.
        if let Some(seconds) = canonflow_testkit::bench::cpu::process_seconds(child.id()) {
            cpu_seconds = seconds;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let fetcher = started.elapsed();
    let usage = canonflow_testkit::bench::cpu::since(&machine);
    assert!(status.success(), "the fetcher failed: {status}");

    let rate = |n: usize, t: Duration| n as f64 / t.as_secs_f64();
    println!(
        "fetcher benchmark — demo source scale {scale}: {total} records in {} streams",
        sources.iter().map(|s| s.streams.len()).sum::<usize>()
    );
    println!(
        "{:<44} {:>10} {:>9} {:>12}",
        "", "records", "seconds", "records/s"
    );
    println!(
        "{:<44} {:>10} {:>9.2} {:>12.0}",
        "limit: bare HTTP loop over the same pages",
        bare_records,
        bare.as_secs_f64(),
        rate(bare_records, bare)
    );
    println!(
        "{:<44} {:>10} {:>9.2} {:>12.0}",
        format!("ceiling: transactions of {per_transaction}, no HTTP"),
        records.len(),
        ceiling.as_secs_f64(),
        rate(records.len(), ceiling)
    );
    println!(
        "{:<44} {:>10} {:>9.2} {:>12.0}",
        "fetcher (once, incl. start-up and Kafka)",
        total,
        fetcher.as_secs_f64(),
        rate(total, fetcher)
    );
    println!(
        "fetcher / limit: {:.0} %   fetcher / ceiling: {:.0} %   fetcher peak RSS: {} MiB",
        100.0 * rate(total, fetcher) / rate(bare_records, bare),
        100.0 * rate(total, fetcher) / rate(records.len(), ceiling),
        peak_kib / 1024
    );
    let per_million = |seconds: f64| seconds * 1e6 / total.max(1) as f64;
    println!(
        "fetcher CPU: {:.1} s per million records   broker: {:.1} s per million   machine busy: {:.0} %",
        per_million(cpu_seconds),
        per_million(usage.broker),
        usage.machine_busy_percent()
    );
    canonflow_testkit::bench::Summary {
        stage: "fetcher",
        figure: "source → raw topic (once, incl. start-up)",
        records: total as u64,
        seconds: fetcher.as_secs_f64(),
        limit: "bare HTTP loop over the same pages",
        // The bare loop may see a different count; compare rates.
        limit_seconds: bare.as_secs_f64() * total as f64 / bare_records.max(1) as f64,
        target_percent: 90.0,
        peak_rss_kib: Some(peak_kib),
        cpu_seconds: Some(cpu_seconds),
    }
    .print();
    canonflow_testkit::bench::Summary {
        stage: "fetcher",
        figure: "source → raw topic, against the broker's ceiling",
        records: total as u64,
        seconds: fetcher.as_secs_f64(),
        limit: "the same records, transactions of the same size, no HTTP",
        limit_seconds: ceiling.as_secs_f64() * total as f64 / records.len().max(1) as f64,
        target_percent: 90.0,
        peak_rss_kib: Some(peak_kib),
        cpu_seconds: Some(cpu_seconds),
    }
    .print();

    if std::env::var("CANONFLOW_BENCH_E2E").as_deref() != Ok("0") {
        let end_to_end = e2e::run(&stack, fetcher_toml).await;
        e2e::report(&end_to_end, total);
    }
}

/// Every page of one stream, as cheaply as possible; returns the records
/// seen, and keeps them in `keep` when given.
async fn walk(
    source: &source::SourceConfig,
    client: &SourceClient,
    stream: &source::StreamConfig,
    mut keep: Option<&mut Vec<ceiling::Record>>,
) -> usize {
    let mut position = PagePosition::First;
    let mut seen = 0;
    loop {
        let url = paginate::request_url(&source.base_url, stream, &position, None).unwrap();
        let response = client.get(&stream.name, &url).await.unwrap();
        let body: &RawValue = serde_json::from_slice(&response.body).unwrap();
        let selected = records::select(body, &stream.records).unwrap();
        let count = selected.len();
        if let Some(keep) = keep.as_deref_mut() {
            keep.extend(
                selected
                    .iter()
                    .enumerate()
                    .map(|(i, record)| ceiling::Record {
                        key: format!("{}/{}/{}", source.name, stream.name, seen + i),
                        payload: record.get().as_bytes().to_vec(),
                    }),
            );
        }
        seen += count;
        let facts = PageFacts {
            records: count,
            body,
            headers: &response.headers,
        };
        match paginate::next(stream, &position, &facts, client.secret_param()) {
            Some(next) => position = next,
            None => return seen,
        }
    }
}
