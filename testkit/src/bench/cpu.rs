//! Where the CPU went during a phase: PostgreSQL's processes and the
//! broker's, read from /proc before and after, and the whole machine's busy
//! time from /proc/stat (anything else running shows up there too); and a
//! stage process's own CPU by thread.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Clock ticks per second of /proc's counters (USER_HZ; 100 on Linux).
const TICKS: f64 = 100.0;

/// Counters at one moment.
#[derive(Debug)]
pub struct Snapshot {
    /// Ticks per process of interest: (is PostgreSQL, ticks).
    processes: HashMap<u32, (bool, u64)>,
    machine_busy: u64,
    at: Instant,
}

/// CPU seconds spent between a snapshot and now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub postgres: f64,
    pub broker: f64,
    /// Busy CPU seconds of the whole machine.
    pub machine: f64,
    pub wall: Duration,
    pub cores: usize,
}

impl Usage {
    /// Share of the machine's capacity that was busy.
    pub fn machine_busy_percent(&self) -> f64 {
        100.0 * self.machine / (self.wall.as_secs_f64() * self.cores as f64).max(1e-9)
    }
}

pub fn snapshot() -> Snapshot {
    let mut processes = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
            continue;
        };
        if let Some((name, ticks)) = process_ticks(pid) {
            match name.as_str() {
                "postgres" => processes.insert(pid, (true, ticks)),
                "tansu" | "java" | "redpanda" => processes.insert(pid, (false, ticks)),
                _ => None,
            };
        }
    }
    Snapshot {
        processes,
        machine_busy: machine_busy(),
        at: Instant::now(),
    }
}

/// What was spent since `before` (processes started since count from zero).
pub fn since(before: &Snapshot) -> Usage {
    let now = snapshot();
    let mut usage = Usage {
        machine: now.machine_busy.saturating_sub(before.machine_busy) as f64 / TICKS,
        wall: now.at - before.at,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        ..Usage::default()
    };
    for (pid, (postgres, ticks)) in &now.processes {
        let earlier = before.processes.get(pid).map_or(0, |(_, t)| *t);
        let seconds = ticks.saturating_sub(earlier) as f64 / TICKS;
        match postgres {
            true => usage.postgres += seconds,
            false => usage.broker += seconds,
        }
    }
    usage
}

/// CPU seconds of process `pid` so far (its exited threads included),
/// from one read of its `stat`; `None` once it is gone.
pub fn process_seconds(pid: u32) -> Option<f64> {
    process_ticks(pid).map(|(_, ticks)| ticks as f64 / TICKS)
}

/// A process's name and user + system ticks (fields 14 and 15 of `stat`).
fn process_ticks(pid: u32) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // After the name, field 3 (state) is index 0: utime is 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// Busy ticks of all CPUs: everything but idle and iowait.
fn machine_busy() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    line.split_whitespace()
        .skip(1)
        .enumerate()
        // idle, iowait, and guest time (already counted in user).
        .filter(|(i, _)| !matches!(i, 3 | 4 | 8 | 9))
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum()
}

/// CPU seconds of process `pid` so far by thread name, most first:
/// librdkafka's per-broker threads as one (`rdk:broker*`), and threads that
/// already exited (a stage's short-lived workers) as `exited threads`.
pub fn by_thread(pid: u32) -> Vec<(String, f64)> {
    let mut by_name: Vec<(String, f64)> = Vec::new();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    for thread in threads.flatten() {
        let read =
            |file: &str| std::fs::read_to_string(thread.path().join(file)).unwrap_or_default();
        let mut name = read("comm").trim().to_owned();
        if name.starts_with("rdk:broker") {
            name = "rdk:broker*".to_owned();
        }
        // The first field: nanoseconds on a CPU.
        let nanos: f64 = read("schedstat")
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        match by_name.iter_mut().find(|(known, _)| *known == name) {
            Some((_, seconds)) => *seconds += nanos / 1e9,
            None => by_name.push((name, nanos / 1e9)),
        }
    }
    // The process's own counters include its exited threads.
    let alive: f64 = by_name.iter().map(|(_, s)| s).sum();
    if let Some((_, ticks)) = process_ticks(pid) {
        let exited = ticks as f64 / TICKS - alive;
        if exited >= 0.1 {
            by_name.push(("exited threads".to_owned(), exited));
        }
    }
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    by_name
}

/// [`by_thread`] of several processes (a stage's copies), summed by name.
pub fn merged(copies: impl Iterator<Item = Vec<(String, f64)>>) -> Vec<(String, f64)> {
    let mut total: Vec<(String, f64)> = Vec::new();
    for (name, seconds) in copies.flatten() {
        match total.iter_mut().find(|(n, _)| *n == name) {
            Some((_, sum)) => *sum += seconds,
            None => total.push((name, seconds)),
        }
    }
    total.sort_by(|a, b| b.1.total_cmp(&a.1));
    total
}
