//! Stage processes of a benchmark that run until they exit by themselves
//! (`once`, `exit_when_idle_secs`): waiting for them with a deadline, and
//! their peak RSS; watching a stage's copies until their group committed
//! everything ([`watch`]); reading what their logs say ([`read_log`]); and
//! what several benchmarks spawn alike.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cpu::{self, Usage};
use super::peak_rss_kib;
use crate::Stack;

/// Waits until every child exited by itself, successfully, within
/// `deadline`; their peak RSS in KiB. Panics with the tail of the failed
/// or late child's log (`logs[i]` is child `i`'s stderr).
pub fn wait_for_exits(children: &mut [Child], logs: &[&Path], deadline: Duration) -> Vec<u64> {
    let started = Instant::now();
    let mut peaks = vec![0; children.len()];
    let mut done = vec![false; children.len()];
    while !done.iter().all(|d| *d) {
        for (i, child) in children.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            peaks[i] = peaks[i].max(peak_rss_kib(child.id()));
            if let Some(status) = child.try_wait().expect("waiting for a stage") {
                assert!(status.success(), "{status}; log:\n{}", tail(logs[i]));
                done[i] = true;
            }
        }
        if started.elapsed() > deadline {
            for child in children.iter_mut() {
                let _ = child.kill();
            }
            let tails: Vec<String> = logs.iter().map(|log| tail(log)).collect();
            panic!("not done after {deadline:?}; logs:\n{}", tails.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    peaks
}

/// The last 30 lines of a log file.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Workspace binary `name` beside `binary` (a benchmark's own
/// `CARGO_BIN_EXE_…`, so the same profile); the benchmark's script builds it.
pub fn beside(binary: &str, name: &str) -> PathBuf {
    let path = Path::new(binary).with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: cargo build --release --workspace --bins",
        path.display()
    );
    path
}

/// A `[sink]` deployment that writes the canonical topics of `prefix` into
/// `schema` and exits after `idle_secs` without records.
pub fn sink_toml(stack: &Stack, prefix: &str, schema: &str, idle_secs: u64) -> String {
    format!(
        "[kafka]\nbootstrap_servers = {:?}\nsession_timeout_ms = {}\n\
         [topics]\nprefix = {prefix:?}\n\
         [telemetry]\nlog_format = \"json\"\n\
         [sink]\nschema = {schema:?}\ngroup_id = {:?}\nexit_when_idle_secs = {idle_secs}\n",
        stack.bootstrap_servers,
        canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
        crate::unique("bench-sink"),
    )
}

/// Spawns a stage binary with `config`, its stderr to `log`, its metrics
/// endpoint on a free port, and `env` on top.
///
/// `CANONFLOW_BENCH_WRAP` runs each stage under a profiler, e.g.
/// `"perf record -g -o /tmp/perf.data"` or `"heaptrack -o /tmp/heap"`
/// (with a `--no-default-features` build, so that the heap is the system
/// allocator's); the peak RSS reported is then the wrapper's.
pub fn spawn(binary: &Path, config: &Path, log: &Path, env: &[(&str, &str)]) -> Child {
    let wrapper = std::env::var("CANONFLOW_BENCH_WRAP").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    command
        .env("CANONFLOW__TELEMETRY__LISTEN", "127.0.0.1:0")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .envs(env.iter().copied())
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("creating a log file"))
        .spawn()
        .expect("spawning a stage")
}

/// Keeps a copy of `log` for a closer look (per-batch timings at debug
/// level, allocator statistics) when `CANONFLOW_BENCH_LOG_DIR` names a
/// directory.
pub fn keep_log(log: &Path) {
    if let (Ok(dir), Some(name)) = (std::env::var("CANONFLOW_BENCH_LOG_DIR"), log.file_name()) {
        let _ = std::fs::copy(log, Path::new(&dir).join(name));
    }
}

/// How a stage's copies ran, watched by [`watch`].
#[derive(Debug)]
pub struct Watched {
    /// From spawn until the group had committed every record.
    pub all_committed: Duration,
    /// From spawn until the first commit, and how many records it covered.
    pub first_commit: (Duration, i64),
    /// From spawn until the last copy exited by itself.
    pub exited: Duration,
    /// The highest of any one copy.
    pub peak_rss_kib: u64,
    /// CPU seconds by thread name, the copies summed, when all records
    /// were committed.
    pub threads: Vec<(String, f64)>,
    /// PostgreSQL's, the broker's and the machine's CPU until then.
    pub usage: Usage,
}

/// Spawns a stage's copies (`spawn`) and watches them until each exits by
/// itself: their peak RSS and, from `committed` (the records their group
/// has committed), when the first and when all `records` were committed,
/// with the CPU spent until then. Panics with the tail of `log` when a
/// copy fails, when they exit before all is committed, or when they are not
/// done by `deadline` (then they are killed). `stage` names them there.
pub fn watch(
    stage: &str,
    records: usize,
    deadline: Duration,
    log: &Path,
    committed: impl Fn() -> i64,
    spawn: impl FnOnce() -> Vec<Child>,
) -> Watched {
    let before = cpu::snapshot();
    let started = Instant::now();
    let mut children: Vec<Option<Child>> = spawn().into_iter().map(Some).collect();
    let pids: Vec<u32> = children.iter().flatten().map(Child::id).collect();
    let mut peak_rss = 0;
    let mut first_commit = None;
    let mut all_committed = None;
    let mut threads = Vec::new();
    let mut usage = Usage::default();
    let mut failed = Vec::new();
    while children.iter().any(Option::is_some) {
        for slot in &mut children {
            let Some(child) = slot else { continue };
            peak_rss = peak_rss.max(peak_rss_kib(child.id()));
            if let Some(status) = child.try_wait().expect("waiting for a stage") {
                if !status.success() {
                    failed.push(status);
                }
                *slot = None;
            }
        }
        if all_committed.is_none() {
            let count = committed();
            if count > 0 {
                first_commit.get_or_insert((started.elapsed(), count));
            }
            if count >= records as i64 {
                all_committed = Some(started.elapsed());
                threads = cpu::merged(pids.iter().map(|&pid| cpu::by_thread(pid)));
                usage = cpu::since(&before);
            }
        }
        let limit = all_committed.map_or(deadline, |at| at + Duration::from_secs(60));
        if started.elapsed() > limit {
            for child in children.iter_mut().flatten() {
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!(
                "the {stage} had committed {} of {records} records after {:?}; killed. Its log:\n{}",
                committed(),
                started.elapsed(),
                tail(log)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let exited = started.elapsed();
    let Some(all_committed) = all_committed else {
        panic!(
            "the {stage} exited ({failed:?}) having committed {} of {records} records. Its log:\n{}",
            committed(),
            tail(log)
        );
    };
    assert!(
        failed.is_empty(),
        "a {stage} copy failed: {failed:?}. Its log:\n{}",
        tail(log)
    );
    Watched {
        all_committed,
        first_commit: first_commit.unwrap_or((all_committed, records as i64)),
        exited,
        peak_rss_kib: peak_rss,
        threads,
        usage,
    }
}

/// A stage's JSON log: the `totals` of its `stopping` event (e.g.
/// `"sink stopped"`), and each distinct warning or error with how often
/// it was logged.
pub fn read_log(path: &Path, stopping: &str) -> (Option<String>, Vec<(String, usize)>) {
    let mut totals = None;
    let mut warnings: Vec<(String, usize)> = Vec::new();
    for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let message = event["message"].as_str().unwrap_or_default();
        if message == stopping {
            totals = event["totals"].as_str().map(str::to_owned);
        }
        if matches!(event["level"].as_str(), Some("WARN" | "ERROR")) {
            let text = format!("{}: {message}", event["level"].as_str().unwrap_or_default());
            match warnings.iter_mut().find(|(known, _)| *known == text) {
                Some((_, count)) => *count += 1,
                None => warnings.push((text, 1)),
            }
        }
    }
    (totals, warnings)
}
