//! The fetcher stage: pulls source APIs incrementally and publishes each
//! page's raw records together with the stream's checkpoint, atomically.
//!
//! The chain, one module each: `source` (configuration files) → `http`
//! (auth, rate limit, retries, breaker) → `paginate` (which page next) →
//! `records`/`page` (exact record bytes, keys, cursors) → `publish` (one
//! Kafka transaction per batch of pages) → `checkpoint` (the watermarks topic).
//! `ownership` and `runner` decide, through the consumer group on the
//! watermarks topic, which copy fetches which stream; `stream_task`
//! schedules each one. Nothing here commits a consumer offset: the
//! fetcher's position is its checkpoints.

mod batch;
pub mod checkpoint;
pub mod cursor;
pub mod http;
mod metrics;
mod ownership;
pub mod page;
pub mod paginate;
mod publish;
pub mod records;
mod runner;
pub mod settings;
pub mod source;
mod stream_task;
mod sync;

use std::sync::Arc;

use canonflow_common::config::{ConfigError, ConfigSource};
use canonflow_common::kafka::{self, AdminError, KafkaConfig, TopicSpec};
use canonflow_common::topics::Topics;
use canonflow_common::{Classify, ErrorClass, Shutdown};
use tokio::sync::Semaphore;

pub use settings::FetcherConfig;

/// Why the fetcher stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sources(#[from] source::SourceConfigError),
    #[error("source {source_name} (in {dir}): key `{key}`: {message}")]
    Source {
        source_name: String,
        dir: String,
        key: String,
        message: String,
    },
    #[error("preparing topics: {0}")]
    Admin(#[from] AdminError),
    #[error("publishing: {0}")]
    Publish(#[from] publish::PublishError),
    #[error("watermarks group consumer: {0}")]
    GroupConsumer(String),
    #[error("streams failed:\n  {}", .0.join("\n  "))]
    StreamsFailed(Vec<String>),
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Publish(e) => e.class(),
            _ => ErrorClass::Fatal,
        }
    }
}

/// The Kafka side every part of the fetcher shares.
#[derive(Debug, Clone)]
pub struct Plumbing {
    pub kafka: KafkaConfig,
    pub topics: Topics,
}

/// Runs the fetcher until `shutdown` (or, with `once`, until every owned
/// stream synced once).
pub async fn run(config: ConfigSource, shutdown: Shutdown) -> Result<(), Error> {
    let deployment = config.deployment()?;
    let settings: FetcherConfig = config.section("fetcher")?;
    let plumbing = Plumbing {
        kafka: deployment.kafka,
        topics: deployment.topics,
    };
    let sources = load_sources(&settings)?;
    tracing::debug!(sources = sources.len(), "sources loaded; preparing topics");
    prepare_topics(&plumbing, &settings).await?;
    let watermarks = plumbing.topics.watermarks();
    let partitions = kafka::partition_count(&plumbing.kafka, "fetcher", &watermarks).await?;
    tracing::debug!(partitions, "topics ready");
    let group = Shutdown::new();
    // A `once` run covers every stream itself rather than waiting for a
    // share that departed copies may still hold until their sessions expire.
    let membership = match settings.once {
        true => ownership::Membership::All { partitions },
        false => ownership::Membership::Group,
    };
    let events = ownership::start(
        &plumbing.kafka,
        &settings.group_id,
        &watermarks,
        membership,
        group.clone(),
    )
    .map_err(|e| Error::GroupConsumer(e.to_string()))?;
    tracing::info!(sources = sources.len(), partitions, group = %settings.group_id, "fetcher started");
    let sentinels = publish::Sentinels::new(&plumbing.kafka, &plumbing.topics)?;
    let result = runner::Coordinator::new(plumbing, settings, sources, partitions, sentinels)
        .run(events, shutdown)
        .await;
    group.trigger();
    result
}

fn load_sources(settings: &FetcherConfig) -> Result<Vec<runner::SourceRuntime>, Error> {
    let dir = settings.sources_dir.display().to_string();
    source::load_dir(&settings.sources_dir)?
        .into_iter()
        .map(|config| {
            let client =
                http::SourceClient::new(&config).map_err(|(key, message)| Error::Source {
                    source_name: config.name.clone(),
                    dir: dir.clone(),
                    key,
                    message,
                })?;
            Ok(runner::SourceRuntime {
                concurrency: Arc::new(Semaphore::new(config.limits.max_concurrent_streams)),
                client: Arc::new(client),
                config: Arc::new(config),
            })
        })
        .collect()
}

async fn prepare_topics(plumbing: &Plumbing, settings: &FetcherConfig) -> Result<(), AdminError> {
    let specs = topic_specs(&plumbing.topics, settings);
    kafka::ensure_topics(&plumbing.kafka, "fetcher", &specs).await
}

/// The fetcher's topics with their settings, as a start creates them (for
/// `canonflow topics create`).
pub fn topics(config: &ConfigSource) -> Result<Vec<TopicSpec>, Error> {
    let deployment = config.deployment()?;
    let settings: FetcherConfig = config.section("fetcher")?;
    Ok(topic_specs(&deployment.topics, &settings))
}

fn topic_specs(topics: &Topics, settings: &FetcherConfig) -> Vec<TopicSpec> {
    vec![
        TopicSpec {
            name: topics.raw(),
            partitions: settings.raw_partitions,
            // The raw topic is the system of record for replays.
            configs: vec![("retention.ms", "-1".into())],
        },
        TopicSpec {
            name: topics.watermarks(),
            partitions: settings.watermarks_partitions,
            configs: vec![("cleanup.policy", "compact".into())],
        },
        TopicSpec {
            name: topics.dead_letters("fetcher"),
            partitions: 1,
            configs: vec![("retention.ms", "-1".into())],
        },
    ]
}
