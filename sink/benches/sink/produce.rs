//! Loading the canonical topics before anything is timed: one generation
//! of entities in the wire format, keyed by canonical id, produced as fast
//! as the client allows and all acknowledged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use canonflow_canonical::{Catalog, EntityKind, wire};
use canonflow_common::kafka::KafkaConfig;
use canonflow_common::topics::Topics;
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};

use crate::entities::Generator;

/// Counts deliveries.
#[derive(Debug, Default)]
pub struct Acks {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let counter = match result {
            Ok(_) => &self.delivered,
            Err(_) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What one generation put on its topics.
#[derive(Debug)]
pub struct Loaded {
    /// Wire-format bytes (Avro plus the 5-byte header).
    pub bytes: u64,
    /// Records per entity type, in [`EntityKind::ALL`] order.
    pub per_kind: [usize; 5],
    pub elapsed: Duration,
}

/// Produces `generation` of every entity to its canonical topic under
/// `topics`, and waits until all are acknowledged.
pub fn load(kafka: &KafkaConfig, topics: &Topics, generator: Generator, generation: u32) -> Loaded {
    let started = Instant::now();
    let producer: ThreadedProducer<Acks> = kafka
        .producer_config("bench-load")
        .unwrap()
        .set("linger.ms", "50")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        // As the transformer writes them (its `PRODUCER_DEFAULTS`).
        .set("compression.type", "lz4")
        .create_with_context(Acks::default())
        .unwrap();
    let catalog = Catalog::embedded().unwrap();
    let names: Vec<String> = EntityKind::ALL
        .iter()
        .map(|kind| topics.canonical(kind.name()))
        .collect();
    let mut loaded = Loaded {
        bytes: 0,
        per_kind: [0; 5],
        elapsed: Duration::ZERO,
    };
    for index in 0..generator.records {
        let entity = generator.entity(index, generation);
        let kind = entity.attributes.kind();
        let slot = slot(kind);
        let payload = wire::encode(&catalog, kind, &entity).unwrap();
        let record = BaseRecord::to(&names[slot])
            .key(entity.canonical_id.as_bytes())
            .payload(&payload[..]);
        send(&producer, record);
        loaded.bytes += payload.len() as u64;
        loaded.per_kind[slot] += 1;
    }
    producer.flush(Duration::from_secs(300)).unwrap();
    let acks = producer.context();
    assert_eq!(
        (
            acks.delivered.load(Ordering::Relaxed),
            acks.failed.load(Ordering::Relaxed)
        ),
        (generator.records as u64, 0),
        "canonical records acknowledged, failed"
    );
    loaded.elapsed = started.elapsed();
    loaded
}

/// Position of `kind` in [`EntityKind::ALL`].
pub fn slot(kind: EntityKind) -> usize {
    EntityKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or_default()
}

/// Sends `record`, waiting while the producer's local queue is full.
fn send(producer: &ThreadedProducer<Acks>, mut record: BaseRecord<'_, [u8], [u8]>) {
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("producing: {e}"),
        }
    }
}
