//! The writing side: takes prepared batches off the queue in order, writes
//! each in one database transaction (`write`), publishes its dead letters
//! and only then commits its offsets — nothing is committed that is not in
//! PostgreSQL.
//!
//! While PostgreSQL is unreachable it retries the same batch with backoff;
//! the queue fills and the consuming side pauses its partitions. A batch
//! gathered before the latest rebalance is written (harmless: versions
//! guard every row) but its offsets are left to the partitions' owners.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use canonflow_common::headers;
use canonflow_common::kafka::{self, GroupContext};
use canonflow_common::observe::trace::{Fanout, spans};
use canonflow_common::observe::{Dependency, health};
use canonflow_common::{ErrorClass, Shutdown};
use chrono::{SecondsFormat, Utc};
use futures::StreamExt as _;
use futures::stream::FuturesOrdered;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::pipeline::{Status, Totals};
use crate::prepare::{Batch, DeadLetter};
use crate::tables::Table;
use crate::write::{Applied, DbError, Rejected, TableRows, write};
use crate::{Error, metrics};

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long the writer waits for a batch before checking PostgreSQL.
const IDLE_PING: Duration = Duration::from_secs(5);

pub struct Writer {
    pub consumer: Arc<StreamConsumer<GroupContext>>,
    pub producer: FutureProducer,
    pub pool: PgPool,
    pub tables: Arc<HashMap<String, Table>>,
    pub dead_letter_topic: String,
    pub status: Arc<Status>,
}

/// A batch whose database side is done (or abandoned to shutdown).
struct Written {
    batch: Batch,
    fanout: Fanout,
    started: std::time::Instant,
    outcome: Result<Option<(Applied, Vec<Rejected>)>, Error>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Writes batches until the queue closes, or shutdown interrupts a
    /// retry (that batch is then not committed: its records are read again).
    ///
    /// Up to `concurrent` batches are written at once, so that PostgreSQL
    /// works on the next batch while the last chunks of one finish; their
    /// dead letters and offsets follow in queue order. Overlapping writes
    /// of one key are harmless (every row is version-guarded) and cannot
    /// deadlock (each table's rows go in key order; see `prepare`).
    pub async fn run(
        self,
        mut queue: mpsc::Receiver<Batch>,
        concurrent: usize,
        shutdown: Shutdown,
    ) -> Result<Totals, Error> {
        let mut totals = Totals::default();
        let mut writing = FuturesOrdered::new();
        let mut open = true;
        while open || !writing.is_empty() {
            tokio::select! {
                biased;
                Some(written) = writing.next() => {
                    if !self.finish(written, &mut totals).await? {
                        break;
                    }
                }
                received = queue.recv(), if open && writing.len() < concurrent.max(1) => match received {
                    Some(batch) => writing.push_back(self.write_only(batch, &shutdown)),
                    None => open = false,
                },
                () = tokio::time::sleep(IDLE_PING), if writing.is_empty() => self.ping().await,
            }
        }
        // Batches still in flight after a stop are abandoned uncommitted.
        drop(writing);
        kafka::close_with_deadline(self.producer, kafka::local::CLOSE_TIMEOUT);
        Ok(totals)
    }

    /// The database side of one batch, retried while PostgreSQL is away.
    async fn write_only(&self, batch: Batch, shutdown: &Shutdown) -> Written {
        let fanout = trace_batch(&batch.messages);
        let started = std::time::Instant::now();
        let outcome = self
            .write_with_retry(&batch, shutdown)
            .instrument(fanout.batch().clone())
            .await;
        Written {
            batch,
            fanout,
            started,
            outcome,
        }
    }

    /// After a batch is in PostgreSQL: publishes its dead letters and
    /// commits its offsets; `false` when shutdown came while PostgreSQL was
    /// unreachable.
    async fn finish(&self, written: Written, totals: &mut Totals) -> Result<bool, Error> {
        let Written {
            batch,
            fanout,
            started,
            outcome,
        } = written;
        let Some(done) = outcome? else {
            return Ok(false);
        };
        self.publish_and_commit(batch, done, started, totals)
            .instrument(fanout.batch().clone())
            .await?;
        fanout.finish();
        Ok(true)
    }

    async fn publish_and_commit(
        &self,
        mut batch: Batch,
        (applied, rejected): (Applied, Vec<Rejected>),
        started: std::time::Instant,
        totals: &mut Totals,
    ) -> Result<(), Error> {
        let rejected_rows = rejected.len();
        let mut dead = std::mem::take(&mut batch.dead);
        dead.extend(rejected.into_iter().map(|r| DeadLetter {
            index: r.index,
            error: r.error,
        }));
        metrics::database_error(ErrorClass::InvalidInput, rejected_rows);
        self.dead_letter(&batch.messages, &dead).await?;
        self.commit(&batch)?;
        metrics::batch_written(
            &batch.messages,
            applied,
            batch.superseded,
            dead.len(),
            started.elapsed(),
        );
        totals.records += batch.messages.len() as u64;
        totals.applied.add(applied);
        totals.superseded += batch.superseded;
        totals.dead_letters += dead.len() as u64;
        tracing::debug!(
            records = batch.messages.len(),
            ?applied,
            dead_letters = dead.len(),
            write_ms = started.elapsed().as_millis() as u64,
            "batch written"
        );
        Ok(())
    }

    /// While no batch comes, asks PostgreSQL for `select 1`, so that
    /// readiness knows it is gone before a write would.
    async fn ping(&self) {
        let answered = sqlx::query("select 1").execute(&self.pool).await;
        if let Err(e) = &answered {
            tracing::debug!(error = %e, "PostgreSQL does not answer");
        }
        health().set(Dependency::Postgres, answered.is_ok());
    }

    /// `None` when shutdown came while PostgreSQL was unreachable.
    async fn write_with_retry(
        &self,
        batch: &Batch,
        shutdown: &Shutdown,
    ) -> Result<Option<(Applied, Vec<Rejected>)>, Error> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let tables = batch
                .tables
                .iter()
                .map(|(topic, rows)| TableRows {
                    table: &self.tables[topic],
                    rows: &rows.upserts,
                    deletes: &rows.deletes,
                    tombstones: &rows.tombstones,
                })
                .collect();
            match write(&self.pool, tables).await {
                Ok(done) => return Ok(Some(done)),
                Err(DbError::Fatal(e)) => {
                    metrics::database_error(ErrorClass::Fatal, 1);
                    return Err(Error::Database(e));
                }
                Err(DbError::Retryable(e)) => {
                    metrics::database_error(ErrorClass::Retryable, 1);
                    self.status.write_retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, retry_in = ?backoff, "PostgreSQL unavailable; batch kept, consumption pauses when the queue is full");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.triggered() => return Ok(None),
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn dead_letter(
        &self,
        messages: &[OwnedMessage],
        dead: &[DeadLetter],
    ) -> Result<(), Error> {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        for letter in dead {
            let message = &messages[letter.index];
            let origin = headers::origin(message.topic(), message.partition(), message.offset());
            let out = headers::ErrorHeaders {
                stage: "sink",
                class: "invalid_input",
                message: &letter.error,
                path: "",
                time: &now,
                origin: &origin,
            }
            .add_to(
                message
                    .headers()
                    .map_or_else(OwnedHeaders::new, Clone::clone),
            );
            let mut record = FutureRecord::<[u8], [u8]>::to(&self.dead_letter_topic).headers(out);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            self.producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| Error::Kafka(format!("publishing a dead letter: {e}")))?;
        }
        Ok(())
    }

    /// Commits the offset after each partition's last record, unless the
    /// group rebalanced since the batch was gathered. Asynchronously: the
    /// next batch is written meanwhile (librdkafka sends commits in order),
    /// and a commit lost to a crash or refused after a rebalance only means
    /// records re-applied as no-ops.
    fn commit(&self, batch: &Batch) -> Result<(), Error> {
        if self.consumer.context().rebalances() != batch.generation {
            tracing::debug!(
                "batch gathered before a rebalance: written, offsets left to the partitions' owners"
            );
            return Ok(());
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in batch.next_offsets() {
            offsets
                .add_partition_offset(topic, partition, Offset::Offset(offset))
                .map_err(|e| Error::Kafka(e.to_string()))?;
        }
        if let Err(e) = self.consumer.commit(&offsets, CommitMode::Async) {
            tracing::warn!(error = %e, "offsets not committed (rebalanced?); the records will be re-applied as no-ops");
        }
        Ok(())
    }
}

/// The spans of a batch write: the batch's own, and a `write` branch per
/// trace its records carry (one per source page, usually).
fn trace_batch(messages: &[OwnedMessage]) -> Fanout {
    let mut fanout = Fanout::new(tracing::info_span!(
        parent: None,
        spans::WRITE_BATCH,
        records = messages.len(),
        trace_id = Empty,
    ));
    for message in messages {
        let parent = headers::text(message.headers(), headers::TRACEPARENT);
        fanout.carry(
            parent,
            1,
            || tracing::info_span!(parent: None, spans::WRITE, topic = message.topic()),
        );
    }
    fanout
}
