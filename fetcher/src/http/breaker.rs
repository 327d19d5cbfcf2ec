//! A per-source circuit breaker: after `threshold` consecutive failed
//! requests it opens and fails requests fast; after `cool_down` it lets one
//! probe through (half-open); the probe's outcome closes or re-opens it.
//!
//! A source that is down then costs one request per cool-down instead of a
//! storm of retries, and the open state is visible in logs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cool_down: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    failures: u32,
    opened_at: Option<Instant>,
    probing: bool,
}

impl Breaker {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cool_down,
            inner: Mutex::new(Inner {
                failures: 0,
                opened_at: None,
                probing: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state stays consistent even if a holder panicked.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Ok` if a request may go out now; `Err(wait)` while open.
    pub fn admit(&self) -> Result<(), Duration> {
        let mut inner = self.lock();
        let Some(opened_at) = inner.opened_at else {
            return Ok(());
        };
        let elapsed = opened_at.elapsed();
        if elapsed < self.cool_down {
            return Err(self.cool_down - elapsed);
        }
        if inner.probing {
            return Err(self.cool_down);
        }
        inner.probing = true;
        tracing::info!("circuit breaker half-open: sending a probe");
        Ok(())
    }

    pub fn record_success(&self) {
        let mut inner = self.lock();
        if inner.opened_at.is_some() {
            tracing::info!("circuit breaker closed: the source answers again");
        }
        *inner = Inner {
            failures: 0,
            opened_at: None,
            probing: false,
        };
    }

    pub fn record_failure(&self) {
        let mut inner = self.lock();
        inner.failures = inner.failures.saturating_add(1);
        let reopen = inner.probing;
        if reopen || (inner.opened_at.is_none() && inner.failures >= self.threshold) {
            inner.opened_at = Some(Instant::now());
            inner.probing = false;
            tracing::warn!(failures = inner.failures, cool_down = ?self.cool_down, "circuit breaker open");
        }
    }

    pub fn state(&self) -> BreakerState {
        let inner = self.lock();
        match (inner.opened_at, inner.probing) {
            (None, _) => BreakerState::Closed,
            (Some(_), true) => BreakerState::HalfOpen,
            (Some(at), false) if at.elapsed() >= self.cool_down => BreakerState::HalfOpen,
            (Some(_), false) => BreakerState::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_closes_after_a_good_probe() {
        let breaker = Breaker::new(3, Duration::ZERO);
        breaker.record_failure();
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.record_failure();
        // Cool-down zero: the next request is the half-open probe.
        assert!(breaker.admit().is_ok());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.admit().is_err(), "only one probe at a time");
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_and_open_fails_fast() {
        let breaker = Breaker::new(1, Duration::from_secs(3600));
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        let wait = breaker.admit().unwrap_err();
        assert!(wait > Duration::from_secs(3000));

        let breaker = Breaker::new(1, Duration::ZERO);
        breaker.record_failure();
        assert!(breaker.admit().is_ok());
        breaker.record_failure();
        assert!(matches!(
            breaker.state(),
            BreakerState::HalfOpen | BreakerState::Open
        ));
    }
}
