//! The benchmark's output: a table of the figures, then what explains
//! them (start-up, steady rates, the transformer's CPU by thread, its own
//! totals and warnings) and the settings used.

use std::time::Duration;

use canonflow_testkit::Stack;

use crate::limit::Copied;
use crate::process::Run;
use crate::produce::Loaded;

/// Everything measured in one run, and how.
#[derive(Debug)]
pub struct Figures<'a> {
    pub stack: &'a Stack,
    pub records: usize,
    pub seed: u64,
    pub partitions: i32,
    pub loaded: Loaded,
    pub copied: Copied,
    /// Time spent mapping alone ([`crate::mapping`]).
    pub mapping: Duration,
    pub run: Run,
    /// Skipped with `CANONFLOW_BENCH_E2E=0`.
    pub end_to_end: Option<crate::e2e::EndToEnd>,
    pub properties: &'a [(String, String)],
    pub settings: &'a str,
}

fn rate(records: f64, elapsed: Duration) -> f64 {
    records / elapsed.as_secs_f64().max(1e-9)
}

/// Prints the table and what explains it.
pub fn print(figures: &Figures<'_>) {
    print_load(figures);
    println!();
    print_table(figures);
    println!();
    print_start_up(figures);
    print_transformer(&figures.run);
    print_settings(figures);
    if let Some(end_to_end) = &figures.end_to_end {
        print_end_to_end(end_to_end);
    }
    canonflow_testkit::bench::Summary {
        stage: "transformer",
        figure: "loaded raw topic → all committed",
        records: figures.records as u64,
        seconds: figures.run.watched.all_committed.as_secs_f64(),
        limit: "consume → produce copy",
        limit_seconds: figures.copied.elapsed.as_secs_f64(),
        target_percent: 50.0,
        peak_rss_kib: Some(figures.run.watched.peak_rss_kib),
        cpu_seconds: Some(figures.run.watched.threads.iter().map(|(_, s)| s).sum()),
    }
    .print();
}

fn print_load(figures: &Figures<'_>) {
    let Figures {
        stack,
        records,
        partitions,
        loaded,
        ..
    } = figures;
    let mix: Vec<String> = crate::records::MIX
        .iter()
        .map(|(s, _)| {
            let count = loaded.per_stream[s.slot()];
            format!("{}/{} {count}", s.source(), s.name())
        })
        .collect();
    println!(
        "transformer benchmark — {records} raw records on {partitions} partitions, {} transformer \
         cop{}, broker {:?} at {}",
        figures.run.copies,
        if figures.run.copies == 1 { "y" } else { "ies" },
        stack.broker,
        stack.bootstrap_servers
    );
    println!(
        "  {} (of which {} updates of an earlier key); payloads avg {:.0} B, {:.1} MiB; loaded in {:.1} s (not timed)",
        mix.join(", "),
        loaded.updates,
        loaded.bytes as f64 / (*records).max(1) as f64,
        loaded.bytes as f64 / 1_048_576.0,
        loaded.elapsed.as_secs_f64()
    );
}

fn print_table(figures: &Figures<'_>) {
    let records = figures.records;
    let n = records as f64;
    let limit_rate = rate(n, figures.copied.elapsed);
    let row = |figure: &str, elapsed: Duration, rss: &str| {
        let seconds = elapsed.as_secs_f64();
        let per_second = rate(n, elapsed);
        println!(
            "{figure:<48} {records:>9} {seconds:>8.2} {per_second:>10.0} {:>7.0} % {rss:>9}",
            100.0 * per_second / limit_rate
        );
    };
    println!(
        "{:<48} {:>9} {:>8} {:>10} {:>9} {:>9}",
        "figure", "records", "seconds", "records/s", "vs limit", "peak RSS"
    );
    row(
        "limit: consume → produce copy, subscribe → acked",
        figures.copied.elapsed,
        "—",
    );
    row(
        "mapping alone: in process, one thread, no Kafka",
        figures.mapping,
        "—",
    );
    row(
        "transformer: spawn → all raw records committed",
        figures.run.watched.all_committed,
        &format!("{} MiB", figures.run.watched.peak_rss_kib / 1024),
    );
}

/// The group joins, and the rates after them.
fn print_start_up(figures: &Figures<'_>) {
    let Figures { copied, run, .. } = figures;
    let n = figures.records as f64;
    let (first_at, first_count) = run.watched.first_commit;
    let limit_steady = rate(n - 1.0, copied.elapsed.saturating_sub(copied.first_record));
    let transformer_steady = rate(
        n - first_count as f64,
        run.watched.all_committed.saturating_sub(first_at),
    );
    println!(
        "start-up: limit's first record after {:.2} s; transformer's first commit after {:.2} s ({first_count} records)",
        copied.first_record.as_secs_f64(),
        first_at.as_secs_f64()
    );
    println!(
        "after start-up: limit {limit_steady:.0} records/s, transformer {transformer_steady:.0} records/s ({:.0} %)",
        100.0 * transformer_steady / limit_steady
    );
}

fn print_transformer(run: &Run) {
    println!(
        "transformer exited by itself after {:.2} s (exit_when_idle_secs = 5); {}",
        run.watched.exited.as_secs_f64(),
        run.totals.as_deref().unwrap_or("no totals logged")
    );
    let cpu: f64 = run.watched.threads.iter().map(|(_, seconds)| seconds).sum();
    let threads: Vec<String> = run
        .watched
        .threads
        .iter()
        .filter(|(_, seconds)| *seconds >= 0.05)
        .map(|(name, seconds)| format!("{name} {seconds:.1}"))
        .collect();
    println!(
        "transformer CPU until all committed: {cpu:.1} s ({:.0} % of one core); by thread, s: {}",
        100.0 * cpu / run.watched.all_committed.as_secs_f64(),
        threads.join(", ")
    );
    println!(
        "meanwhile: broker CPU {:.1} s; machine busy {:.0} % of its {} cores",
        run.watched.usage.broker,
        run.watched.usage.machine_busy_percent(),
        run.watched.usage.cores
    );
    for (warning, count) in &run.warnings {
        println!("transformer logged {count} × {warning}");
    }
}

fn print_settings(figures: &Figures<'_>) {
    let listed = |items: Vec<String>| match items.is_empty() {
        true => "defaults".to_owned(),
        false => items.join(", "),
    };
    let settings = figures
        .settings
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let properties = figures
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "settings: seed {}; [transformer] {} (else the defaults of docs/configuration.md); \
         librdkafka (limit and transformer) {} (else the transformer's: {}; the limit's producer: {})",
        figures.seed,
        listed(settings),
        listed(properties),
        pairs(
            canonflow_transformer::PRODUCER_DEFAULTS
                .iter()
                .chain(canonflow_transformer::CONSUMER_DEFAULTS)
        ),
        pairs(crate::limit::PRODUCER_OWN.iter()),
    );
}

fn print_end_to_end(e2e: &crate::e2e::EndToEnd) {
    let rate = e2e.records as f64 / e2e.elapsed.as_secs_f64().max(1e-9);
    let copy_rate = e2e.rows as f64 / e2e.copied.as_secs_f64().max(1e-9);
    println!(
        "end to end: {} raw records → {} rows, transformer and sink at once: {:.2} s, {rate:.0} records/s; \
         COPY of the same rows {:.2} s, {copy_rate:.0} rows/s ({:.0} %); peak RSS transformer {} MiB, sink {} MiB",
        e2e.records,
        e2e.rows,
        e2e.elapsed.as_secs_f64(),
        e2e.copied.as_secs_f64(),
        100.0 * rate / copy_rate,
        e2e.peak_rss_kib[0] / 1024,
        e2e.peak_rss_kib[1] / 1024,
    );
    canonflow_testkit::bench::Summary {
        stage: "end to end",
        figure: "loaded raw topic → rows (transformer and sink at once)",
        records: e2e.records as u64,
        seconds: e2e.elapsed.as_secs_f64(),
        limit: "COPY of the same rows",
        // Raw records per second against rows per second.
        limit_seconds: e2e.copied.as_secs_f64() * e2e.records as f64 / (e2e.rows as f64).max(1.0),
        target_percent: 50.0,
        peak_rss_kib: Some(e2e.peak_rss_kib[0].max(e2e.peak_rss_kib[1])),
        cpu_seconds: None,
    }
    .print();
}

/// `key=value` pairs, comma-separated.
fn pairs<'a>(pairs: impl Iterator<Item = &'a (&'a str, &'a str)>) -> String {
    pairs
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
