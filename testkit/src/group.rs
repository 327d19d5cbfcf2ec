//! A consumer group's committed offsets, read and reset the way an operator
//! would: by a consumer with the group's id that never subscribes.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::Stack;

async fn partitions(stack: &Stack, topic: &str, offset: Option<Offset>) -> TopicPartitionList {
    let count = canonflow_common::kafka::partition_count(&stack.kafka(), "test", topic)
        .await
        .expect("the topic exists");
    let mut list = TopicPartitionList::new();
    for partition in 0..count {
        match offset {
            Some(offset) => {
                list.add_partition_offset(topic, partition, offset)
                    .expect("partition");
            }
            None => {
                list.add_partition(topic, partition);
            }
        }
    }
    list
}

fn consumer(stack: &Stack, group: &str) -> BaseConsumer {
    stack
        .kafka()
        .consumer_config("test", group)
        .expect("test Kafka settings are valid")
        .create()
        .expect("consumer")
}

/// The sum of `group`'s committed offsets over `topic`'s partitions (a
/// partition without one counts 0): how many records it has committed
/// when the topic's offsets start at 0.
pub async fn committed(stack: &Stack, group: &str, topic: &str) -> i64 {
    let list = partitions(stack, topic, None).await;
    let consumer = consumer(stack, group);
    let committed = tokio::task::spawn_blocking(move || {
        consumer.committed_offsets(list, Duration::from_secs(10))
    })
    .await
    .expect("joined")
    .expect("committed offsets");
    committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum()
}

/// Sets `group`'s committed offsets on `topic` back to 0, as a replay does.
pub async fn reset_offsets(stack: &Stack, group: &str, topic: &str) {
    let list = partitions(stack, topic, Some(Offset::Offset(0))).await;
    let consumer = consumer(stack, group);
    tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
        .await
        .expect("joined")
        .expect("offsets committed");
}

/// SIGKILLs the processes when dropped, so a failing test leaves none behind.
#[derive(Debug)]
pub struct KillOnDrop(pub Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .output();
        }
    }
}
