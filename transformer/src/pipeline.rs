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

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{Canonical, Catalog};
use canonflow_common::kafka::{GroupContext, IdleExit};
use canonflow_common::observe::health;
use canonflow_common::observe::trace::{Fanout, spans};
use canonflow_common::topics::Topics;
use canonflow_common::{Shutdown, headers};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tracing::field::Empty;

use crate::drift::DriftWatch;
use crate::enrich::Enrichment;
use crate::guard::{Guard, Tripped};
use crate::mapping::Mappings;
use crate::metrics::{self, BatchCounts};
use crate::outputs::{self, Output, Transformed, transform};
use crate::{Error, Totals};

/// Transaction calls wait at most this long.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Everything the loop works with.
pub struct Pipeline {
    pub consumer: BaseConsumer<GroupContext>,
    pub producer: ThreadedProducer<DefaultProducerContext>,
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
    /// Drift in the raw records' shape, when `watch_drift` is on.
    pub drift: Option<DriftWatch>,
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
        while !shutdown.is_triggered() {
            health().beat();
            let batch = self.gather(shutdown);
            if batch.is_empty() && !self.enrichment.has_reemits() {
                if self.idle.due(&self.consumer) {
                    tracing::info!("no raw records for the configured idle time; exiting");
                    break;
                }
                continue;
            }
            self.idle.active();
            match self.commit_batch(&batch) {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(BatchError::Fatal(e)) => return Err(e),
                Err(BatchError::Retry(e)) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "batch not committed; rewinding to retry");
                    self.rewind(&batch);
                    wait(shutdown, backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
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

    /// Maps, produces and commits one batch in one transaction.
    fn commit_batch(&mut self, batch: &[OwnedMessage]) -> Result<(), BatchError> {
        let reemits = self.enrichment.take_reemits();
        let result = self.transact(batch, &reemits);
        if result.is_err() {
            self.enrichment.requeue(reemits);
        }
        result
    }

    fn transact(
        &mut self,
        batch: &[OwnedMessage],
        reemits: &[Canonical<Attributes>],
    ) -> Result<(), BatchError> {
        let started = Instant::now();
        let mut totals = Totals::default();
        let mut counts = BatchCounts::new();
        let mut fanout = Fanout::new(tracing::info_span!(
            parent: None,
            spans::TRANSFORM_BATCH,
            records = batch.len(),
            reemitted = reemits.len(),
            trace_id = Empty,
        ));
        let span = fanout.batch().clone();
        let _entered = span.enter();
        self.producer
            .begin_transaction()
            .map_err(BatchError::kafka)?;
        for entity in reemits {
            let carried = fanout.carry(None, 0, tracing::Span::none);
            let sent = outputs::reemit(entity, &self.catalog, &self.topics, carried)
                .map_err(|e| {
                    BatchError::Fatal(Error::Kafka(format!("encoding an enriched entity: {e}")))
                })
                .and_then(|output| self.send(output));
            if let Err(e) = sent {
                self.abort();
                return Err(e);
            }
        }
        totals.reemitted = reemits.len() as u64;
        for message in batch {
            if let Some(drift) = &mut self.drift {
                drift.observe_record(message);
            }
            let mapping = Instant::now();
            let parent = headers::text(message.headers(), headers::TRACEPARENT);
            let carried = fanout.carry(parent, 1, || map_span(message));
            let transformed = transform(
                message,
                &self.mappings,
                &self.enrichment,
                &self.catalog,
                &self.topics,
                carried,
            );
            counts.map_seconds.record(mapping.elapsed().as_secs_f64());
            let output = match transformed {
                Transformed::Canonical { output, kind } => {
                    totals.canonical += 1;
                    counts.produced(kind);
                    let verdict = self.guard.passed(message.partition());
                    self.check(verdict)?;
                    output
                }
                Transformed::DeadLetter { output, error } => {
                    totals.dead_letters += 1;
                    let verdict = self.guard.failed(message.partition(), &error);
                    self.check(verdict)?;
                    output
                }
                Transformed::Unmapped { source, stream } => {
                    totals.unmapped += 1;
                    let verdict = self.guard.passed(message.partition());
                    self.check(verdict)?;
                    if self.unmapped.insert((source.clone(), stream.clone())) {
                        tracing::info!(%source, %stream, "no mapping for this stream; its raw records are skipped");
                    }
                    continue;
                }
            };
            if let Err(e) = self.send(output) {
                self.abort();
                return Err(e);
            }
        }
        let committed = match self.commit(batch) {
            Ok(committed) => committed,
            Err(e) => {
                self.abort();
                return Err(e);
            }
        };
        totals.raw = batch.len() as u64;
        if let Some(offsets) = committed {
            self.store_offsets(&offsets);
        }
        counts.committed(&totals, batch, started.elapsed());
        tracing::debug!(?totals, "batch committed");
        fanout.finish();
        self.totals.add(&totals);
        Ok(())
    }

    /// Aborts the batch and stops if the dead-letter limit tripped.
    fn check(&mut self, verdict: Result<(), Tripped>) -> Result<(), BatchError> {
        verdict.map_err(|tripped| {
            self.abort();
            BatchError::Fatal(Error::DeadLetterLimit(tripped))
        })
    }

    fn send(&self, output: Output) -> Result<(), BatchError> {
        let Output {
            topic,
            key,
            payload,
            headers,
        } = output;
        let mut record = BaseRecord::<Vec<u8>, Vec<u8>>::to(&topic).headers(headers);
        if let Some(key) = &key {
            record = record.key(key);
        }
        if let Some(payload) = &payload {
            record = record.payload(payload);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The producer's own thread is delivering; give it a moment.
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(BatchError::kafka(e)),
            }
        }
    }

    /// Commits the transaction with `batch`'s offsets; returns them.
    fn commit(&self, batch: &[OwnedMessage]) -> Result<Option<TopicPartitionList>, BatchError> {
        if batch.is_empty() {
            return self
                .producer
                .commit_transaction(TRANSACTION_TIMEOUT)
                .map(|()| None)
                .map_err(BatchError::kafka);
        }
        let offsets = next_offsets(batch).map_err(BatchError::kafka)?;
        let group = self
            .consumer
            .group_metadata()
            .ok_or_else(|| BatchError::Retry("no consumer group metadata yet".into()))?;
        self.producer
            .send_offsets_to_transaction(&offsets, &group, TRANSACTION_TIMEOUT)
            .map_err(BatchError::kafka)?;
        self.producer
            .commit_transaction(TRANSACTION_TIMEOUT)
            .map_err(BatchError::kafka)?;
        Ok(Some(offsets))
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

    /// Positions each partition of `batch` back at its first record, so a
    /// retry reads the batch again (a partition no longer assigned resumes
    /// from its committed offset anyway).
    fn rewind(&self, batch: &[OwnedMessage]) {
        let mut first: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for m in batch {
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

/// The span continuing the trace of a raw record's page in this batch.
fn map_span(message: &OwnedMessage) -> tracing::Span {
    let header = |name| headers::text(message.headers(), name).unwrap_or_default();
    tracing::info_span!(
        parent: None,
        spans::MAP,
        source = header(headers::SOURCE),
        stream = header(headers::STREAM),
    )
}

/// The offset after the last record of each partition in `batch`.
fn next_offsets(batch: &[OwnedMessage]) -> Result<TopicPartitionList, KafkaError> {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for m in batch {
        let entry = next.entry((m.topic(), m.partition())).or_insert(0);
        *entry = (*entry).max(m.offset() + 1);
    }
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        list.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    Ok(list)
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
