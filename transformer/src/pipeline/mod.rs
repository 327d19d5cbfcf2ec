//! The consume → transform → produce loop, exactly once on Kafka.
//!
//! Raw records are gathered into a batch (by count or time), then mapped
//! and produced in one transaction together with the consumer offsets
//! (`send_offsets_to_transaction`): the canonical records, the dead letters
//! and the progress commit or vanish together. Where transactions are not
//! isolated (the local broker shows aborted records, deviation 1), a retried
//! batch produces byte-identical records under the same keys, which
//! downstream treats as the no-op re-delivery it is.
//!
//! Records gathered while the group rebalanced are dropped before anything
//! is produced: with eager rebalancing every partition then resumes from its
//! committed offset ([`GroupContext`]).
//!
//! One transaction at a time, but overlapped with the work around it: while
//! batch N commits on its own thread, batch N+1 is gathered and mapped
//! ([`batch`]); N+1's transaction begins only after N's commit returned. A
//! revoke waits for the commit in flight ([`CommitInFlight`]), so the next
//! owner of a partition reads offsets that include it.

mod batch;
mod map;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use canonflow_canonical::Catalog;
use canonflow_common::Shutdown;
#[cfg(doc)]
use canonflow_common::kafka::CommitInFlight;
use canonflow_common::kafka::{GroupContext, IdleExit};
use canonflow_common::observe::health;
use canonflow_common::topics::Topics;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::drift::DriftWatch;
use crate::enrich::{Enrichment, Reemit};
use crate::guard::Guard;
use crate::mapping::Mappings;
use crate::metrics;
use crate::{Error, Totals};

use batch::InFlight;

/// Transaction calls wait at most this long.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Everything the loop works with.
pub struct Pipeline {
    pub consumer: BaseConsumer<GroupContext>,
    /// Shared with the thread a commit runs on.
    pub producer: Arc<ThreadedProducer<DefaultProducerContext>>,
    pub mappings: Mappings,
    pub catalog: Arc<Catalog>,
    pub enrichment: Enrichment,
    pub topics: Topics,
    pub batch_records: usize,
    pub batch_time: Duration,
    pub guard: Guard,
    /// When to stop a job-style run (`exit_when_idle_secs`).
    pub idle: IdleExit,
    pub totals: Totals,
    /// Streams without a mapping seen so far (each is logged once).
    pub unmapped: HashSet<(String, String)>,
    /// Drift in the raw records' shape, when `watch_drift` is on; shared by
    /// the mapping threads.
    pub drift: Option<Mutex<DriftWatch>>,
    /// Threads that map a batch (`map_threads`).
    pub map_threads: usize,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Runs until `shutdown` or a fatal error; a batch in flight when
    /// shutdown comes is finished (committed) first.
    pub fn run(&mut self, shutdown: &Shutdown) -> Result<(), Error> {
        self.producer
            .init_transactions(TRANSACTION_TIMEOUT)
            .map_err(|e| Error::Kafka(format!("initializing transactions: {e}")))?;
        self.consumer
            .subscribe(&[&self.topics.raw()])
            .map_err(|e| Error::Kafka(format!("subscribing to {}: {e}", self.topics.raw())))?;
        metrics::started();
        let mut backoff = Duration::from_millis(200);
        let mut in_flight: Option<InFlight> = None;
        while !shutdown.is_triggered() {
            health().beat();
            let gathering = Instant::now();
            let batch = self.gather(shutdown);
            let gathered = gathering.elapsed();
            // As many re-emits as raw records at most, so that a transaction
            // stays the size configured however many entities a reference
            // resolved at once.
            let reemits = self.enrichment.take_reemits(self.batch_records);
            let outcome = if batch.is_empty() && reemits.is_empty() {
                // Nothing new: finish what is in flight, then see whether to stop.
                let settled = in_flight
                    .take()
                    .map_or(Ok(()), |previous| self.settle(previous, &[]));
                if settled.is_ok() && self.idle.due(&self.consumer) {
                    tracing::info!("no raw records for the configured idle time; exiting");
                    break;
                }
                settled
            } else {
                self.idle.active();
                self.next_transaction(&mut in_flight, batch, gathered, reemits)
            };
            match outcome {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(BatchError::Fatal(e)) => return Err(e),
                Err(BatchError::Retry(e)) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "batch not committed; rewinding to retry");
                    wait(shutdown, backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        match in_flight.map(|last| self.settle(last, &[])) {
            Some(Err(BatchError::Fatal(e))) => Err(e),
            Some(Err(BatchError::Retry(e))) => {
                tracing::warn!(error = %e, "the last batch was not committed; it is read again on the next start");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Maps `batch` while the previous transaction commits, waits for that
    /// commit, then starts `batch`'s own.
    fn next_transaction(
        &mut self,
        in_flight: &mut Option<InFlight>,
        batch: Vec<OwnedMessage>,
        gathered: Duration,
        reemits: Vec<Reemit>,
    ) -> Result<(), BatchError> {
        let prepared = self.prepare(&batch, gathered, &reemits);
        if let Some(previous) = in_flight.take()
            && let Err(e) = self.settle(previous, &batch)
        {
            self.enrichment.requeue(reemits);
            return Err(e);
        }
        let prepared = prepared.map_err(BatchError::Fatal)?;
        *in_flight = Some(self.produce(prepared, batch, reemits)?);
        Ok(())
    }

    /// Up to `batch_records` raw records or `batch_time` of polling; what
    /// was gathered before a rebalance is dropped.
    fn gather(&mut self, shutdown: &Shutdown) -> Vec<OwnedMessage> {
        let mut seen = self.consumer.context().rebalances();
        let deadline = Instant::now() + self.batch_time;
        let mut batch = Vec::new();
        while batch.len() < self.batch_records && !shutdown.is_triggered() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let polled = self.consumer.poll(left.min(Duration::from_millis(100)));
            if self.consumer.context().rebalanced_since(&mut seen) && !batch.is_empty() {
                tracing::debug!(
                    dropped = batch.len(),
                    "group rebalanced; records gathered before dropped"
                );
                batch.clear();
            }
            match polled {
                Some(Ok(message)) => batch.push(message.detach()),
                Some(Err(e)) => tracing::warn!(error = %e, "consumer error"),
                None => {}
            }
        }
        batch
    }

    /// Tells the consumer what the transaction committed: offsets are
    /// committed by the producer, so only stored offsets let librdkafka's
    /// statistics report this group's lag (`observe::kafka`). Storing
    /// commits nothing (auto-commit is off).
    fn store_offsets(&self, offsets: &TopicPartitionList) {
        if let Err(e) = self.consumer.store_offsets(offsets) {
            tracing::debug!(error = %e, "offsets not stored (rebalanced?); lag is reported late");
        }
    }

    fn abort(&mut self) {
        metrics::aborted();
        self.guard.reset();
        if let Err(e) = self.producer.abort_transaction(TRANSACTION_TIMEOUT) {
            tracing::warn!(error = %e, "aborting the transaction failed");
        }
    }

    /// Positions each partition of `records` (in the order they were read)
    /// back at its first record, so a retry reads them again (a partition no
    /// longer assigned resumes from its committed offset anyway).
    fn rewind<'a>(&self, records: impl IntoIterator<Item = &'a OwnedMessage>) {
        let mut first: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for m in records {
            first
                .entry((m.topic().to_owned(), m.partition()))
                .or_insert(m.offset());
        }
        for ((topic, partition), offset) in first {
            if let Err(e) = self.consumer.seek(
                &topic,
                partition,
                Offset::Offset(offset),
                Duration::from_secs(5),
            ) {
                tracing::debug!(%topic, partition, error = %e, "not rewound (no longer assigned?)");
            }
        }
    }
}

enum BatchError {
    Retry(String),
    Fatal(Error),
}

impl BatchError {
    fn kafka(e: KafkaError) -> Self {
        let fatal = match &e {
            KafkaError::Transaction(t) => t.is_fatal(),
            _ => false,
        };
        if fatal {
            Self::Fatal(Error::Kafka(format!("transaction: {e}")))
        } else {
            Self::Retry(e.to_string())
        }
    }
}

/// Sleeps `duration` or until shutdown, whichever is first.
fn wait(shutdown: &Shutdown, duration: Duration) {
    let deadline = Instant::now() + duration;
    while !shutdown.is_triggered() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50).min(deadline - Instant::now()));
    }
}
