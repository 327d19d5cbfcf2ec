//! Liveness and readiness, as `/healthz` and `/readyz` report them.
//!
//! A process is alive while it answers. It is ready when every dependency it
//! declared is reachable (Kafka for all stages, PostgreSQL for the sink) and
//! its work loop has beaten within the stall limit — a loop stuck in a
//! call that never returns turns the probe red even though the dependencies
//! look fine. Stages report through [`health()`]; only the HTTP endpoint
//! reads.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Duration;

/// What a stage depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Kafka,
    Postgres,
}

impl Dependency {
    const ALL: [Self; 2] = [Self::Kafka, Self::Postgres];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kafka => "kafka",
            Self::Postgres => "postgres",
        }
    }
}

const UNUSED: u8 = 0;
const DOWN: u8 = 1;
const UP: u8 = 2;

/// The process's health, shared by the stage and the HTTP endpoint.
#[derive(Debug)]
pub struct Health {
    dependencies: [AtomicU8; 2],
    /// Milliseconds since the Unix epoch of the work loop's last beat; 0
    /// before the first.
    beat_ms: AtomicI64,
    stall_ms: AtomicI64,
}

/// The process-wide health.
pub fn health() -> &'static Health {
    static HEALTH: OnceLock<Health> = OnceLock::new();
    HEALTH.get_or_init(|| Health {
        dependencies: [AtomicU8::new(UNUSED), AtomicU8::new(UNUSED)],
        beat_ms: AtomicI64::new(0),
        stall_ms: AtomicI64::new(120_000),
    })
}

impl Health {
    /// Declares a dependency (down until [`set`](Self::set) says otherwise).
    pub fn depends_on(&self, dependency: Dependency) {
        let _ = self.slot(dependency).compare_exchange(
            UNUSED,
            DOWN,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Whether `dependency` is reachable now; declares it if need be.
    pub fn set(&self, dependency: Dependency, up: bool) {
        self.slot(dependency)
            .store(if up { UP } else { DOWN }, Ordering::Relaxed);
    }

    /// The work loop is making progress (or waiting for work, which is
    /// progress too): call it every loop turn.
    pub fn beat(&self) {
        self.beat_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// How long without a beat makes the process not ready.
    pub fn set_stall_limit(&self, limit: Duration) {
        self.stall_ms
            .store(limit.as_millis() as i64, Ordering::Relaxed);
    }

    /// `Ok` when ready, else every reason it is not.
    pub fn readiness(&self) -> Result<(), Vec<String>> {
        let mut problems: Vec<String> = Dependency::ALL
            .into_iter()
            .filter(|d| self.slot(*d).load(Ordering::Relaxed) == DOWN)
            .map(|d| format!("{} unreachable", d.as_str()))
            .collect();
        let beat = self.beat_ms.load(Ordering::Relaxed);
        let since = chrono::Utc::now().timestamp_millis() - beat;
        if beat == 0 {
            problems.push("work loop not started".into());
        } else if since > self.stall_ms.load(Ordering::Relaxed) {
            problems.push(format!("work loop stalled for {} s", since / 1000));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn slot(&self, dependency: Dependency) -> &AtomicU8 {
        &self.dependencies[dependency as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_with_every_dependency_up_and_a_recent_beat() {
        let health = Health {
            dependencies: [AtomicU8::new(UNUSED), AtomicU8::new(UNUSED)],
            beat_ms: AtomicI64::new(0),
            stall_ms: AtomicI64::new(60_000),
        };
        health.depends_on(Dependency::Kafka);
        let problems = health.readiness().unwrap_err();
        assert_eq!(problems, ["kafka unreachable", "work loop not started"]);

        health.set(Dependency::Kafka, true);
        health.beat();
        assert_eq!(health.readiness(), Ok(()));

        health.set(Dependency::Postgres, false);
        assert_eq!(health.readiness().unwrap_err(), ["postgres unreachable"]);
        health.set(Dependency::Postgres, true);

        health.set_stall_limit(Duration::ZERO);
        health.beat_ms.store(
            chrono::Utc::now().timestamp_millis() - 5_000,
            Ordering::Relaxed,
        );
        let problems = health.readiness().unwrap_err();
        assert!(
            problems[0].starts_with("work loop stalled for 5 s"),
            "{problems:?}"
        );
    }
}
