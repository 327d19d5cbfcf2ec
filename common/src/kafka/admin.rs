//! Creating the topics a stage needs, with their settings, if they do not
//! exist yet. Existing topics are left as they are (never altered).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::KafkaConfig;

/// A topic a stage needs.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    /// Topic configs, e.g. `("cleanup.policy", "compact")`.
    pub configs: Vec<(&'static str, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("Kafka client configuration: {0}")]
    Config(#[from] crate::ConfigError),
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("creating topic {topic}: {code}")]
    Create {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("topic {0} does not exist")]
    Missing(String),
}

/// Creates each topic that does not exist; replication is the broker's
/// default.
pub async fn ensure_topics(
    kafka: &KafkaConfig,
    role: &str,
    topics: &[TopicSpec],
) -> Result<(), AdminError> {
    let admin: AdminClient<DefaultClientContext> = kafka.client_config(role)?.create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|spec| {
            spec.configs.iter().fold(
                NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(-1)),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(AdminError::Create { topic, code }),
        }
    }
    Ok(())
}

/// The number of partitions of `topic`, from cluster metadata.
pub async fn partition_count(
    kafka: &KafkaConfig,
    role: &str,
    topic: &str,
) -> Result<i32, AdminError> {
    let consumer: BaseConsumer = kafka.client_config(role)?.create()?;
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(30))?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .map_or(0, |t| t.partitions().len());
        match partitions {
            0 => Err(AdminError::Missing(topic)),
            n => Ok(i32::try_from(n).unwrap_or(i32::MAX)),
        }
    })
    .await
    .unwrap_or_else(|_| Err(AdminError::Kafka(KafkaError::Canceled)))
}
