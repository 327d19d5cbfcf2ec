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
    #[error(
        "no Kafka broker answered at {servers} within {waited:?}; check kafka.bootstrap_servers \
         (CANONFLOW__KAFKA__BOOTSTRAP_SERVERS), the network, and kafka.security_protocol: {cause}"
    )]
    Unreachable {
        servers: String,
        waited: Duration,
        cause: KafkaError,
    },
}

/// How long creating topics may wait for the cluster to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

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
    let options = AdminOptions::new()
        .operation_timeout(Some(ANSWER_TIMEOUT))
        .request_timeout(Some(ANSWER_TIMEOUT));
    let results = admin
        .create_topics(&new, &options)
        .await
        .map_err(|cause| match cause {
            KafkaError::AdminOp(RDKafkaErrorCode::OperationTimedOut) => AdminError::Unreachable {
                servers: kafka.bootstrap_servers.clone(),
                waited: ANSWER_TIMEOUT,
                cause,
            },
            other => AdminError::Kafka(other),
        })?;
    for result in results {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A broker nobody answers at is named, with the key to fix, instead of
    /// librdkafka's bare "Local: Timed out".
    #[tokio::test]
    async fn an_unreachable_broker_is_named_with_the_key_to_fix() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let kafka = KafkaConfig::local(closed.to_string());
        let spec = TopicSpec {
            name: "t".into(),
            partitions: 1,
            configs: Vec::new(),
        };
        let error = ensure_topics(&kafka, "test", &[spec]).await.unwrap_err();
        assert!(matches!(error, AdminError::Unreachable { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&closed.to_string()) && message.contains("kafka.bootstrap_servers"),
            "{message}"
        );
    }
}
