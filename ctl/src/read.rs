//! Reading a whole topic, from its first record to its end, for the
//! commands that inspect one (watermarks, dead letters).
//!
//! Each partition is read from offset 0 (not "beginning": broker-compat
//! deviation 10) until the consumer's position reaches the partition's end
//! offset. The local broker reports too low an end offset when the last
//! batch holds several records (deviation 3), but a fetch returns whole
//! batches, so the position then passes it with every record read. Where
//! the position cannot reach the end (a transaction still open on Apache
//! Kafka, read committed), reading stops after a quiet spell and says so.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use canonflow_common::kafka::{KafkaConfig, close_with_deadline};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::offsets::partitions_of;

/// How long without a record before a read stops short of the end.
const QUIET: Duration = Duration::from_secs(3);

/// What a read found.
#[derive(Debug, Default)]
pub struct Read {
    pub messages: Vec<OwnedMessage>,
    /// False when the topic does not exist.
    pub exists: bool,
    /// Partitions whose end was not reached (open transactions).
    pub short: Vec<i32>,
}

/// Every record of `topic`, in partition then offset order.
pub fn read_all(kafka: &KafkaConfig, topic: &str, deadline: Duration) -> anyhow::Result<Read> {
    let consumer: BaseConsumer = kafka
        .consumer_config("ctl", &format!("canonflow-ctl-{}", std::process::id()))?
        .create()?;
    let partitions = partitions_of(&consumer, topic)?;
    if partitions.is_empty() {
        return Ok(Read::default());
    }
    let mut assignment = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for p in &partitions {
        ends.insert(p.partition, p.end);
        assignment.add_partition_offset(topic, p.partition, Offset::Offset(0))?;
    }
    consumer.assign(&assignment)?;
    let started = Instant::now();
    let mut last_record = Instant::now();
    let mut messages = Vec::new();
    let short = loop {
        let behind = behind(&consumer, topic, &ends)?;
        if behind.is_empty() {
            break Vec::new();
        }
        anyhow::ensure!(
            started.elapsed() < deadline,
            "reading {topic} took longer than {deadline:?}"
        );
        if last_record.elapsed() > QUIET {
            break behind;
        }
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            messages.push(message?.detach());
            last_record = Instant::now();
        }
    };
    close_with_deadline(consumer, kafka.close_timeout());
    messages.sort_by_key(|m| (m.partition(), m.offset()));
    Ok(Read {
        messages,
        exists: true,
        short,
    })
}

/// Partitions whose position has not reached their end offset.
fn behind(
    consumer: &BaseConsumer,
    topic: &str,
    ends: &BTreeMap<i32, i64>,
) -> anyhow::Result<Vec<i32>> {
    let positions = consumer.position()?;
    Ok(ends
        .iter()
        .filter(|(partition, end)| {
            **end > 0
                && !positions
                    .find_partition(topic, **partition)
                    .is_some_and(|e| matches!(e.offset(), Offset::Offset(o) if o >= **end))
        })
        .map(|(partition, _)| *partition)
        .collect())
}
