//! Reading a topic to its end without trusting the broker's end offset
//! (wrong on the local broker: see `docs/broker-compat.md`): write a
//! sentinel to every partition, read until each partition's sentinel.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::{Stack, unique};

/// Key prefix of drain sentinels; consumers under test may meet them.
pub const DRAIN_SENTINEL_PREFIX: &str = "__drain__/";

/// Every record in `topic` (all partitions, from the start), sentinels
/// excluded. Panics after `deadline`, or if the topic does not exist.
pub async fn drain(stack: &Stack, topic: &str, deadline: Duration) -> Vec<OwnedMessage> {
    drain_if_exists(stack, topic, deadline)
        .await
        .unwrap_or_else(|| panic!("topic {topic} does not exist"))
}

/// Like [`drain`], but `None` while the topic does not exist yet.
pub async fn drain_if_exists(
    stack: &Stack,
    topic: &str,
    deadline: Duration,
) -> Option<Vec<OwnedMessage>> {
    let kafka = stack.kafka();
    let partitions = canonflow_common::kafka::partition_count(&kafka, "test-drain", topic)
        .await
        .ok()?;
    let producer: FutureProducer = kafka
        .producer_config("test-drain")
        .expect("config")
        .create()
        .expect("producer");
    let sentinel = format!("{DRAIN_SENTINEL_PREFIX}{}", unique("s"));
    for partition in 0..partitions {
        producer
            .send(
                FutureRecord::to(topic)
                    .key(&sentinel)
                    .payload("")
                    .partition(partition),
                Duration::from_secs(10),
            )
            .await
            .expect("sentinel produced");
    }
    let consumer: StreamConsumer = kafka
        .consumer_config("test-drain", &unique("drain"))
        .expect("config")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            // Offset 0, not "beginning": the local broker can report a log
            // start past the first records (broker-compat deviation 10).
            .add_partition_offset(topic, partition, Offset::Offset(0))
            .expect("partition");
    }
    consumer.assign(&assignment).expect("assign");

    let started = Instant::now();
    let mut seen_sentinel = HashSet::new();
    let mut records = Vec::new();
    while seen_sentinel.len() < partitions as usize {
        assert!(
            started.elapsed() < deadline,
            "draining {topic}: sentinels seen on {} of {partitions} partitions after {deadline:?} \
             (a transaction left open by a killed producer holds read_committed readers back: \
             docs/broker-compat.md, deviation 11)",
            seen_sentinel.len()
        );
        let Ok(received) = tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await
        else {
            continue;
        };
        let message = received.expect("consume");
        let key = message.key().unwrap_or_default();
        if key.starts_with(DRAIN_SENTINEL_PREFIX.as_bytes()) {
            if key == sentinel.as_bytes() {
                seen_sentinel.insert(message.partition());
            }
        } else {
            records.push(message.detach());
        }
    }
    Some(records)
}
