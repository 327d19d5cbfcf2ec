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
//! One transaction at a time, but overlapped with the work around it
//! ([`batch`]): while batch N commits on a thread of its own, N+1 is
//! produced on this one and N+2 is mapped on the mapping threads
//! ([`map`]), then N+3 gathered; both kinds of thread are kept for the
//! pipeline's life ([`threads`]). N+1's transaction begins only after N's
//! commit returned.
//! A revoke waits for the commit in flight ([`CommitInFlight`]), so the
//! next owner of a partition reads offsets that include it; a batch mapped
//! but not produced when the group rebalances is dropped like one
//! gathered.

mod batch;
mod map;
mod positions;
mod threads;

pub use map::Mapper;
pub(crate) use positions::Positions;
pub use threads::Threads;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use canonflow_common::Shutdown;
#[cfg(doc)]
use canonflow_common::kafka::CommitInFlight;
use canonflow_common::kafka::{GroupContext, IdleExit};
use canonflow_common::observe::health;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::enrich::Reemit;
use crate::guard::Guard;
use crate::metrics;
use crate::record::Record;
use crate::{Error, Totals};

use batch::{InFlight, Mapping};

/// Transaction calls wait at most this long.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Everything the loop works with.
pub struct Pipeline {
    pub consumer: BaseConsumer<GroupContext>,
    /// Shared with the thread a commit runs on.
    pub producer: Arc<ThreadedProducer<DefaultProducerContext>>,
    /// Maps batches; its enrichment and topics are the pipeline's too.
    pub mapper: Mapper,
    /// The thread each transaction commits on, while the next is produced.
    pub committer: Threads,
    pub batch_records: usize,
    pub batch_time: Duration,
    pub guard: Guard,
    /// When to stop a job-style run (`exit_when_idle_secs`).
    pub idle: IdleExit,
    pub totals: Totals,
    /// Streams without a mapping seen so far (each is logged once).
    pub unmapped: HashSet<(String, String)>,
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
    /// shutdown comes is finished (committed) first, one only mapped is
    /// read again on the next start.
    pub fn run(&mut self, shutdown: &Shutdown) -> Result<(), Error> {
        let raw = self.mapper.topics.raw();
        // Subscribed first: the group join (seconds on the local broker)
        // goes on in the background while transactions are initialized.
        self.consumer
            .subscribe(&[&raw])
            .map_err(|e| Error::Kafka(format!("subscribing to {raw}: {e}")))?;
        self.producer
            .init_transactions(TRANSACTION_TIMEOUT)
            .map_err(|e| Error::Kafka(format!("initializing transactions: {e}")))?;
        metrics::started();
        let mut backoff = Duration::from_millis(200);
        let mut in_flight: Option<InFlight> = None;
        // The batch gathered last time round, being mapped meanwhile.
        let mut mapping: Option<Mapping> = None;
        let outcome = loop {
            if shutdown.is_triggered() {
                break Ok(());
            }
            health().beat();
            let gathering = Instant::now();
            let (batch, rebalanced) = self.gather(shutdown, mapping.as_ref());
            let gathered = gathering.elapsed();
            if rebalanced && let Some(stale) = mapping.take() {
                // Its partitions resume from their committed offsets.
                tracing::debug!(
                    dropped = stale.batch().len(),
                    "group rebalanced; a batch mapped before it dropped"
                );
                self.discard(stale);
            }
            // As many re-emits as raw records at most, so that a transaction
            // stays the size configured however many entities a reference
            // resolved at once.
            let reemits = self.mapper.enrichment.take_reemits(self.batch_records);
            let mut next = (!batch.is_empty() || !reemits.is_empty()).then(|| {
                self.idle.active();
                self.start_mapping(batch, gathered, reemits)
            });
            let outcome = match mapping.take() {
                Some(ready) => self.next_transaction(&mut in_flight, ready, &mut next),
                None if next.is_some() => Ok(()),
                None => {
                    // Nothing new: finish what is in flight, then see whether to stop.
                    let settled = in_flight.take().map_or(Ok(()), |previous| {
                        self.settle(previous, &[]).map_err(|f| {
                            self.give_back(vec![f.reemits]);
                            f.error
                        })
                    });
                    if settled.is_ok() && self.idle.due(&self.consumer) {
                        tracing::info!("no raw records for the configured idle time; exiting");
                        break Ok(());
                    }
                    settled
                }
            };
            mapping = next;
            match outcome {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(BatchError::Fatal(e)) => break Err(e),
                Err(BatchError::Retry(e)) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "batch not committed; rewinding to retry");
                    wait(shutdown, backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        if let Some(unproduced) = mapping {
            self.discard(unproduced);
        }
        outcome?;
        match in_flight.map(|last| self.settle(last, &[]).map_err(|f| f.error)) {
            Some(Err(BatchError::Fatal(e))) => Err(e),
            Some(Err(BatchError::Retry(e))) => {
                tracing::warn!(error = %e, "the last batch was not committed; it is read again on the next start");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Waits for `ready`'s mapping, waits for the previous transaction's
    /// commit, then starts `ready`'s own — while `next` is being mapped.
    /// On failure `next` is dropped: it was rewound with the failed batch.
    fn next_transaction(
        &mut self,
        in_flight: &mut Option<InFlight>,
        mut ready: Mapping,
        next: &mut Option<Mapping>,
    ) -> Result<(), BatchError> {
        let prepared = self.prepare(&mut ready);
        let later = next.as_ref().map_or(&[][..], Mapping::batch);
        let mut failed = Vec::new();
        let outcome = match in_flight
            .take()
            .map(|previous| self.settle(previous, &[ready.batch(), later]))
        {
            Some(Err(f)) => {
                failed.push(f.reemits);
                Err(f.error)
            }
            _ => match prepared {
                Err(e) => Err(BatchError::Fatal(e)),
                Ok(prepared) => self
                    .produce(prepared, &mut ready, later)
                    .map(|produced| *in_flight = Some(produced)),
            },
        };
        let Err(error) = outcome else {
            return Ok(());
        };
        failed.push(ready.unproduced(&self.mapper));
        failed.extend(next.take().map(|next| next.unproduced(&self.mapper)));
        self.give_back(failed);
        Err(error)
    }

    /// Puts back the re-emits of failed or dropped batches, given oldest
    /// batch first, so that they go out again in the order taken.
    fn give_back(&self, reemits: Vec<Vec<Reemit>>) {
        for batch in reemits.into_iter().rev() {
            self.mapper.enrichment.requeue(batch);
        }
    }

    /// Drops a batch mapped but not to be produced (its records are read
    /// again), once its threads are done; puts its re-emits back.
    fn discard(&self, mapping: Mapping) {
        self.give_back(vec![mapping.unproduced(&self.mapper)]);
    }

    /// Up to `batch_records` raw records or `batch_time` of polling, less
    /// when `mapping` is done and nothing more is waiting; what was gathered
    /// before a rebalance is dropped. True if the group rebalanced.
    fn gather(&mut self, shutdown: &Shutdown, mapping: Option<&Mapping>) -> (Vec<Record>, bool) {
        let mut seen = self.consumer.context().rebalances();
        let deadline = Instant::now() + self.batch_time;
        let mut batch = Vec::new();
        let mut topic = None;
        let mut rebalanced = false;
        while batch.len() < self.batch_records && !shutdown.is_triggered() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let polled = self.consumer.poll(left.min(Duration::from_millis(100)));
            if self.consumer.context().rebalanced_since(&mut seen) {
                rebalanced = true;
                if !batch.is_empty() {
                    tracing::debug!(
                        dropped = batch.len(),
                        "group rebalanced; records gathered before dropped"
                    );
                    batch.clear();
                }
            }
            match polled {
                Some(Ok(message)) => {
                    let name = Record::topic_of(&message, &mut topic);
                    batch.push(Record::copy(&message, name));
                }
                Some(Err(e)) => tracing::warn!(error = %e, "consumer error"),
                // Nothing waiting: do not keep a mapped batch waiting too.
                None if mapping.is_some_and(Mapping::is_done) => break,
                None => {}
            }
        }
        (batch, rebalanced)
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

    /// Positions each partition read back at its first record, so that a
    /// retry reads them again (a partition no longer assigned resumes from
    /// its committed offset anyway).
    fn rewind(&self, read: &Positions) {
        for (topic, partition, offset) in read.first_offsets() {
            if let Err(e) = self.consumer.seek(
                topic,
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
