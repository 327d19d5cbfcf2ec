//! What the CLI asks Kafka about a stage's consumer group and its input
//! topics: the partitions with their first and end offsets, the group's
//! committed offsets and active members, offsets by time — and committing
//! new offsets for a group with no members.
//!
//! Every call is blocking (librdkafka's admin-style calls); callers run them
//! on a blocking thread. The consumer never joins the group, so dropping
//! it is quick (the slow close of deviation 7 follows a rebalance). Offsets are committed from a consumer that carries
//! the group's id but never joins it, which is how Kafka's own
//! `kafka-consumer-groups --reset-offsets` works too (and the only way
//! rdkafka has: broker-compat deviation 9).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use canonflow_common::config::ConfigSource;
use canonflow_common::kafka::KafkaConfig;
use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A stage's consumer group: `group_id` of its configuration section, or
/// the stage's default. Only that key is read; the stage checks the rest
/// of its section itself.
pub fn group_of(config: &ConfigSource, section: &str, default: &str) -> anyhow::Result<String> {
    #[derive(Debug, Default, serde::Deserialize)]
    struct Group {
        group_id: Option<String>,
    }
    let settings: Group = config.section_or_default(section)?;
    Ok(settings.group_id.unwrap_or_else(|| default.to_owned()))
}

/// A record's timestamp, if it has one.
pub type RecordTime = Option<DateTime<Utc>>;

/// One partition of an input topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub topic: String,
    pub partition: i32,
    /// The first offset still in the log.
    pub first: i64,
    /// The offset the next record will get (the high watermark).
    pub end: i64,
}

/// A consumer with `group`'s id that never joins the group.
pub struct GroupClient {
    consumer: BaseConsumer,
    group: String,
    kafka: KafkaConfig,
}

impl std::fmt::Debug for GroupClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupClient")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl GroupClient {
    pub fn new(kafka: &KafkaConfig, group: &str) -> anyhow::Result<Self> {
        Ok(Self {
            consumer: kafka.consumer_config("ctl", group)?.create()?,
            group: group.to_owned(),
            kafka: kafka.clone(),
        })
    }

    /// Every partition of `topics` (in order), with its offsets; a topic
    /// that does not exist is an error naming it.
    pub fn partitions(&self, topics: &[String]) -> anyhow::Result<Vec<Partition>> {
        let mut found = Vec::new();
        for topic in topics {
            let partitions = partitions_of(&self.consumer, topic)?;
            anyhow::ensure!(!partitions.is_empty(), "topic {topic} does not exist");
            found.extend(partitions);
        }
        Ok(found)
    }

    /// Like [`partitions`](Self::partitions) for one topic, but empty when
    /// the topic does not exist (yet).
    pub fn partitions_if_exist(&self, topic: &str) -> anyhow::Result<Vec<Partition>> {
        partitions_of(&self.consumer, topic)
    }

    /// The timestamp of the record at each `(partition, offset)`, read by
    /// one consumer outside the group (`None` for a record without one); a
    /// partition whose record does not arrive in time is missing.
    pub fn timestamps_at(
        &self,
        at: &[(&Partition, i64)],
    ) -> anyhow::Result<HashMap<(String, i32), RecordTime>> {
        let mut found = HashMap::new();
        if at.is_empty() {
            return Ok(found);
        }
        let reader: BaseConsumer = self
            .kafka
            .consumer_config("ctl", &format!("canonflow-ctl-{}", std::process::id()))?
            .create()?;
        let mut tpl = TopicPartitionList::new();
        for (p, offset) in at {
            tpl.add_partition_offset(&p.topic, p.partition, Offset::Offset(*offset))?;
        }
        reader.assign(&tpl)?;
        let deadline = std::time::Instant::now() + TIMEOUT;
        while found.len() < at.len() && std::time::Instant::now() < deadline {
            let Some(message) = reader.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = message?;
            let time = message
                .timestamp()
                .to_millis()
                .and_then(DateTime::from_timestamp_millis);
            found
                .entry((message.topic().to_owned(), message.partition()))
                .or_insert(time);
        }
        Ok(found)
    }

    /// The group's committed offset of each partition (`None`: none yet).
    pub fn committed(&self, partitions: &[Partition]) -> anyhow::Result<Vec<Option<i64>>> {
        let committed = self
            .consumer
            .committed_offsets(list(partitions, |_| Offset::Invalid)?, TIMEOUT)
            .with_context(|| format!("reading the committed offsets of group {}", self.group))?;
        Ok(partitions
            .iter()
            .map(|p| {
                committed
                    .find_partition(&p.topic, p.partition)
                    .and_then(|e| match e.offset() {
                        Offset::Offset(o) if o >= 0 => Some(o),
                        _ => None,
                    })
            })
            .collect())
    }

    /// The group's members, described as `client-id@host (member-id)`.
    /// On the local broker a group's members are not always listed
    /// (broker-compat deviation 12).
    pub fn members(&self) -> anyhow::Result<Vec<String>> {
        let groups = self
            .consumer
            .fetch_group_list(Some(&self.group), TIMEOUT)
            .with_context(|| format!("describing group {}", self.group))?;
        Ok(groups
            .groups()
            .iter()
            .filter(|g| g.name() == self.group)
            .flat_map(|g| g.members())
            .map(|m| format!("{}@{} ({})", m.client_id(), m.client_host(), m.id()))
            .collect())
    }

    /// For each partition, the first offset whose record is at or after
    /// `millis` (Unix time); `None` where no record is that new.
    pub fn offsets_for_time(
        &self,
        partitions: &[Partition],
        millis: i64,
    ) -> anyhow::Result<Vec<Option<i64>>> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let found = self
            .consumer
            .offsets_for_times(list(partitions, |_| Offset::Offset(millis))?, TIMEOUT)
            .context("looking up offsets by time")?;
        Ok(partitions
            .iter()
            .map(|p| {
                found
                    .find_partition(&p.topic, p.partition)
                    .and_then(|e| match e.offset() {
                        Offset::Offset(o) if o >= 0 => Some(o),
                        _ => None,
                    })
            })
            .collect())
    }

    /// Commits `offsets` (one per partition) for the group.
    pub fn commit(&self, partitions: &[Partition], offsets: &[i64]) -> anyhow::Result<()> {
        let mut next = offsets.iter();
        let tpl = list(partitions, |_| {
            Offset::Offset(next.next().copied().unwrap_or_default())
        })?;
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .with_context(|| format!("committing offsets for group {}", self.group))
    }
}

/// The partitions of `topic` with their first and end offsets, as
/// `consumer` reads them; empty when the topic does not exist.
pub fn partitions_of(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<Vec<Partition>> {
    let metadata = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .with_context(|| format!("reading the metadata of {topic}"))?;
    let count = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len() as i32);
    (0..count)
        .map(|partition| {
            let (first, end) = consumer
                .fetch_watermarks(topic, partition, TIMEOUT)
                .with_context(|| format!("reading the offsets of {topic}/{partition}"))?;
            Ok(Partition {
                topic: topic.to_owned(),
                partition,
                first,
                end,
            })
        })
        .collect()
}

fn list(
    partitions: &[Partition],
    mut offset: impl FnMut(&Partition) -> Offset,
) -> anyhow::Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(&p.topic, p.partition, offset(p))?;
    }
    Ok(tpl)
}
