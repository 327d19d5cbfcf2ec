//! The dead-letter limit: when (nearly) every record of a partition fails,
//! the cause is the deploy, not the data — a broken mapping, the wrong
//! topic — so the transformer stops with a fatal error instead of draining
//! the raw topic into the dead-letter topic.

use std::collections::HashMap;

use crate::settings::DeadLetterLimit;

/// Why the guard stopped the transformer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Tripped {
    #[error(
        "{count} dead letters in a row on raw partition {partition} (transformer.dead_letter_limit.consecutive = {count}); last: {last}. Fix the mapping or the source, then restart: nothing after the first of them was committed"
    )]
    Consecutive {
        partition: i32,
        count: u64,
        last: String,
    },
    #[error(
        "{dead} of the last {window} records on raw partition {partition} were dead letters, more than transformer.dead_letter_limit.ratio = {ratio}; last: {last}"
    )]
    Ratio {
        partition: i32,
        dead: u64,
        window: u64,
        ratio: f64,
        last: String,
    },
}

#[derive(Debug, Default, Clone)]
struct Counts {
    consecutive: u64,
    seen: u64,
    dead: u64,
    last_error: String,
}

/// Per-partition counts against the limit.
#[derive(Debug)]
pub struct Guard {
    limit: DeadLetterLimit,
    partitions: HashMap<i32, Counts>,
}

impl Guard {
    pub fn new(limit: DeadLetterLimit) -> Self {
        Self {
            limit,
            partitions: HashMap::new(),
        }
    }

    /// A record of `partition` was mapped (or skipped as unmapped).
    pub fn passed(&mut self, partition: i32) -> Result<(), Tripped> {
        self.record(partition, None)
    }

    /// A record of `partition` became a dead letter because of `error`.
    pub fn failed(&mut self, partition: i32, error: &str) -> Result<(), Tripped> {
        self.record(partition, Some(error))
    }

    fn record(&mut self, partition: i32, error: Option<&str>) -> Result<(), Tripped> {
        let limit = &self.limit;
        let counts = self.partitions.entry(partition).or_default();
        counts.seen += 1;
        match error {
            Some(error) => {
                counts.consecutive += 1;
                counts.dead += 1;
                error.clone_into(&mut counts.last_error);
            }
            None => counts.consecutive = 0,
        }
        if counts.consecutive >= limit.consecutive {
            return Err(Tripped::Consecutive {
                partition,
                count: counts.consecutive,
                last: counts.last_error.clone(),
            });
        }
        // Tumbling windows of `window` records, judged when one is full.
        if counts.seen < limit.window.max(1) {
            return Ok(());
        }
        let (seen, dead) = (counts.seen, counts.dead);
        counts.seen = 0;
        counts.dead = 0;
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let share = dead as f64 / seen as f64;
        if share > limit.ratio {
            return Err(Tripped::Ratio {
                partition,
                dead,
                window: seen,
                ratio: limit.ratio,
                last: counts.last_error.clone(),
            });
        }
        Ok(())
    }

    /// Forgets the counts of a batch that was not committed.
    pub fn reset(&mut self) {
        self.partitions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(consecutive: u64, ratio: f64, window: u64) -> Guard {
        Guard::new(DeadLetterLimit {
            consecutive,
            ratio,
            window,
        })
    }

    #[test]
    fn a_run_of_failures_trips_and_a_success_resets_it() {
        let mut g = guard(3, 1.0, 1_000);
        assert!(g.failed(0, "e").is_ok());
        assert!(g.failed(0, "e").is_ok());
        g.passed(0).unwrap();
        assert!(g.failed(0, "e").is_ok());
        assert!(g.failed(1, "e").is_ok(), "partitions count apart");
        assert!(g.failed(0, "e").is_ok());
        let tripped = g.failed(0, "bad amount").unwrap_err();
        assert!(matches!(
            tripped,
            Tripped::Consecutive {
                partition: 0,
                count: 3,
                ..
            }
        ));
        assert!(tripped.to_string().contains("bad amount"));
    }

    #[test]
    fn a_high_share_in_a_full_window_trips() {
        // Half of a full window is not more than half.
        let mut g = guard(1_000, 0.5, 10);
        for _ in 0..5 {
            g.passed(0).unwrap();
            assert!(g.failed(0, "e").is_ok());
        }
        // More than half of the next one is.
        let mut g = guard(1_000, 0.5, 4);
        g.passed(0).unwrap();
        assert!(g.failed(0, "e").is_ok());
        assert!(g.failed(0, "e").is_ok());
        assert!(matches!(
            g.failed(0, "e"),
            Err(Tripped::Ratio {
                dead: 3,
                window: 4,
                ..
            })
        ));
    }
}
