//! Reading the canonical topics the enrichment state is folded from: every
//! partition from offset 0, then following new records, on a thread of its
//! own, for as long as the transformer runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use canonflow_canonical::{Catalog, wire};
use canonflow_common::headers;
use canonflow_common::kafka::{KafkaConfig, partition_count};
use canonflow_common::topics::Topics;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::{Enrichment, Stamp};

/// librdkafka settings of the tail's consumer, unless the user's
/// `[kafka.properties]` name them: past start-up it follows a trickle, so
/// 4 MiB of prefetch, not the 16 of other consumers, for memory
/// (`docs/performance.md`, 2026-12-06).
pub const REFERENCES_DEFAULTS: &[(&str, &str)] = &[("queued.max.messages.kbytes", "4096")];

/// The running tail; stops when dropped.
#[derive(Debug)]
pub struct Tail {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts following the canonical topics of `enrichment`'s entities.
pub async fn start(
    kafka: &KafkaConfig,
    topics: &Topics,
    instance: &str,
    catalog: Arc<Catalog>,
    enrichment: Enrichment,
) -> Result<Tail, String> {
    let mut assignment = TopicPartitionList::new();
    for kind in enrichment.entities() {
        let topic = topics.canonical(kind.name());
        let partitions = partition_count(kafka, "transformer", &topic)
            .await
            .map_err(|e| format!("{topic}: {e}"))?;
        for partition in 0..partitions {
            // Offset 0, not "beginning" (docs/broker-compat.md, deviation 10).
            assignment
                .add_partition_offset(&topic, partition, Offset::Offset(0))
                .map_err(|e| e.to_string())?;
        }
    }
    // Assigned, never subscribed: the group id is only a name; nothing is
    // ever committed under it.
    let group = format!("{}-transformer-references-{instance}", topics.prefix);
    let mut config = kafka
        .consumer_config("transformer-references", &group)
        .map_err(|e| e.to_string())?;
    kafka.with_defaults(&mut config, REFERENCES_DEFAULTS);
    let consumer: BaseConsumer = config.create().map_err(|e| e.to_string())?;
    consumer.assign(&assignment).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("references".into())
        .spawn(move || follow(&consumer, &catalog, &enrichment, &stopping))
        .map_err(|e| e.to_string())?;
    Ok(Tail {
        stop,
        thread: Some(thread),
    })
}

fn follow(consumer: &BaseConsumer, catalog: &Catalog, enrichment: &Enrichment, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(e)) => tracing::warn!(error = %e, "reading canonical topics for enrichment"),
            Some(Ok(message)) => {
                // Only what this transformer's catalog wrote is state; other
                // records (e.g. a test's drain sentinels) are not.
                let Some(payload) = message.payload() else {
                    continue;
                };
                if confirmed(catalog, enrichment, &message, payload) {
                    continue;
                }
                match wire::decode_any(catalog, payload) {
                    Ok(entity) => enrichment.learn(&entity),
                    Err(e) => tracing::debug!(
                        topic = message.topic(),
                        partition = message.partition(),
                        offset = message.offset(),
                        error = %e,
                        "not a canonical entity; ignored for enrichment"
                    ),
                }
            }
        }
    }
}

/// Whether `message` is an entity enrichment reads back, stamped with
/// references that still hold, so that it has been learned from without
/// decoding it. Its stamp is the last header of that name, the one this
/// stage wrote; a raw record's could only come before it.
fn confirmed(
    catalog: &Catalog,
    enrichment: &Enrichment,
    message: &BorrowedMessage<'_>,
    payload: &[u8],
) -> bool {
    if !wire::kind(catalog, payload).is_ok_and(|kind| enrichment.enriches(kind)) {
        return false;
    }
    let stamp = message
        .headers()
        .and_then(|h| h.iter().filter(|h| h.key == headers::ENRICHED_FROM).last())
        .and_then(|h| Stamp::parse(h.value?));
    let id = message.key().and_then(|k| std::str::from_utf8(k).ok());
    match (stamp, id) {
        (Some(stamp), Some(id)) => enrichment.confirm(id, &stamp, payload),
        _ => false,
    }
}
