//! What the Kafka clients tell about a stage: connectivity and consumer lag
//! from librdkafka's statistics (every `statistics.interval.ms`, set by
//! `KafkaConfig::consumer_config`), and how far behind the records a stage
//! has just finished with are, from their timestamps.

use std::collections::BTreeMap;

use rdkafka::Message;
use rdkafka::message::Timestamp;
use rdkafka::statistics::Statistics;

use super::{Dependency, Stage, health, names};

/// Updates the broker-connection gauge, Kafka readiness and the records
/// lag of every assigned partition from one statistics report.
pub fn record_statistics(stage: Stage, statistics: &Statistics) {
    let up = statistics
        .brokers
        .values()
        .filter(|b| b.state == "UP" && matches!(b.source.as_str(), "learned" | "configured"))
        .count();
    metrics::gauge!(names::KAFKA_BROKERS_UP, "stage" => stage.as_str()).set(up as f64);
    health().set(Dependency::Kafka, up > 0);
    for (topic, t) in &statistics.topics {
        for (partition, p) in &t.partitions {
            // -1 is librdkafka's "unassigned" pseudo-partition; a negative
            // lag means "not known yet".
            // The transformer commits through its producer's transactions:
            // its consumer knows the stored offsets, not the committed ones.
            let lag = if p.consumer_lag >= 0 {
                p.consumer_lag
            } else {
                p.consumer_lag_stored
            };
            tracing::trace!(
                stage = stage.as_str(),
                topic,
                partition,
                lag = p.consumer_lag,
                lag_stored = p.consumer_lag_stored,
                fetch_state = p.fetch_state,
                committed = p.committed_offset,
                stored = p.stored_offset,
                high = p.hi_offset,
                stable = p.ls_offset,
                "partition statistics"
            );
            if *partition < 0 || lag < 0 || p.fetch_state == "none" {
                continue;
            }
            metrics::gauge!(
                names::CONSUMER_LAG_RECORDS,
                "stage" => stage.as_str(),
                "topic" => topic.clone(),
                "partition" => partition.to_string(),
            )
            .set(lag as f64);
        }
    }
}

/// After a batch is done with (its effects durable): sets each partition's
/// lag in seconds from the newest record's timestamp. Call once per batch,
/// not per record.
pub fn record_processed<'a, M: Message + 'a>(
    stage: Stage,
    messages: impl IntoIterator<Item = &'a M>,
) {
    let mut newest: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for m in messages {
        if let Some(ms) = timestamp_ms(m) {
            let entry = newest.entry((m.topic(), m.partition())).or_insert(ms);
            *entry = (*entry).max(ms);
        }
    }
    record_newest(stage, newest);
}

/// A record's timestamp in ms since the epoch, if it has one.
pub fn timestamp_ms(message: &impl Message) -> Option<i64> {
    match message.timestamp() {
        Timestamp::CreateTime(ms) | Timestamp::LogAppendTime(ms) => Some(ms),
        Timestamp::NotAvailable => None,
    }
}

/// [`record_processed`] for a batch already let go of: each partition's
/// newest record timestamp (ms), by topic and partition.
pub fn record_newest<'a>(stage: Stage, newest: impl IntoIterator<Item = ((&'a str, i32), i64)>) {
    let now = chrono::Utc::now().timestamp_millis();
    for ((topic, partition), ms) in newest {
        metrics::gauge!(
            names::CONSUMER_LAG_SECONDS,
            "stage" => stage.as_str(),
            "topic" => topic.to_owned(),
            "partition" => partition.to_string(),
        )
        .set((now - ms).max(0) as f64 / 1000.0);
    }
}

/// Counts an assignment change of the stage's consumer.
pub fn record_rebalance(stage: Stage) {
    metrics::counter!(names::CONSUMER_REBALANCES, "stage" => stage.as_str()).increment(1);
}
