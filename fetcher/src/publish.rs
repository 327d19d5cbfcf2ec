//! Publishing pages: their raw records, their dead letters and the
//! stream's checkpoint after them, in one Kafka transaction.
//!
//! One transactional producer per owned watermarks partition; its
//! transactional id names the partition, so a copy that takes over a
//! partition fences the previous owner's producer and aborts its open
//! transaction. Transactions of one process take turns (see `turns`); the
//! fetching itself runs concurrently, and a transaction carries as many
//! pages as a sync fetched meanwhile (`sync::BatchLimits`). The checkpoint
//! is sent only after every raw record of the transaction was acknowledged,
//! so it can never be visible without them. When the producer's queue is full, sending waits:
//! Kafka's backpressure slows fetching instead of growing memory.

use std::sync::Arc;
use std::time::Duration;

use canonflow_common::kafka::{self, KafkaConfig};
use canonflow_common::topics::Topics;
use canonflow_common::{Classify, ErrorClass};
use futures::future::try_join_all;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::sync::Semaphore;

use crate::checkpoint::{Checkpoint, PublishedOffset};

/// How long transaction calls may block.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("Kafka client configuration: {0}")]
    Config(#[from] canonflow_common::ConfigError),
    #[error("delivery was cancelled (producer closed)")]
    Cancelled,
    #[error("checkpoint could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

impl Classify for PublishError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Kafka(e) => e.class(),
            Self::Config(_) | Self::Encode(_) => ErrorClass::Fatal,
            Self::Cancelled => ErrorClass::Retryable,
        }
    }
}

/// A record to publish: key, exact payload bytes, headers.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub key: &'a str,
    pub payload: &'a [u8],
    pub headers: OwnedHeaders,
}

/// The transactional producer of one watermarks partition.
pub struct Publisher {
    producer: Arc<FutureProducer>,
    /// Shared by every publisher of the process: at most
    /// `fetcher.concurrent_transactions` open transactions at a time (by
    /// default one). On the local broker, overlapping transactions of
    /// several producers have hidden records from "earliest" readers and
    /// stalled `read_committed` readers (`docs/broker-compat.md`, deviation
    /// 10); batching pages per transaction keeps the throughput.
    turns: Arc<Semaphore>,
    topics: Topics,
    watermarks_partition: i32,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("watermarks_partition", &self.watermarks_partition)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Creates the producer and initializes transactions, which fences any
    /// earlier producer with the same id (a previous owner of the partition).
    pub async fn open(
        kafka: &KafkaConfig,
        topics: &Topics,
        watermarks_partition: i32,
        turns: Arc<Semaphore>,
    ) -> Result<Self, PublishError> {
        let id = format!("{}-fetcher-{watermarks_partition}", topics.prefix);
        let producer: FutureProducer = kafka
            .transactional_producer_config("fetcher", &id)?
            .create()?;
        let producer = Arc::new(producer);
        blocking(&producer, |p| p.init_transactions(TRANSACTION_TIMEOUT)).await?;
        Ok(Self {
            producer,
            turns,
            topics: topics.clone(),
            watermarks_partition,
        })
    }

    /// Publishes one page and its checkpoint atomically, recording the last
    /// raw offset per partition in the checkpoint. On error the transaction
    /// is aborted.
    pub async fn publish(
        &self,
        raw: Vec<Outgoing<'_>>,
        dead_letters: Vec<Outgoing<'_>>,
        checkpoint: &mut Checkpoint,
    ) -> Result<(), PublishError> {
        self.in_transaction(self.send_page(raw, dead_letters, checkpoint))
            .await
    }

    /// Runs `work` (which only sends) inside one transaction, taking this
    /// process's turn; commits if it succeeds, aborts otherwise.
    async fn in_transaction(
        &self,
        work: impl Future<Output = Result<(), PublishError>>,
    ) -> Result<(), PublishError> {
        let _turn = self
            .turns
            .acquire()
            .await
            .map_err(|_| PublishError::Cancelled)?;
        blocking(&self.producer, |p| p.begin_transaction()).await?;
        let outcome = match work.await {
            Ok(()) => blocking(&self.producer, |p| {
                kafka::commit_transaction(p, TRANSACTION_TIMEOUT)
            })
            .await
            .map_err(PublishError::from),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(e) => Err(self.abort(e).await),
        }
    }

    async fn send_page(
        &self,
        raw: Vec<Outgoing<'_>>,
        dead_letters: Vec<Outgoing<'_>>,
        checkpoint: &mut Checkpoint,
    ) -> Result<(), PublishError> {
        let raw_topic = self.topics.raw();
        let dlq_topic = self.topics.dead_letters("fetcher");
        let mut raw_deliveries = Vec::with_capacity(raw.len());
        for record in raw {
            raw_deliveries.push(self.enqueue(&raw_topic, record, None).await?);
        }
        let mut other = Vec::with_capacity(dead_letters.len() + 1);
        for record in dead_letters {
            other.push(self.enqueue(&dlq_topic, record, None).await?);
        }
        let raw_offsets = try_join_all(raw_deliveries.into_iter().map(delivered)).await?;
        try_join_all(other.into_iter().map(delivered)).await?;

        let mut published: Vec<PublishedOffset> = Vec::new();
        for (partition, offset) in raw_offsets {
            match published.iter_mut().find(|p| p.partition == partition) {
                Some(p) => p.offset = p.offset.max(offset),
                None => published.push(PublishedOffset { partition, offset }),
            }
        }
        published.sort_by_key(|p| p.partition);
        checkpoint.published = published;

        // Only now, with every raw record acknowledged, the checkpoint.
        let key = Checkpoint::key(&checkpoint.source, &checkpoint.stream);
        let value = serde_json::to_vec(checkpoint)?;
        let record = Outgoing {
            key: &key,
            payload: &value,
            headers: OwnedHeaders::new(),
        };
        let watermarks = self.topics.watermarks();
        // Not awaited: the commit flushes it, and fails if it failed.
        self.enqueue(&watermarks, record, Some(self.watermarks_partition))
            .await?;
        Ok(())
    }

    /// Enqueues one record (its headers move into librdkafka's message, not
    /// copied), waiting while the producer queue is full.
    async fn enqueue(
        &self,
        topic: &str,
        record: Outgoing<'_>,
        partition: Option<i32>,
    ) -> Result<DeliveryFuture, PublishError> {
        let mut future = FutureRecord::to(topic)
            .key(record.key)
            .payload(record.payload)
            .headers(record.headers);
        future.partition = partition;
        loop {
            match self.producer.send_result(future) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    future = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
    }

    async fn abort(&self, cause: PublishError) -> PublishError {
        if let Err(abort) =
            blocking(&self.producer, |p| p.abort_transaction(TRANSACTION_TIMEOUT)).await
        {
            tracing::error!(error = %abort, "could not abort the page's transaction");
            if abort.class() == ErrorClass::Fatal {
                return abort.into();
            }
        }
        cause
    }

    /// Closes the producer within the Kafka close deadline.
    pub fn close(self, deadline: Duration) {
        kafka::close_with_deadline(self.producer, deadline);
    }
}

async fn delivered(future: DeliveryFuture) -> Result<(i32, i64), PublishError> {
    match future.await {
        Ok(Ok(delivery)) => Ok((delivery.partition, delivery.offset)),
        Ok(Err((error, _))) => Err(error.into()),
        Err(_) => Err(PublishError::Cancelled),
    }
}

/// Runs a blocking producer call off the async workers.
async fn blocking<F>(producer: &Arc<FutureProducer>, call: F) -> Result<(), KafkaError>
where
    F: FnOnce(&FutureProducer) -> Result<(), KafkaError> + Send + 'static,
{
    let producer = Arc::clone(producer);
    tokio::task::spawn_blocking(move || call(&producer))
        .await
        .unwrap_or_else(|_| Err(KafkaError::Canceled))
}

/// Writes start-up sentinels: plain (non-transactional) records on a
/// watermarks partition. Reading one back proves every earlier checkpoint
/// there was read, without trusting the broker's end offset. Plain, not
/// transactional: it needs no atomicity, and is written after the
/// partition's [`Publisher`] was opened, whose initialization aborts any
/// transaction a killed predecessor left open there (an open transaction
/// holds back `read_committed` readers: `docs/broker-compat.md`,
/// deviation 11).
pub struct Sentinels {
    producer: FutureProducer,
    topic: String,
}

impl std::fmt::Debug for Sentinels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sentinels")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Sentinels {
    pub fn new(kafka: &KafkaConfig, topics: &Topics) -> Result<Self, PublishError> {
        Ok(Self {
            producer: kafka.producer_config("fetcher")?.create()?,
            topic: topics.watermarks(),
        })
    }

    /// Writes sentinel `id` to `partition` and waits until it is stored.
    pub async fn write(&self, partition: i32, id: &str) -> Result<(), PublishError> {
        let key = format!("{}{id}", crate::checkpoint::SENTINEL_PREFIX);
        let record = FutureRecord::to(&self.topic)
            .key(&key)
            .payload(&b"{}"[..])
            .partition(partition);
        self.producer
            .send(record, TRANSACTION_TIMEOUT)
            .await
            .map(|_| ())
            .map_err(|(error, _)| error.into())
    }
}
