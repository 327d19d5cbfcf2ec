//! Small clients and reads shared by the broker-compatibility tests.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use canonflow_testkit::{Stack, unique};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::DEADLINE;

pub fn plain_producer(stack: &Stack, settings: &[(&str, &str)]) -> BaseProducer {
    let mut config = stack.kafka().producer_config("test").unwrap();
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config.create().unwrap()
}

pub fn transactional_producer(stack: &Stack) -> BaseProducer {
    transactional_producer_with(stack, &unique("txn"), &[])
}

/// A transactional producer with id `id`, initialized: an open transaction
/// of an earlier producer with the same id is aborted.
pub fn transactional_producer_with(
    stack: &Stack,
    id: &str,
    settings: &[(&str, &str)],
) -> BaseProducer {
    let mut config = stack
        .kafka()
        .transactional_producer_config("test", id)
        .unwrap();
    for (key, value) in settings {
        config.set(*key, *value);
    }
    let producer: BaseProducer = config.create().unwrap();
    producer.init_transactions(DEADLINE).unwrap();
    producer
}

pub fn send(producer: &BaseProducer, topic: &str, key: &str, value: &str, timestamp: Option<i64>) {
    let mut record = BaseRecord::to(topic).key(key).payload(value);
    if let Some(ms) = timestamp {
        record = record.timestamp(ms);
    }
    producer.send(record).map_err(|(e, _)| e).unwrap();
}

/// A consumer outside any group, reading one partition from `offset`.
pub fn assigned_consumer(
    stack: &Stack,
    topic: &str,
    partition: i32,
    offset: Offset,
) -> StreamConsumer {
    let consumer: StreamConsumer = stack
        .kafka()
        .consumer_config("test", &unique("g"))
        .unwrap()
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, offset)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    consumer
}

pub fn group_consumer(stack: &Stack, group: &str) -> StreamConsumer {
    stack
        .kafka()
        .consumer_config("test", group)
        .unwrap()
        .create()
        .unwrap()
}

/// Reads payloads until `done` holds for all read so far; panics after DEADLINE.
pub async fn read_until(
    consumer: &StreamConsumer,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let started = Instant::now();
    let mut payloads = Vec::new();
    while !done(&payloads) {
        assert!(
            started.elapsed() < DEADLINE,
            "gave up after {DEADLINE:?}; read {payloads:?}"
        );
        payloads.extend(next_payload(consumer, Duration::from_millis(200)).await);
    }
    payloads
}

/// Reads whatever arrives within `window`: for checking that nothing does.
pub async fn read_for(consumer: &StreamConsumer, window: Duration) -> Vec<String> {
    let started = Instant::now();
    let mut payloads = Vec::new();
    while started.elapsed() < window {
        payloads.extend(next_payload(consumer, Duration::from_millis(200)).await);
    }
    payloads
}

async fn next_payload(consumer: &StreamConsumer, wait: Duration) -> Option<String> {
    match tokio::time::timeout(wait, consumer.recv()).await {
        Ok(Ok(message)) => {
            Some(String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned())
        }
        Ok(Err(error)) => panic!("consume error: {error}"),
        Err(_) => None,
    }
}

/// Commits `offset` on partition 0 for `group` from a consumer that never joins it.
pub fn commit_offset(stack: &Stack, group: &str, topic: &str, offset: i64) {
    let consumer: BaseConsumer = stack
        .kafka()
        .consumer_config("test", group)
        .unwrap()
        .create()
        .unwrap();
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset(topic, 0, Offset::Offset(offset))
        .unwrap();
    consumer.commit(&offsets, CommitMode::Sync).unwrap();
}

/// The offset `group` has committed on partition 0 of `topic`, if any.
pub fn committed(stack: &Stack, group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer = stack
        .kafka()
        .consumer_config("test", group)
        .unwrap()
        .create()
        .unwrap();
    let mut query = TopicPartitionList::new();
    query.add_partition(topic, 0);
    let answer = consumer.committed_offsets(query, DEADLINE).unwrap();
    match answer.find_partition(topic, 0)?.offset() {
        Offset::Offset(offset) => Some(offset),
        _ => None,
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Records in partition 0 of `topic` read from `start` up to a sentinel.
pub async fn read_count(stack: &Stack, topic: &str, start: Offset) -> usize {
    let producer = plain_producer(stack, &[]);
    let sentinel = unique("sentinel");
    send(&producer, topic, &sentinel, "", None);
    producer.flush(DEADLINE).unwrap();
    let consumer = assigned_consumer(stack, topic, 0, start);
    let started = Instant::now();
    let mut count = 0;
    loop {
        assert!(started.elapsed() < DEADLINE, "no sentinel in {topic}");
        let Ok(Ok(message)) =
            tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await
        else {
            continue;
        };
        match message.key() {
            Some(key) if key == sentinel.as_bytes() => return count,
            Some(key) if key.starts_with(b"sentinel-") => {}
            _ => count += 1,
        }
    }
}
