//! The benchmark's output: a table of the phases against `COPY`, then what
//! explains them (start-up, CPU of the sink, PostgreSQL and the broker, the
//! sink's own totals and warnings) and the settings used.

use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_testkit::Stack;

use crate::copy::Copied;
use crate::process::Run;
use crate::produce::Loaded;
use canonflow_testkit::bench::cpu::Usage;

/// The share of `COPY`'s rate the sink should reach, in per cent.
const TARGET_PERCENT: f64 = 50.0;

/// One run of the sink.
#[derive(Debug)]
pub struct Phase<'a> {
    pub label: &'static str,
    pub run: &'a Run,
}

/// Everything measured in one benchmark run, and how.
#[derive(Debug)]
pub struct Figures<'a> {
    pub stack: &'a Stack,
    pub records: usize,
    pub seed: u64,
    pub loaded: [&'a Loaded; 2],
    pub copied: &'a Copied,
    pub phases: [Phase<'a>; 3],
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
    print_cpu(figures);
    for phase in &figures.phases {
        println!(
            "{}: exited by itself after {:.2} s; {}",
            phase.label,
            phase.run.watched.exited.as_secs_f64(),
            phase.run.totals.as_deref().unwrap_or("no totals logged")
        );
        for (warning, count) in &phase.run.warnings {
            println!("  logged {count} × {warning}");
        }
    }
    print_settings(figures);
    print_summaries(figures);
}

/// One `scripts/bench` summary line per phase.
fn print_summaries(figures: &Figures<'_>) {
    let records = figures.records as f64;
    // COPY's rate over its own rows, as the table above compares it.
    let copy_seconds =
        figures.copied.elapsed.as_secs_f64() * records / (figures.copied.rows as f64).max(1.0);
    for phase in &figures.phases {
        canonflow_testkit::bench::Summary {
            stage: "sink",
            figure: phase.label,
            records: figures.records as u64,
            seconds: phase.run.watched.all_committed.as_secs_f64(),
            limit: "COPY of the same rows",
            limit_seconds: copy_seconds,
            target_percent: TARGET_PERCENT,
            peak_rss_kib: Some(phase.run.watched.peak_rss_kib),
            cpu_seconds: Some(phase.run.watched.threads.iter().map(|(_, s)| s).sum()),
        }
        .print();
    }
}

fn print_load(figures: &Figures<'_>) {
    let Figures {
        stack,
        records,
        loaded,
        copied,
        ..
    } = figures;
    let mix: Vec<String> = EntityKind::ALL
        .iter()
        .zip(loaded[0].per_kind)
        .map(|(kind, count)| format!("{} {count}", kind.name()))
        .collect();
    println!(
        "sink benchmark — {records} canonical records (unique keys) on {} partitions per topic, {} sink copies, broker {:?} at {}",
        crate::partitions(),
        crate::copies(),
        stack.broker,
        stack.bootstrap_servers
    );
    println!(
        "  {}; wire format avg {:.0} B, {:.1} MiB per generation; two generations loaded in {:.1} + {:.1} s (not timed); COPY sent {:.1} MiB of CSV",
        mix.join(", "),
        loaded[0].bytes as f64 / (*records).max(1) as f64,
        loaded[0].bytes as f64 / 1_048_576.0,
        loaded[0].elapsed.as_secs_f64(),
        loaded[1].elapsed.as_secs_f64(),
        copied.bytes as f64 / 1_048_576.0,
    );
}

fn print_table(figures: &Figures<'_>) {
    let records = figures.records;
    let n = records as f64;
    let limit = rate(figures.copied.rows as f64, figures.copied.elapsed);
    let row = |label: &str, elapsed: Duration, rss: &str| {
        let per_second = rate(n, elapsed);
        println!(
            "{label:<58} {records:>9} {:>8.2} {per_second:>9.0} {:>7.0} % {rss:>9}",
            elapsed.as_secs_f64(),
            100.0 * per_second / limit
        );
    };
    println!(
        "{:<58} {:>9} {:>8} {:>9} {:>9} {:>9}",
        "phase", "rows", "seconds", "rows/s", "vs COPY", "peak RSS"
    );
    row(
        "a) COPY (CSV, 1 connection) into empty tables: the limit",
        figures.copied.elapsed,
        "—",
    );
    for phase in &figures.phases {
        let rss = format!("{} MiB", phase.run.watched.peak_rss_kib / 1024);
        row(phase.label, phase.run.watched.all_committed, &rss);
    }
    let verdicts: Vec<String> = figures.phases[..2]
        .iter()
        .map(|phase| {
            let percent = 100.0 * rate(n, phase.run.watched.all_committed) / limit;
            let verdict = match percent >= TARGET_PERCENT {
                true => "met",
                false => "NOT met",
            };
            format!("{} {percent:.0} % ({verdict})", &phase.label[..2])
        })
        .collect();
    println!(
        "target: sink ≥ {TARGET_PERCENT:.0} % of COPY — {}",
        verdicts.join(", ")
    );
}

/// The first commits, and the rates after them.
fn print_start_up(figures: &Figures<'_>) {
    let n = figures.records as f64;
    for phase in &figures.phases {
        let run = phase.run;
        let (at, count) = run.watched.first_commit;
        println!(
            "{}: first commit after {:.2} s ({count} records); after it {:.0} rows/s",
            &phase.label[..2],
            at.as_secs_f64(),
            rate(
                n - count as f64,
                run.watched.all_committed.saturating_sub(at)
            ),
        );
    }
}

fn print_cpu(figures: &Figures<'_>) {
    println!(
        "CPU seconds until done (share of the wall time; {} cores; PostgreSQL and broker: all their processes on this machine):",
        figures.copied.usage.cores
    );
    print_usage("a)", "—", &figures.copied.usage);
    for phase in &figures.phases {
        let run = phase.run;
        let total: f64 = run.watched.threads.iter().map(|(_, s)| s).sum();
        let threads: Vec<String> = run
            .watched
            .threads
            .iter()
            .filter(|(_, seconds)| *seconds >= 0.05)
            .take(5)
            .map(|(name, seconds)| format!("{name} {seconds:.1}"))
            .collect();
        let sink = format!(
            "{total:.1} ({:.0} %: {})",
            100.0 * total / run.watched.all_committed.as_secs_f64().max(1e-9),
            threads.join(", ")
        );
        print_usage(&phase.label[..2], &sink, &run.watched.usage);
    }
}

fn print_usage(label: &str, sink: &str, usage: &Usage) {
    let wall = usage.wall.as_secs_f64().max(1e-9);
    println!(
        "  {label} sink {sink}; PostgreSQL {:.1} ({:.0} %); broker {:.1} ({:.0} %); machine busy {:.0} %",
        usage.postgres,
        100.0 * usage.postgres / wall,
        usage.broker,
        100.0 * usage.broker / wall,
        usage.machine_busy_percent()
    );
}

fn print_settings(figures: &Figures<'_>) {
    let defaults = canonflow_sink::SinkConfig::default();
    let setting = |key: &str, default: String| {
        figures
            .settings
            .lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map_or(default, |(_, v)| v.trim().to_owned())
    };
    let other: Vec<&str> = figures
        .settings
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.starts_with("batch_records") && !l.starts_with("batch_max_ms"))
        .collect();
    let properties: Vec<String> = figures
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "settings: seed {}; [sink] batch_records {}, batch_max_ms {}{}; librdkafka {}",
        figures.seed,
        setting("batch_records", defaults.batch_records.to_string()),
        setting("batch_max_ms", defaults.batch_max_ms.to_string()),
        match other.is_empty() {
            true => String::new(),
            false => format!(", {}", other.join(", ")),
        },
        match properties.is_empty() {
            true => "defaults".to_owned(),
            false => properties.join(", "),
        }
    );
}
