//! The consume → write → commit loop.
//!
//! Canonical records are gathered into a batch (by count or time), decoded,
//! reduced to the newest version per key, and written in one database
//! transaction (`write`). Only then are dead letters published and, once
//! acknowledged, the offsets committed: nothing is committed that is not in
//! PostgreSQL. While PostgreSQL is unreachable the loop retries the same
//! batch with backoff and consumes nothing more. A batch gathered across a
//! rebalance is dropped before it is written (every partition then resumes
//! from its committed offset; see `GroupContext`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::wire::{self, WireError};
use canonflow_canonical::{Canonical, Catalog};
use canonflow_common::Shutdown;
use canonflow_common::headers;
use canonflow_common::kafka::{GroupContext, IdleExit};
use chrono::{SecondsFormat, Utc};
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sqlx::PgPool;

use crate::Error;
use crate::tables::{Coordinates, Table, row};
use crate::write::{Applied, DbError, TableRows, write};

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Records handled, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub records: u64,
    pub applied: Applied,
    /// Older versions of a key in the same batch, dropped before writing.
    pub superseded: u64,
    pub dead_letters: u64,
}

pub struct Sink {
    pub consumer: StreamConsumer<GroupContext>,
    pub producer: FutureProducer,
    pub pool: PgPool,
    pub catalog: Catalog,
    /// Each canonical topic's table.
    pub tables: HashMap<String, Table>,
    pub dead_letter_topic: String,
    pub batch_records: usize,
    pub batch_time: Duration,
    /// When to stop a job-style run (`exit_when_idle_secs`).
    pub idle: IdleExit,
    pub totals: Totals,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

/// Entities with the index of their record in the batch.
type Indexed = Vec<(usize, Canonical<Attributes>)>;

/// A record that goes to the dead-letter topic instead of a table.
struct DeadLetter {
    index: usize,
    error: String,
}

impl Sink {
    pub async fn run(&mut self, shutdown: &Shutdown) -> Result<(), Error> {
        let topics: Vec<&str> = self.tables.keys().map(String::as_str).collect();
        self.consumer
            .subscribe(&topics)
            .map_err(|e| Error::Kafka(format!("subscribing to {topics:?}: {e}")))?;
        while !shutdown.is_triggered() {
            let batch = self.gather(shutdown).await;
            if batch.is_empty() {
                if self.idle.due(&self.consumer) {
                    tracing::info!("no canonical records for the configured idle time; exiting");
                    break;
                }
                continue;
            }
            self.idle.active();
            self.apply(&batch, shutdown).await?;
        }
        Ok(())
    }

    /// Up to `batch_records` records or `batch_time` of consuming; what was
    /// gathered before a rebalance is dropped.
    async fn gather(&self, shutdown: &Shutdown) -> Vec<OwnedMessage> {
        let mut seen = self.consumer.context().rebalances();
        let deadline = tokio::time::Instant::now() + self.batch_time;
        let mut batch = Vec::new();
        while batch.len() < self.batch_records {
            let received = tokio::select! {
                received = tokio::time::timeout_at(deadline, self.consumer.recv()) => received,
                () = shutdown.triggered() => return Vec::new(),
            };
            if self.consumer.context().rebalanced_since(&mut seen) && !batch.is_empty() {
                tracing::debug!(
                    dropped = batch.len(),
                    "group rebalanced; records gathered before dropped"
                );
                batch.clear();
            }
            match received {
                Err(_) => break,
                Ok(Ok(message)) => batch.push(message.detach()),
                Ok(Err(e)) => tracing::warn!(error = %e, "consumer error"),
            }
        }
        batch
    }

    /// Writes one batch, publishes its dead letters, commits its offsets.
    async fn apply(&mut self, batch: &[OwnedMessage], shutdown: &Shutdown) -> Result<(), Error> {
        let (entities, mut dead) = self.decode(batch)?;
        let (newest, superseded) = newest_per_key(entities);
        // Each table's upserts and (where configured) hard deletes.
        type Rows = Vec<(usize, String)>;
        let mut by_table: BTreeMap<&str, (Rows, Rows)> = BTreeMap::new();
        for (index, entity) in &newest {
            let message = &batch[*index];
            let at = Coordinates {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
            };
            let (upserts, deletes) = by_table.entry(message.topic()).or_default();
            let hard_delete = entity.deleted && self.tables[message.topic()].hard_delete;
            let target = if hard_delete { deletes } else { upserts };
            target.push((*index, row(entity, &at)));
        }
        let mut backoff = Duration::from_millis(200);
        let (applied, rejected) = loop {
            let tables = by_table
                .iter()
                .map(|(topic, (rows, deletes))| TableRows {
                    table: &self.tables[*topic],
                    rows: rows.as_slice(),
                    deletes: deletes.as_slice(),
                })
                .collect();
            match write(&self.pool, tables).await {
                Ok(done) => break done,
                Err(DbError::Fatal(e)) => return Err(Error::Database(e)),
                Err(DbError::Retryable(e)) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "PostgreSQL unavailable; consumption paused, batch kept");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        // Nothing was committed: the next owner re-reads the batch.
                        () = shutdown.triggered() => return Ok(()),
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        dead.extend(rejected.into_iter().map(|r| DeadLetter {
            index: r.index,
            error: r.error,
        }));
        self.dead_letter(batch, &dead).await?;
        self.commit(batch)?;
        self.totals.records += batch.len() as u64;
        self.totals.applied.add(applied);
        self.totals.superseded += superseded;
        self.totals.dead_letters += dead.len() as u64;
        tracing::debug!(
            records = batch.len(),
            ?applied,
            dead_letters = dead.len(),
            "batch written"
        );
        Ok(())
    }

    /// Each record as an entity of its topic's type, or a dead letter; a
    /// schema this sink does not know stops it (it cannot hold the fields).
    fn decode(&self, batch: &[OwnedMessage]) -> Result<(Indexed, Vec<DeadLetter>), Error> {
        let mut entities = Vec::with_capacity(batch.len());
        let mut dead = Vec::new();
        for (index, message) in batch.iter().enumerate() {
            let table = &self.tables[message.topic()];
            let Some(payload) = message.payload() else {
                dead.push(DeadLetter {
                    index,
                    error: "a tombstone: canonical deletes are records with deleted = true, which carry their version".into(),
                });
                continue;
            };
            match wire::decode_any(&self.catalog, payload) {
                Ok(entity) if entity.attributes.kind() == table.kind => {
                    entities.push((index, entity))
                }
                Ok(entity) => dead.push(DeadLetter {
                    index,
                    error: format!(
                        "a {} entity on the {} topic",
                        entity.attributes.kind(),
                        table.kind
                    ),
                }),
                Err(WireError::UnknownSchema(id)) => {
                    return Err(Error::UnknownSchema {
                        id,
                        topic: message.topic().to_owned(),
                        entity: table.kind.name(),
                    });
                }
                Err(e) => dead.push(DeadLetter {
                    index,
                    error: e.to_string(),
                }),
            }
        }
        Ok((entities, dead))
    }

    async fn dead_letter(&self, batch: &[OwnedMessage], dead: &[DeadLetter]) -> Result<(), Error> {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        for letter in dead {
            let message = &batch[letter.index];
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

    /// Commits the offset after each partition's last record of `batch`. A
    /// commit refused after a rebalance is not an error: the partition's
    /// new owner re-applies the records, which changes nothing.
    fn commit(&self, batch: &[OwnedMessage]) -> Result<(), Error> {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for m in batch {
            let entry = next.entry((m.topic(), m.partition())).or_insert(0);
            *entry = (*entry).max(m.offset() + 1);
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            offsets
                .add_partition_offset(topic, partition, Offset::Offset(offset))
                .map_err(|e| Error::Kafka(e.to_string()))?;
        }
        if let Err(e) = self.consumer.commit(&offsets, CommitMode::Sync) {
            tracing::warn!(error = %e, "offsets not committed (rebalanced?); the records will be re-applied as no-ops");
        }
        Ok(())
    }
}

/// The newest version of each key; returns them and how many were older.
fn newest_per_key(entities: Indexed) -> (Indexed, u64) {
    let total = entities.len();
    let mut newest: HashMap<(String, String, String), (usize, Canonical<Attributes>)> =
        HashMap::new();
    for (index, entity) in entities {
        let key = (
            entity.source.clone(),
            entity.stream.clone(),
            entity.source_id.clone(),
        );
        let newer = newest
            .get(&key)
            .is_none_or(|(_, known)| entity.version.ordering_key() > known.version.ordering_key());
        if newer {
            newest.insert(key, (index, entity));
        }
    }
    let mut kept: Vec<_> = newest.into_values().collect();
    kept.sort_by_key(|(index, _)| *index);
    let superseded = (total - kept.len()) as u64;
    (kept, superseded)
}
