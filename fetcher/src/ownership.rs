//! Which streams this fetcher copy owns, decided by Kafka alone.
//!
//! Every copy joins the fetcher consumer group on the watermarks topic. A
//! stream's checkpoints live in one partition of that topic (see
//! `checkpoint::partition_for`); whoever is assigned the partition owns the
//! stream. The group consumer runs on a thread of its own and reports to the
//! coordinator: assignments, every checkpoint it reads (it reads its
//! partitions from the start; offsets are never committed), and
//! revocations — for which it waits until the coordinator has stopped the
//! streams concerned, so two copies never fetch one stream at once.

use std::sync::mpsc as sync_mpsc;
use std::time::Duration;

use canonflow_common::Shutdown;
use canonflow_common::kafka::KafkaConfig;
use canonflow_common::observe::{self, Stage};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Message, TopicPartitionList};
use tokio::sync::mpsc;

/// How long a revocation waits for the streams to stop.
const REVOKE_WAIT: Duration = Duration::from_secs(60);

/// What the group consumer tells the coordinator.
#[derive(Debug)]
pub enum GroupEvent {
    Assigned(Vec<i32>),
    /// The coordinator must stop these partitions' streams, then reply.
    Revoked(Vec<i32>, sync_mpsc::Sender<()>),
    /// A record read from the watermarks topic.
    Record {
        partition: i32,
        key: String,
        value: Vec<u8>,
    },
    /// A fatal consumer error; the coordinator stops.
    Failed(String),
}

struct Context {
    topic: String,
    events: mpsc::UnboundedSender<GroupEvent>,
}

impl ClientContext for Context {
    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        observe::kafka::record_statistics(Stage::Fetcher, &statistics);
    }
}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let partitions = partitions_of(list, &self.topic);
            if partitions.is_empty() {
                return;
            }
            let (done, wait) = sync_mpsc::channel();
            if self
                .events
                .send(GroupEvent::Revoked(partitions.clone(), done))
                .is_ok()
                && wait.recv_timeout(REVOKE_WAIT).is_err()
            {
                tracing::error!(
                    ?partitions,
                    "streams did not stop within {REVOKE_WAIT:?} of revocation"
                );
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        observe::kafka::record_rebalance(Stage::Fetcher);
        if let Rebalance::Assign(list) = rebalance {
            let _ = self
                .events
                .send(GroupEvent::Assigned(partitions_of(list, &self.topic)));
        }
    }
}

fn partitions_of(list: &TopicPartitionList, topic: &str) -> Vec<i32> {
    list.elements_for_topic(topic)
        .iter()
        .map(|e| e.partition())
        .collect()
}

/// How this copy comes to own partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Join the consumer group: partitions are shared among the copies.
    Group,
    /// Take every partition, outside the group (a single `once` run; the
    /// transactional ids still fence any other copy's producers).
    All { partitions: i32 },
}

/// Starts the watermarks consumer thread; events arrive on the returned
/// channel. The thread leaves the group when `shutdown` triggers.
pub fn start(
    kafka: &KafkaConfig,
    group_id: &str,
    topic: &str,
    membership: Membership,
    shutdown: Shutdown,
) -> Result<mpsc::UnboundedReceiver<GroupEvent>, rdkafka::error::KafkaError> {
    let (events, receiver) = mpsc::unbounded_channel();
    observe::health().depends_on(observe::Dependency::Kafka);
    let context = Context {
        topic: topic.to_owned(),
        events: events.clone(),
    };
    let config = kafka
        .stage_consumer_config(Stage::Fetcher, group_id)
        .map_err(|e| rdkafka::error::KafkaError::ClientCreation(e.to_string()))?;
    let consumer: BaseConsumer<Context> = config.create_with_context(context)?;
    match membership {
        Membership::Group => consumer.subscribe(&[topic])?,
        Membership::All { partitions } => {
            let mut all = TopicPartitionList::new();
            for partition in 0..partitions {
                // Offset 0, not "beginning": the local broker can report a
                // log start past the first records (broker-compat deviation 10).
                all.add_partition_offset(topic, partition, rdkafka::Offset::Offset(0))?;
            }
            consumer.assign(&all)?;
            let _ = events.send(GroupEvent::Assigned((0..partitions).collect()));
        }
    }
    let close_deadline = kafka.close_timeout();
    std::thread::Builder::new()
        .name("fetcher-group".into())
        .spawn(move || {
            poll_loop(&consumer, &events, &shutdown);
            consumer.unsubscribe();
            canonflow_common::kafka::close_with_deadline(consumer, close_deadline);
        })
        .map_err(|e| rdkafka::error::KafkaError::ClientCreation(e.to_string()))?;
    Ok(receiver)
}

fn poll_loop(
    consumer: &BaseConsumer<Context>,
    events: &mpsc::UnboundedSender<GroupEvent>,
    shutdown: &Shutdown,
) {
    while !shutdown.is_triggered() {
        observe::health().beat();
        let Some(result) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let event = match result {
            Ok(message) => GroupEvent::Record {
                partition: message.partition(),
                key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                value: message.payload().unwrap_or_default().to_vec(),
            },
            Err(error)
                if canonflow_common::Classify::class(&error)
                    == canonflow_common::ErrorClass::Fatal =>
            {
                GroupEvent::Failed(error.to_string())
            }
            Err(error) => {
                tracing::warn!(%error, "watermarks consumer error; continuing");
                continue;
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
}
