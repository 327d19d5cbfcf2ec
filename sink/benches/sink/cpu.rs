//! Where the CPU went during a phase: PostgreSQL's processes and the
//! broker's, read from /proc before and after, and the whole machine's busy
//! time from /proc/stat (anything else running shows up there too).

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
