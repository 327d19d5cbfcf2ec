//! When the tables do not match the source: where the missing versions
//! stopped. Prints, for the raw topic and each canonical topic, every
//! partition's committed offset of the group that consumes it next to
//! its last stable offset (what `read_committed` readers may read) and its
//! high watermark — a last stable offset stuck below the high watermark is
//! an open transaction holding readers back — plus each live copy's
//! `/metrics` readiness and lag lines, and which unmatched keys the raw
//! topic holds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use canonflow_testkit::Stack;
use canonflow_tests::pipeline::{DemoPipeline, Endpoint};
use rdkafka::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

/// Partitions of every pipeline topic in the demo pipeline's configuration.
const PARTITIONS: i32 = 2;

/// Prints the diagnosis of `unmatched` keys (`source/stream/id[: …]`).
pub async fn print(pipeline: &DemoPipeline, copies: &[Endpoint], unmatched: &[&String]) {
    let t = &pipeline.topics.topics;
    let groups = &pipeline.groups;
    let mut consumed = vec![(t.raw(), groups.transformer.clone())];
    for (_, table) in crate::TABLES {
        let entity = table.trim_start_matches("canonflow_");
        consumed.push((t.canonical(entity), groups.sink.clone()));
    }
    for (topic, group) in &consumed {
        for line in offsets(&pipeline.stack, topic, group).await {
            println!("diagnosis: {line}");
        }
    }
    for copy in copies {
        let metrics = copy.get("/metrics").await.map(|(_, text)| text);
        let ready = copy.get("/readyz").await;
        println!(
            "diagnosis: {:?} copy pid {}: readyz {:?}",
            copy.stage,
            copy.process.child.id(),
            ready
        );
        for line in metrics.iter().flat_map(|m| m.lines()) {
            if line.starts_with("canonflow_consumer_lag_records") {
                println!("diagnosis:   {line}");
            }
        }
    }
    let raw = t.raw();
    let committed = raw_keys(&pipeline.stack, &raw, "read_committed").await;
    let uncommitted = raw_keys(&pipeline.stack, &raw, "read_uncommitted").await;
    let holds = |keys: &HashMap<String, usize>| {
        unmatched
            .iter()
            .filter(|k| keys.contains_key(k.split(':').next().unwrap()))
            .count()
    };
    println!(
        "diagnosis: of {} unmatched keys, the raw topic holds {} read committed and {} read \
         uncommitted ({} and {} records in all)",
        unmatched.len(),
        holds(&committed),
        holds(&uncommitted),
        committed.values().sum::<usize>(),
        uncommitted.values().sum::<usize>(),
    );
}

/// One line per partition of `topic`: `group`'s committed offset, the
/// last stable offset and the high watermark.
async fn offsets(stack: &Stack, topic: &str, group: &str) -> Vec<String> {
    let client = |isolation: &str| -> BaseConsumer {
        let mut config = stack
            .kafka()
            .consumer_config("chaos-diagnosis", group)
            .unwrap();
        config.set("isolation.level", isolation);
        config.create().unwrap()
    };
    let (stable, plain) = (client("read_committed"), client("read_uncommitted"));
    let (topic, group) = (topic.to_owned(), group.to_owned());
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(10);
        let mut list = TopicPartitionList::new();
        for partition in 0..PARTITIONS {
            list.add_partition(&topic, partition);
        }
        let committed = plain.committed_offsets(list, timeout);
        (0..PARTITIONS)
            .map(|partition| {
                let at = committed
                    .as_ref()
                    .ok()
                    .and_then(|c| c.find_partition(&topic, partition))
                    .map(|e| e.offset());
                let last_stable = stable.fetch_watermarks(&topic, partition, timeout);
                let high = plain.fetch_watermarks(&topic, partition, timeout);
                format!(
                    "{topic}[{partition}]: committed {} {}, last stable {}, high watermark {}",
                    group,
                    match at {
                        Some(Offset::Offset(o)) => o.to_string(),
                        other => format!("{other:?}"),
                    },
                    last_stable.map_or_else(|e| e.to_string(), |(_, h)| h.to_string()),
                    high.map_or_else(|e| e.to_string(), |(_, h)| h.to_string()),
                )
            })
            .collect()
    })
    .await
    .unwrap()
}

/// The keys on `topic` and how often each occurs, read from the start at
/// `isolation` until nothing arrives for 5 s, for at most a minute (the
/// fetchers keep writing full-refresh streams).
async fn raw_keys(stack: &Stack, topic: &str, isolation: &str) -> HashMap<String, usize> {
    let mut config = stack
        .kafka()
        .consumer_config("chaos-diagnosis", "chaos-diagnosis")
        .unwrap();
    config.set("isolation.level", isolation);
    let consumer: StreamConsumer = config.create().unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        assignment
            .add_partition_offset(topic, partition, Offset::Offset(0))
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut keys = HashMap::new();
    // Bounded: the stage copies still run, and fetchers keep publishing.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && let Ok(Ok(message)) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
    {
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        *keys.entry(key).or_insert(0) += 1;
    }
    keys
}
