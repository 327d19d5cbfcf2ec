//! Producing as fast as the client allows: a producer context that counts
//! acknowledgements, a send that waits out a full local queue, and the
//! loader that fills the raw topic before anything is timed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use canonflow_common::headers;
use canonflow_common::kafka::KafkaConfig;
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};

use crate::records::Generator;

/// Counts deliveries; the first failure is kept for the report.
#[derive(Debug, Default)]
pub struct Acks {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl Acks {
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
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

/// Sends `record`, waiting while the producer's local queue is full (its
/// own thread is delivering); any other error ends the benchmark.
pub fn send(producer: &ThreadedProducer<Acks>, mut record: BaseRecord<'_, [u8], [u8]>) {
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

/// What the loader wrote to the raw topic.
#[derive(Debug)]
pub struct Loaded {
    pub bytes: u64,
    pub updates: usize,
    /// Records per stream, in [`crate::records::MIX`] order.
    pub per_stream: [usize; 6],
    pub elapsed: Duration,
}

/// Produces `records` generated raw records to `topic` with a plain
/// (non-transactional) producer tuned for throughput, and waits until all
/// are acknowledged.
pub fn load(kafka: &KafkaConfig, topic: &str, records: usize, seed: u64) -> Loaded {
    let started = Instant::now();
    let producer: ThreadedProducer<Acks> = kafka
        .producer_config("bench-load")
        .unwrap()
        .set("linger.ms", "50")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create_with_context(Acks::default())
        .unwrap();
    let mut generator = Generator::new(seed);
    let mut loaded = Loaded {
        bytes: 0,
        updates: 0,
        per_stream: [0; 6],
        elapsed: Duration::ZERO,
    };
    for _ in 0..records {
        let raw = generator.next_record();
        let headers = OwnedHeaders::new_with_capacity(2)
            .insert(Header {
                key: headers::SOURCE,
                value: Some(raw.stream.source()),
            })
            .insert(Header {
                key: headers::STREAM,
                value: Some(raw.stream.name()),
            });
        let record = BaseRecord::to(topic)
            .key(raw.key.as_bytes())
            .payload(&raw.payload[..])
            .headers(headers);
        send(&producer, record);
        loaded.bytes += raw.payload.len() as u64;
        loaded.updates += usize::from(raw.update);
        loaded.per_stream[raw.stream.slot()] += 1;
    }
    producer.flush(Duration::from_secs(300)).unwrap();
    let acks = producer.context();
    assert_eq!(
        (acks.delivered(), acks.failed()),
        (records as u64, 0),
        "raw records acknowledged, failed"
    );
    loaded.elapsed = started.elapsed();
    loaded
}
