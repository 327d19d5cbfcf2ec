//! Committing a transaction without waiting out rdkafka's flush rounds.
//!
//! rdkafka's `commit_transaction` flushes first, and its flush serves
//! delivery reports by polling in rounds of 100 ms that do not end early
//! (rdkafka 0.39, `BaseProducer::flush` and `poll`). So every commit that
//! still had a message in flight took at least 100 ms, however fast the
//! broker acknowledged it: a transformer batch's commit measured 101 ms
//! with EndTxn answered in 2 ms (`docs/performance.md`, 2026-12-06).

use std::time::{Duration, Instant};

use rdkafka::error::KafkaResult;
use rdkafka::producer::{Partitioner, Producer, ProducerContext};

/// How often [`commit_transaction`] looks whether everything is delivered.
const STEP: Duration = Duration::from_millis(1);

/// The commit itself gets at least this long, however long the deliveries
/// took, so that it is not started with no time left.
const COMMIT_AT_LEAST: Duration = Duration::from_secs(5);

/// Commits `producer`'s open transaction within `timeout`, once everything
/// sent in it has been delivered, so that rdkafka's flush finds nothing
/// left to wait for.
///
/// For producers whose delivery reports are served on a thread of their
/// own (`ThreadedProducer`, `FutureProducer`): a `BaseProducer` delivers
/// only while polled, so here it would wait out `timeout` and then fall
/// back on rdkafka's own flush. A message that cannot be delivered fails
/// the commit as before, when `timeout` is up. Takes at most `timeout`
/// plus 5 s (rdkafka's own took up to twice `timeout`: its flush, then the
/// commit).
pub fn commit_transaction<C, Part>(
    producer: &impl Producer<C, Part>,
    timeout: Duration,
) -> KafkaResult<()>
where
    Part: Partitioner,
    C: ProducerContext<Part>,
{
    let deadline = Instant::now() + timeout;
    while producer.in_flight_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(STEP);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    producer.commit_transaction(left.max(COMMIT_AT_LEAST))
}
