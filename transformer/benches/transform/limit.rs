//! The physical limit: the raw topic copied as fast as the clients allow —
//! a plain group consumer feeding an idempotent producer, key, value and
//! headers unchanged, each record to its own partition number. No mapping,
//! no Avro, no transactions, no offsets committed.

use std::time::{Duration, Instant};

use canonflow_common::kafka::KafkaConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};

use crate::produce::{Acks, send};

/// Where the copy's producer differs from the transformer's, measured
/// faster for the copy (`docs/performance.md`, "Fewer reports, threads
/// kept, a longer linger"), so that the limit is the faster of the two:
/// - a report per delivery, which the transformer does without: the copy
///   counts them (always, to prove every copy acknowledged), and without
///   them it measured 127–135k records/s against 161–171k (why was not
///   established);
/// - librdkafka's 5 ms linger, not the transformer's 20 (~2 % faster),
///   unless `CANONFLOW_BENCH_KAFKA` names `linger.ms`.
pub const PRODUCER_OWN: &[(&str, &str)] =
    &[("delivery.report.only.error", "false"), ("linger.ms", "5")];

/// How the copy went.
#[derive(Debug)]
pub struct Copied {
    /// From subscribing to the last acknowledgement.
    pub elapsed: Duration,
    /// From subscribing to the first record received (the group join).
    pub first_record: Duration,
}

/// Copies `records` records from `from` to `to` (same partition count).
pub fn pass_through(kafka: &KafkaConfig, from: &str, to: &str, records: usize) -> Copied {
    let group = canonflow_testkit::unique("bench-limit");
    // With the transformer's own client defaults, so that only the
    // transforming differs, but for [`PRODUCER_OWN`].
    let mut consumer = kafka.consumer_config("bench-limit", &group).unwrap();
    kafka.with_defaults(&mut consumer, canonflow_transformer::CONSUMER_DEFAULTS);
    let consumer: BaseConsumer = consumer.create().unwrap();
    let mut producer = kafka.producer_config("bench-limit").unwrap();
    kafka.with_defaults(&mut producer, canonflow_transformer::PRODUCER_DEFAULTS);
    for (key, value) in PRODUCER_OWN {
        let forced = *key == "delivery.report.only.error";
        if forced || !kafka.properties.contains_key(*key) {
            producer.set(*key, *value);
        }
    }
    let producer: ThreadedProducer<Acks> = producer.create_with_context(Acks::default()).unwrap();
    let deadline = crate::deadline(records);
    let started = Instant::now();
    consumer.subscribe(&[from]).unwrap();
    let mut first_record = None;
    let mut consumed = 0;
    while consumed < records {
        assert!(
            started.elapsed() < deadline,
            "limit: {consumed} of {records} records consumed after {deadline:?}"
        );
        let message = match consumer.poll(Duration::from_millis(100)) {
            None => continue,
            Some(Err(e)) => panic!("limit: consuming: {e}"),
            Some(Ok(message)) => message,
        };
        first_record.get_or_insert_with(|| started.elapsed());
        let mut record = BaseRecord::to(to).partition(message.partition());
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        if let Some(headers) = message.headers() {
            record = record.headers(headers.detach());
        }
        send(&producer, record);
        consumed += 1;
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    let elapsed = started.elapsed();
    let acks = producer.context();
    assert_eq!(
        (acks.delivered(), acks.failed()),
        (records as u64, 0),
        "limit: copies acknowledged, failed"
    );
    Copied {
        elapsed,
        first_record: first_record.unwrap_or(elapsed),
    }
}
