//! One batch's way through its transaction, in steps so that the batches
//! before and after it are worked on meanwhile: [`Pipeline::start_mapping`]
//! maps the records on the mapping threads, [`Pipeline::prepare`] turns
//! what they mapped into outputs (no Kafka), [`Pipeline::produce`] sends
//! them and the offsets in a transaction and starts the commit on the
//! commit's thread, [`Pipeline::settle`] waits for the commit and records
//! what it committed — or rewinds for a retry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use canonflow_common::headers;
use canonflow_common::kafka::{self, CommitGuard};
use canonflow_common::observe::trace::{Fanout, spans};
use rdkafka::consumer::Consumer;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tracing::field::Empty;

use super::map::{Job, Mapped, Mapper};
use super::threads::Pending;
use super::{BatchError, Pipeline, Positions, TRANSACTION_TIMEOUT};
use crate::enrich::Reemit;
use crate::metrics::BatchCounts;
use crate::outputs::{self, Output, Transformed};
use crate::record::Record;
use crate::{Error, Totals};

/// A batch being mapped, and the re-emits that go out in its transaction.
pub(super) struct Mapping {
    job: Job,
    reemits: Vec<Reemit>,
    /// How long gathering the batch took.
    gathered: Duration,
}

impl Mapping {
    pub fn batch(&self) -> &[Record] {
        &self.job.batch
    }

    /// Whether it is mapped, so that preparing it will not wait.
    pub fn is_done(&self) -> bool {
        self.job.is_done()
    }

    /// For a batch not produced after all: waits for its threads, and
    /// returns its re-emits, to be put back.
    pub fn unproduced(mut self, mapper: &Mapper) -> Vec<Reemit> {
        self.job.finish(mapper);
        self.reemits
    }
}

/// A batch mapped and encoded, not yet produced.
pub(super) struct Prepared {
    outputs: Vec<Output>,
    totals: Totals,
    counts: BatchCounts,
    fanout: Arc<Fanout>,
    started: Instant,
    gathered: Duration,
    mapped: Duration,
    /// How long preparing waited for the mapping threads.
    map_wait: Duration,
    /// How long sending the records and the offsets took.
    sent: Duration,
}

/// A batch whose transaction is committing on the commit's thread.
pub(super) struct InFlight {
    commit: CommitThread,
    offsets: Option<TopicPartitionList>,
    /// Where its records were read: the records themselves are let go.
    read: Positions,
    reemits: Vec<Reemit>,
    prepared: Prepared,
}

/// A batch whose transaction failed: aborted, its records (and those read
/// after them) rewound; its re-emits are to be put back.
pub(super) struct Failed {
    pub error: BatchError,
    pub reemits: Vec<Reemit>,
}

impl Pipeline {
    /// Starts mapping `batch` (gathered in `gathered`) on the mapping
    /// threads; `reemits` (encoded already) go out in the same transaction.
    pub(super) fn start_mapping(
        &self,
        batch: Vec<Record>,
        gathered: Duration,
        reemits: Vec<Reemit>,
    ) -> Mapping {
        let mut fanout = Fanout::new(tracing::info_span!(
            parent: None,
            spans::TRANSFORM_BATCH,
            records = batch.len(),
            reemitted = reemits.len(),
            trace_id = Empty,
        ));
        // Every record's trace counted first; then the threads only read.
        let parents: Vec<Option<String>> = batch
            .iter()
            .map(|r| r.header_text(headers::TRACEPARENT).map(str::to_owned))
            .collect();
        for (record, parent) in batch.iter().zip(&parents) {
            fanout.count(parent.as_deref(), 1, || map_span(record));
        }
        Mapping {
            job: self.mapper.start(batch, parents, fanout),
            reemits,
            gathered,
        }
    }

    /// Waits for `mapping` and turns it into outputs: its re-emits, then
    /// its records in the order they were read. Only a tripped dead-letter
    /// limit fails it (fatal).
    pub(super) fn prepare(&mut self, mapping: &mut Mapping) -> Result<Prepared, Error> {
        let waiting = Instant::now();
        let (mapped, mapped_in) = mapping.job.finish(&self.mapper);
        let map_wait = waiting.elapsed();
        let fanout = Arc::clone(&mapping.job.fanout);
        let span = fanout.batch().clone();
        let _entered = span.enter();
        let mut totals = Totals::default();
        let mut counts = BatchCounts::new();
        let batch = mapping.batch();
        let mut outputs = Vec::with_capacity(batch.len() + mapping.reemits.len());
        for entity in &mapping.reemits {
            // Re-emits carry the batch's trace context.
            let traceparent = fanout.traceparent(None);
            outputs.push(outputs::reemit(entity, traceparent));
        }
        totals.reemitted = mapping.reemits.len() as u64;
        for (
            record,
            Mapped {
                transformed,
                seconds,
            },
        ) in batch.iter().zip(mapped)
        {
            counts.map_seconds.record(seconds);
            let partition = record.partition();
            let (output, verdict) = match transformed {
                Transformed::Canonical { output, kind } => {
                    totals.canonical += 1;
                    counts.produced(kind);
                    (Some(output), self.guard.passed(partition))
                }
                Transformed::DeadLetter { output, error } => {
                    totals.dead_letters += 1;
                    (Some(output), self.guard.failed(partition, &error))
                }
                Transformed::Unmapped { source, stream } => {
                    totals.unmapped += 1;
                    if self.unmapped.insert((source.clone(), stream.clone())) {
                        tracing::info!(%source, %stream, "no mapping for this stream; its raw records are skipped");
                    }
                    (None, self.guard.passed(partition))
                }
            };
            verdict.map_err(|tripped| {
                self.guard.reset();
                Error::DeadLetterLimit(tripped)
            })?;
            outputs.extend(output);
        }
        totals.raw = batch.len() as u64;
        Ok(Prepared {
            outputs,
            totals,
            counts,
            fanout,
            started: mapping.job.started,
            gathered: mapping.gathered,
            mapped: mapped_in,
            map_wait,
            sent: Duration::ZERO,
        })
    }

    /// Begins a transaction, sends `mapping`'s outputs and offsets, and
    /// starts the commit on the commit's thread. On failure the transaction is
    /// aborted, and `mapping`'s records and `later` (read after them)
    /// rewound; its re-emits stay in `mapping`.
    pub(super) fn produce(
        &mut self,
        mut prepared: Prepared,
        mapping: &mut Mapping,
        later: &[Record],
    ) -> Result<InFlight, BatchError> {
        let span = prepared.fanout.batch().clone();
        let _entered = span.enter();
        let outputs = std::mem::take(&mut prepared.outputs);
        let sending = Instant::now();
        let transacted = self.transact(outputs, mapping.batch());
        prepared.sent = sending.elapsed();
        let mut read = Positions::of(mapping.batch());
        match transacted {
            Ok((commit, offsets)) => Ok(InFlight {
                commit,
                offsets,
                read,
                reemits: std::mem::take(&mut mapping.reemits),
                prepared,
            }),
            Err(e) => {
                read.add(later);
                self.rewind(&read);
                Err(e)
            }
        }
    }

    fn transact(
        &mut self,
        outputs: Vec<Output>,
        batch: &[Record],
    ) -> Result<(CommitThread, Option<TopicPartitionList>), BatchError> {
        self.producer
            .begin_transaction()
            .map_err(BatchError::kafka)?;
        let sent = outputs
            .into_iter()
            .try_for_each(|output| self.send(output))
            .and_then(|()| self.send_offsets(batch));
        let offsets = match sent {
            Ok(offsets) => offsets,
            Err(e) => {
                self.abort();
                return Err(e);
            }
        };
        let producer = Arc::clone(&self.producer);
        let guard: CommitGuard = self.consumer.context().in_flight().start();
        let commit = self
            .committer
            .run(0, move || {
                let _running = guard;
                let committing = Instant::now();
                let committed = kafka::commit_transaction(&*producer, TRANSACTION_TIMEOUT);
                (committed, committing.elapsed())
            })
            .ok_or_else(|| BatchError::Fatal(Error::Kafka("no thread to commit on".into())))?;
        Ok((commit, offsets))
    }

    /// Waits for `in_flight`'s commit. Committed: records its counts and
    /// tells the consumer the offsets. Not: aborts, and rewinds its batch
    /// and `later` (the batches read after it, in order).
    pub(super) fn settle(
        &mut self,
        in_flight: InFlight,
        later: &[&[Record]],
    ) -> Result<(), Box<Failed>> {
        let InFlight {
            commit,
            offsets,
            mut read,
            reemits,
            prepared,
        } = in_flight;
        let waiting = Instant::now();
        let (committed, commit_took) = commit
            .wait()
            .unwrap_or((Err(KafkaError::Canceled), Duration::ZERO));
        let waited = waiting.elapsed();
        if let Err(e) = committed {
            self.abort();
            read.add(later.iter().flat_map(|b| b.iter()));
            self.rewind(&read);
            return Err(Box::new(Failed {
                error: BatchError::kafka(e),
                reemits,
            }));
        }
        if let Some(offsets) = offsets {
            self.store_offsets(&offsets);
        }
        let Prepared {
            totals,
            counts,
            fanout,
            started,
            gathered,
            mapped,
            map_wait,
            sent,
            ..
        } = prepared;
        counts.committed(&totals, &read, started.elapsed());
        // Where a batch's time went, for tuning: gathering it, mapping it
        // (and waiting for that), sending it, committing it (and waiting
        // here for that).
        tracing::debug!(
            parent: fanout.batch(),
            ?totals,
            gathered_ms = gathered.as_millis(),
            mapped_ms = mapped.as_millis(),
            map_wait_ms = map_wait.as_millis(),
            sent_ms = sent.as_millis(),
            commit_ms = commit_took.as_millis(),
            commit_wait_ms = waited.as_millis(),
            "batch committed"
        );
        // The mapping threads have let go of the spans by now.
        if let Ok(fanout) = Arc::try_unwrap(fanout) {
            fanout.finish();
        }
        self.totals.add(&totals);
        Ok(())
    }

    fn send(&self, output: Output) -> Result<(), BatchError> {
        let Output {
            topic,
            key,
            payload,
            headers,
        } = output;
        let topic = self.mapper.destinations.name(topic);
        let mut record = BaseRecord::<Vec<u8>, Vec<u8>>::to(topic).headers(headers);
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

    /// Adds `batch`'s offsets to the open transaction; returns them.
    fn send_offsets(&self, batch: &[Record]) -> Result<Option<TopicPartitionList>, BatchError> {
        if batch.is_empty() {
            return Ok(None);
        }
        let offsets = next_offsets(batch).map_err(BatchError::kafka)?;
        let group = self
            .consumer
            .group_metadata()
            .ok_or_else(|| BatchError::Retry("no consumer group metadata yet".into()))?;
        self.producer
            .send_offsets_to_transaction(&offsets, &group, TRANSACTION_TIMEOUT)
            .map_err(BatchError::kafka)?;
        Ok(Some(offsets))
    }
}

/// A commit on its thread: its result, and how long it took.
type CommitThread = Pending<(KafkaResult<()>, Duration)>;

/// The span continuing the trace of a raw record's page in this batch.
fn map_span(record: &Record) -> tracing::Span {
    let header = |name| record.header_text(name).unwrap_or_default();
    tracing::info_span!(
        parent: None,
        spans::MAP,
        source = header(headers::SOURCE),
        stream = header(headers::STREAM),
    )
}

/// The offset after the last record of each partition in `batch`.
fn next_offsets(batch: &[Record]) -> Result<TopicPartitionList, KafkaError> {
    let mut next: std::collections::BTreeMap<(&str, i32), i64> = Default::default();
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
