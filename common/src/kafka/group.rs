//! Group consumers: where a newly assigned partition starts, and telling
//! the consuming loop that the assignment changed.
//!
//! A partition without a committed offset starts at offset 0, asked for
//! explicitly, rather than at "beginning": the local broker can misreport a
//! partition's log start after overlapping transactions and skip records
//! (`docs/broker-compat.md`, deviation 10). On Apache Kafka, offset 0 after
//! retention is out of range and `auto.offset.reset=earliest` takes over,
//! so the outcome is the same. Eager rebalancing (the librdkafka default)
//! revokes everything on every rebalance, so after one every partition
//! resumes from its committed offset — which is what lets a consuming loop
//! simply drop records it gathered before a rebalance and did not commit
//! ([`GroupContext::rebalanced_since`]).
//!
//! A loop that commits on another thread while it polls for more
//! ([`CommitInFlight`]) has every revoke wait for that commit, so whoever
//! gets the partitions next reads offsets that include it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;

use crate::observe::{self, Stage};

/// How long looking up committed offsets during an assignment may take.
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a revoke waits for a commit in flight; longer than any
/// transaction call's own timeout.
const REVOKE_WAIT: Duration = Duration::from_secs(45);

/// The consumer context of every canonflow group consumer.
#[derive(Debug)]
pub struct GroupContext {
    stage: Stage,
    rebalances: AtomicU64,
    in_flight: CommitInFlight,
}

/// Whether a commit of this consumer's progress is running on another
/// thread. Partitions are not given up while one is.
#[derive(Debug, Clone, Default)]
pub struct CommitInFlight(Arc<(Mutex<bool>, Condvar)>);

impl CommitInFlight {
    /// A commit starts; it counts as running until the guard is dropped.
    pub fn start(&self) -> CommitGuard {
        *self.0.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
        CommitGuard(self.clone())
    }

    /// Waits until no commit runs, at most `deadline`; whether none does.
    fn wait(&self, deadline: Duration) -> bool {
        let (running, done) = &*self.0;
        let running = running.lock().unwrap_or_else(PoisonError::into_inner);
        let (running, _) = done
            .wait_timeout_while(running, deadline, |running| *running)
            .unwrap_or_else(PoisonError::into_inner);
        !*running
    }
}

/// Marks the commit finished when dropped (also when its thread panics).
#[derive(Debug)]
pub struct CommitGuard(CommitInFlight);

impl Drop for CommitGuard {
    fn drop(&mut self) {
        let (running, done) = &*self.0.0;
        *running.lock().unwrap_or_else(PoisonError::into_inner) = false;
        done.notify_all();
    }
}

impl GroupContext {
    /// The context of `stage`'s consumer: its statistics and rebalances are
    /// reported under the stage's name.
    /// Kafka counts as unreachable for readiness until the first report.
    pub fn new(stage: Stage) -> Self {
        observe::health().depends_on(observe::Dependency::Kafka);
        Self {
            stage,
            rebalances: AtomicU64::new(0),
            in_flight: CommitInFlight::default(),
        }
    }

    /// The flag a loop sets while it commits on another thread.
    pub fn in_flight(&self) -> &CommitInFlight {
        &self.in_flight
    }

    /// Counts assignment changes: a loop that saw the count change while it
    /// gathered records knows the records' partitions may not be its own.
    pub fn rebalances(&self) -> u64 {
        self.rebalances.load(Ordering::SeqCst)
    }

    /// Whether the assignment changed since `seen` (which it then updates).
    ///
    /// Call it right after each poll, before keeping what the poll returned:
    /// records gathered *before* a rebalance are to be dropped (their
    /// partitions restart from the committed offsets), but a record the
    /// same poll returned *after* running the rebalance belongs to the new
    /// assignment — librdkafka purges what was fetched for the old one — and
    /// must be kept, or it is skipped for good.
    pub fn rebalanced_since(&self, seen: &mut u64) -> bool {
        let now = self.rebalances();
        let changed = now != *seen;
        *seen = now;
        changed
    }

    fn assign(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &mut TopicPartitionList,
    ) -> KafkaResult<()> {
        match consumer.committed_offsets(tpl.clone(), COMMITTED_TIMEOUT) {
            Ok(committed) => {
                for element in committed.elements() {
                    let start = match element.offset() {
                        Offset::Offset(offset) if offset >= 0 => Offset::Offset(offset),
                        _ => Offset::Offset(0),
                    };
                    tpl.set_partition_offset(element.topic(), element.partition(), start)?;
                }
            }
            // Fall back to the stored offset / auto.offset.reset.
            Err(e) => tracing::warn!(error = %e, "could not read committed offsets on assignment"),
        }
        consumer.assign(tpl)
    }
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        observe::kafka::record_statistics(self.stage, &statistics);
    }
}

impl ConsumerContext for GroupContext {
    /// Asynchronous commits report here; a refused one (after a rebalance)
    /// only means records are processed again.
    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(e) = result {
            tracing::warn!(error = %e, "offsets not committed (rebalanced?); those records will be processed again");
        }
    }

    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        self.rebalances.fetch_add(1, Ordering::SeqCst);
        observe::kafka::record_rebalance(self.stage);
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                tracing::info!(partitions = tpl.count(), "partitions assigned");
                self.assign(consumer, tpl)
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(partitions = tpl.count(), "partitions revoked");
                if !self.in_flight.wait(REVOKE_WAIT) {
                    tracing::warn!(waited = ?REVOKE_WAIT, "giving up partitions while a commit still runs");
                }
                consumer.unassign()
            }
            other => {
                tracing::error!(error = ?other, "rebalance failed; dropping the assignment");
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "applying a rebalance failed");
        }
    }
}

/// `exit_when_idle_secs`: when a group consumer run as a job (the demo, a
/// backfill, a replay) has had nothing to do for long enough to stop.
/// Joining the group does not count as idle: only time with partitions
/// assigned and nothing arriving.
#[derive(Debug, Clone, Default)]
pub struct IdleExit {
    limit: Option<Duration>,
    since: Option<Instant>,
}

impl IdleExit {
    /// Never due when `limit` is `None`.
    pub fn new(limit: Option<Duration>) -> Self {
        Self { limit, since: None }
    }

    /// Something arrived: idle time starts over.
    pub fn active(&mut self) {
        self.since = None;
    }

    /// After a poll that brought nothing: whether it is time to stop.
    pub fn due<C: ConsumerContext, K: Consumer<C>>(&mut self, consumer: &K) -> bool {
        let Some(limit) = self.limit else {
            return false;
        };
        if !consumer.assignment().is_ok_and(|a| a.count() > 0) {
            self.since = None;
            return false;
        }
        self.since.get_or_insert_with(Instant::now).elapsed() >= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoke_waits_for_the_commit_in_flight_and_no_longer() {
        let in_flight = CommitInFlight::default();
        assert!(in_flight.wait(Duration::ZERO), "idle: no wait");
        let guard = in_flight.start();
        assert!(!in_flight.wait(Duration::from_millis(20)), "running");
        let committer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(guard);
        });
        assert!(in_flight.wait(Duration::from_secs(10)), "done");
        committer.join().unwrap();
    }
}
