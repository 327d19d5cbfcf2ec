//! `canonflow watermarks show`: every stream's latest checkpoint — sync
//! state, watermark, progress, owner and age — read from the watermarks topic.
//!
//! Reads each partition up to its high watermark. That is exact here even on
//! the local broker (whose high watermark is wrong for multi-record batches,
//! see `docs/broker-compat.md`): every checkpoint is written in a transaction
//! of its own, so each batch holds one record.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use canonflow_common::Deployment;
use canonflow_fetcher::checkpoint::{Checkpoint, SENTINEL_PREFIX};
use chrono::Utc;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show every stream's sync state and watermark.
    Show {
        /// Seconds to spend reading the topic.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
}

pub async fn run(deployment: &Deployment, command: &Command) -> anyhow::Result<ExitCode> {
    let Command::Show { timeout_secs } = command;
    let topic = deployment.topics.watermarks();
    let kafka = deployment.kafka.clone();
    let deadline = Duration::from_secs(*timeout_secs);
    let latest =
        tokio::task::spawn_blocking(move || read_latest(&kafka, &topic, deadline)).await??;
    println!(
        "{:<28} {:<11} {:<26} {:>7} {:>9} {:>8}  owner",
        "source/stream", "state", "watermark", "pages", "records", "age"
    );
    for (key, c) in &latest {
        let watermark = match c.watermark() {
            Some(w) => serde_json::to_value(w)?
                .as_object()
                .and_then(|o| o.values().next().cloned())
                .map_or_else(String::new, |v| v.to_string().trim_matches('"').to_owned()),
            None => "-".to_owned(),
        };
        let age = (Utc::now() - c.updated_at).num_seconds();
        println!(
            "{key:<28} {:<11} {watermark:<26} {:>7} {:>9} {:>7}s  {}",
            format!("{:?}", c.state).to_lowercase(),
            c.pages,
            c.records,
            age,
            c.owner
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn read_latest(
    kafka: &canonflow_common::kafka::KafkaConfig,
    topic: &str,
    deadline: Duration,
) -> anyhow::Result<BTreeMap<String, Checkpoint>> {
    let consumer: BaseConsumer = kafka
        .consumer_config("ctl", &format!("canonflow-ctl-{}", std::process::id()))?
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len() as i32);
    anyhow::ensure!(
        partitions > 0,
        "topic {topic} does not exist: has a fetcher run yet?"
    );
    let mut assignment = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for partition in 0..partitions {
        let (_, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(10))?;
        ends.insert(partition, high);
        // Offset 0, not "beginning": see broker-compat deviation 10.
        assignment.add_partition_offset(topic, partition, Offset::Offset(0))?;
    }
    consumer.assign(&assignment)?;
    let started = Instant::now();
    let mut latest = BTreeMap::new();
    let done = |ends: &BTreeMap<i32, i64>| -> anyhow::Result<bool> {
        let positions = consumer.position()?;
        Ok(ends.iter().all(|(p, high)| {
            *high == 0
                || positions
                    .find_partition(topic, *p)
                    .is_some_and(|e| matches!(e.offset(), Offset::Offset(o) if o >= *high))
        }))
    };
    while !done(&ends)? {
        anyhow::ensure!(
            started.elapsed() < deadline,
            "reading {topic} took longer than {deadline:?}"
        );
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message?;
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        if key.starts_with(SENTINEL_PREFIX) {
            continue;
        }
        if let Ok(checkpoint) =
            serde_json::from_slice::<Checkpoint>(message.payload().unwrap_or_default())
        {
            latest.insert(key, checkpoint);
        }
    }
    canonflow_common::kafka::close_with_deadline(consumer, kafka.close_timeout());
    Ok(latest)
}
