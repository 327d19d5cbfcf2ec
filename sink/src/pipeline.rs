//! The consuming side: gather canonical records into a batch (by count or
//! time), prepare it (`prepare`), and hand it to the writer (`writer`)
//! through a bounded queue, so that the next batch is decoded while the
//! last one is written.
//!
//! When the queue is full the assignment is paused: the consumer keeps
//! polling (so this copy stays in its group, however long PostgreSQL is
//! away) but fetches nothing, and memory stays bounded. Records gathered
//! before a rebalance are dropped (every partition then resumes from its
//! committed offset; see `GroupContext`). This side never commits.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use canonflow_canonical::registry::{self, RegistryConfig};
use canonflow_canonical::{Catalog, EntityKind};
use canonflow_common::Shutdown;
use canonflow_common::kafka::{GroupContext, IdleExit};
use canonflow_common::observe::health;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use tokio::sync::mpsc::{self, OwnedPermit, error::TrySendError};

use crate::Error;
use crate::prepare::{Batch, prepare};
use crate::tables::Table;
use crate::write::Applied;

/// Records handled, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub records: u64,
    pub applied: Applied,
    /// Older versions of a key in the same batch, dropped before writing.
    pub superseded: u64,
    pub dead_letters: u64,
}

/// What a running sink is doing, readable while it runs (tests, and the
/// health and metrics endpoints to come).
#[derive(Debug, Default)]
pub struct Status {
    /// Records received from Kafka (gathered, not necessarily written).
    pub consumed: AtomicU64,
    /// Whether the partitions are paused because the queue is full.
    pub paused: AtomicBool,
    /// How often the queue filled and the partitions were paused.
    pub pauses: AtomicU64,
    /// Batch writes retried because PostgreSQL was unavailable.
    pub write_retries: AtomicU64,
}

pub struct Consume {
    pub consumer: Arc<StreamConsumer<GroupContext>>,
    pub catalog: Catalog,
    /// Each canonical topic's table.
    pub tables: Arc<HashMap<String, Table>>,
    pub batch_records: usize,
    pub batch_time: Duration,
    /// When to stop a job-style run (`exit_when_idle_secs`).
    pub idle: IdleExit,
    pub queue: mpsc::Sender<Batch>,
    pub status: Arc<Status>,
    /// Where to look up a schema id this sink does not know.
    pub registry: Option<RegistryConfig>,
    /// The group's rebalance count as of the last poll.
    pub seen: u64,
    /// Records received while waiting for room in the queue: the start of
    /// the next batch.
    pub carry: Vec<OwnedMessage>,
}

impl std::fmt::Debug for Consume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consume")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Consume {
    /// Consumes until shutdown, idle exit, a fatal error, or the writer
    /// stopping (which then says why).
    pub async fn run(&mut self, shutdown: &Shutdown) -> Result<(), Error> {
        let topics: Vec<&str> = self.tables.keys().map(String::as_str).collect();
        self.consumer
            .subscribe(&topics)
            .map_err(|e| Error::Kafka(format!("subscribing to {topics:?}: {e}")))?;
        crate::metrics::started();
        while !shutdown.is_triggered() {
            health().beat();
            let started = Instant::now();
            let messages = self.gather(shutdown).await;
            if messages.is_empty() {
                if self.idle.due(&*self.consumer) {
                    tracing::info!("no canonical records for the configured idle time; exiting");
                    break;
                }
                continue;
            }
            self.idle.active();
            let (records, gathered) = (messages.len(), started.elapsed());
            let batch = match prepare(messages, self.seen, &self.catalog, &self.tables) {
                Err(Error::UnknownSchema {
                    id, topic, entity, ..
                }) => return Err(self.unknown_schema(id, topic, entity).await),
                prepared => prepared?,
            };
            let prepared = started.elapsed();
            if !self.enqueue(batch, shutdown).await {
                break;
            }
            // Where the consuming side's time goes, batch by batch.
            tracing::debug!(
                records,
                gather_ms = gathered.as_millis() as u64,
                prepare_ms = (prepared - gathered).as_millis() as u64,
                queue_wait_ms = (started.elapsed() - prepared).as_millis() as u64,
                "batch queued"
            );
        }
        Ok(())
    }

    /// The fatal error for a record under schema id `id`, naming the fields
    /// the tables cannot hold when the schema registry can say which.
    async fn unknown_schema(&self, id: u32, topic: String, entity: EntityKind) -> Error {
        let fields = match &self.registry {
            None => "a newer transformer wrote fields these tables cannot hold (with a schema registry configured, the sink names them)".to_owned(),
            Some(registry) => match registry::unknown_fields(registry, id, entity).await {
                Ok(fields) if !fields.is_empty() => {
                    format!("it has fields these tables cannot hold: {}", fields.join(", "))
                }
                Ok(_) => "the registry's schema under that id has no field these tables lack, but it is not the schema this sink registered".to_owned(),
                Err(e) => format!("a newer transformer wrote fields these tables cannot hold ({e})"),
            },
        };
        Error::UnknownSchema {
            id,
            topic,
            entity,
            fields,
        }
    }

    /// Up to `batch_records` records or `batch_time` of consuming; what was
    /// gathered before a rebalance is dropped.
    async fn gather(&mut self, shutdown: &Shutdown) -> Vec<OwnedMessage> {
        let deadline = tokio::time::Instant::now() + self.batch_time;
        let mut batch = std::mem::take(&mut self.carry);
        while batch.len() < self.batch_records {
            let received = tokio::select! {
                received = tokio::time::timeout_at(deadline, self.consumer.recv()) => received,
                () = shutdown.triggered() => return Vec::new(),
            };
            match received {
                Err(_) => break,
                Ok(received) => self.keep(&mut batch, received.map(|m| m.detach())),
            }
        }
        batch
    }

    /// Adds what one poll returned to `batch`, first dropping what was
    /// gathered before a rebalance that poll ran.
    fn keep(
        &mut self,
        batch: &mut Vec<OwnedMessage>,
        received: Result<OwnedMessage, rdkafka::error::KafkaError>,
    ) {
        if self.consumer.context().rebalanced_since(&mut self.seen) && !batch.is_empty() {
            tracing::debug!(
                dropped = batch.len(),
                "group rebalanced; records gathered before dropped"
            );
            batch.clear();
        }
        match received {
            Ok(message) => {
                self.status.consumed.fetch_add(1, Ordering::Relaxed);
                batch.push(message);
            }
            Err(e) => tracing::warn!(error = %e, "consumer error"),
        }
    }

    /// Hands `batch` to the writer, waiting (paused) while the queue is
    /// full. False when the writer has stopped or shutdown came.
    async fn enqueue(&mut self, batch: Batch, shutdown: &Shutdown) -> bool {
        let permit = match self.queue.clone().try_reserve_owned() {
            Ok(permit) => permit,
            Err(TrySendError::Closed(_)) => return false,
            Err(TrySendError::Full(queue)) => match self.wait_for_room(queue, shutdown).await {
                Some(permit) => permit,
                None => return false,
            },
        };
        permit.send(batch);
        true
    }

    /// Pauses the assignment until the queue has room. A rebalance in the
    /// meantime brings a new, unpaused assignment: what it delivers is kept
    /// for the next batch, and the assignment paused again.
    async fn wait_for_room(
        &mut self,
        queue: mpsc::Sender<Batch>,
        shutdown: &Shutdown,
    ) -> Option<OwnedPermit<Batch>> {
        self.status.pauses.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("the writer is behind: partitions paused until a batch is written");
        self.set_paused(true);
        let reserve = queue.reserve_owned();
        tokio::pin!(reserve);
        let permit = loop {
            tokio::select! {
                permit = &mut reserve => break permit.ok(),
                received = self.consumer.recv() => {
                    let received = received.map(|m| m.detach());
                    let mut carry = std::mem::take(&mut self.carry);
                    self.keep(&mut carry, received);
                    self.carry = carry;
                    self.set_paused(true);
                }
                () = shutdown.triggered() => break None,
            }
        };
        self.set_paused(false);
        permit
    }

    fn set_paused(&self, paused: bool) {
        let result = self.consumer.assignment().and_then(|assignment| {
            if paused {
                self.consumer.pause(&assignment)
            } else {
                self.consumer.resume(&assignment)
            }
        });
        match result {
            Ok(()) => self.status.paused.store(paused, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(error = %e, paused, "could not pause or resume the assignment")
            }
        }
    }
}
