//! The transformer stage: raw records to canonical entities, exactly once.
//!
//! [`run`] loads the mappings (`mapping`), prepares the canonical and
//! dead-letter topics, and runs the consume → map → produce loop
//! (`pipeline`) on a thread of its own: mapping is CPU work (spread over
//! `map_threads` mapping threads) and the Kafka transaction calls block.
//! Each raw record becomes one canonical entity
//! (Avro, Confluent wire format, on `<prefix>.canonical.<entity>`, keyed by
//! canonical id), one dead letter (`<prefix>.dlq.transformer`), or nothing
//! when its stream has no mapping.

mod drift;
pub mod enrich;
mod guard;
pub mod mapping;
mod metrics;
pub mod normalize;
mod outputs;
mod pipeline;
mod record;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use canonflow_canonical::Catalog;
use canonflow_common::config::{ConfigError, ConfigSource};
use canonflow_common::kafka::{self, AdminError, GroupContext, IdleExit, KafkaConfig, TopicSpec};
use canonflow_common::observe::Stage;
use canonflow_common::topics::Topics;
use canonflow_common::{Classify, ErrorClass, Shutdown};

pub use settings::TransformerConfig;

/// Why the transformer stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Mappings(#[from] mapping::MappingConfigError),
    #[error("no mappings in {0}: nothing to transform")]
    NoMappings(String),
    #[error("schema catalog: {0}")]
    Catalog(#[from] canonflow_canonical::catalog::CatalogError),
    #[error(transparent)]
    Registry(#[from] canonflow_canonical::registry::RegistryError),
    #[error("preparing topics: {0}")]
    Admin(#[from] AdminError),
    #[error("Kafka: {0}")]
    Kafka(String),
    #[error("stopped by the dead-letter limit: {0}")]
    DeadLetterLimit(#[from] guard::Tripped),
    #[error("the transformer thread failed: {0}")]
    Thread(String),
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        ErrorClass::Fatal
    }
}

/// Records handled, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub raw: u64,
    pub canonical: u64,
    pub dead_letters: u64,
    pub unmapped: u64,
    /// Entities published again, enriched by a late reference.
    pub reemitted: u64,
}

impl Totals {
    fn add(&mut self, other: &Self) {
        self.raw += other.raw;
        self.canonical += other.canonical;
        self.dead_letters += other.dead_letters;
        self.unmapped += other.unmapped;
        self.reemitted += other.reemitted;
    }
}

/// Runs the transformer until `shutdown` is triggered or a fatal error occurs.
pub async fn run(config: ConfigSource, shutdown: Shutdown) -> Result<(), Error> {
    let deployment = config.deployment()?;
    let settings: TransformerConfig = config.section("transformer")?;
    let mappings = mapping::Mappings::load(&settings.mappings_dir, settings.max_record_bytes)?;
    if mappings.is_empty() {
        return Err(Error::NoMappings(
            settings.mappings_dir.display().to_string(),
        ));
    }
    let topics = &deployment.topics;
    let catalog = canonflow_canonical::registry::catalog(
        settings.schema_registry.as_ref(),
        |kind| topics.canonical(kind.name()),
        &shutdown,
    )
    .await?;
    let catalog = Arc::new(catalog);
    prepare_topics(&deployment.kafka, &deployment.topics, &settings, &mappings).await?;
    let instance = settings
        .instance_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let enrichment = enrich::Enrichment::new(
        mappings.enrichments().to_vec(),
        settings.max_pending_enrichments,
        Arc::clone(&catalog),
    );
    // Follows the reference topics until `run` returns (stops on drop).
    let _tail = match enrichment.is_enabled() {
        true => Some(
            enrich::tail::start(
                &deployment.kafka,
                &deployment.topics,
                &instance,
                Arc::clone(&catalog),
                enrichment.clone(),
            )
            .await
            .map_err(Error::Kafka)?,
        ),
        false => None,
    };
    let pipeline = build(
        &deployment.kafka,
        deployment.topics,
        &settings,
        &instance,
        mappings,
        catalog,
        enrichment,
    )?;
    tracing::info!(group = %settings.group_id, "transformer started");
    let worker = tokio::task::spawn_blocking(move || {
        let mut pipeline = pipeline;
        let result = pipeline.run(&shutdown);
        let totals = pipeline.totals;
        tracing::info!(?totals, "transformer stopping");
        close(pipeline);
        result
    });
    worker.await.map_err(|e| Error::Thread(e.to_string()))?
}

async fn prepare_topics(
    kafka_config: &KafkaConfig,
    topics: &Topics,
    settings: &TransformerConfig,
    mappings: &mapping::Mappings,
) -> Result<(), AdminError> {
    let specs = topic_specs(topics, settings, mappings);
    kafka::ensure_topics(kafka_config, "transformer", &specs).await
}

/// The transformer's topics with their settings, as a start creates them
/// (for `canonflow topics create`): the canonical topic of each entity its
/// mappings produce, and its dead letters.
pub fn topics(config: &ConfigSource) -> Result<Vec<TopicSpec>, Error> {
    let deployment = config.deployment()?;
    let settings: TransformerConfig = config.section("transformer")?;
    let mappings = mapping::Mappings::load(&settings.mappings_dir, settings.max_record_bytes)?;
    Ok(topic_specs(&deployment.topics, &settings, &mappings))
}

fn topic_specs(
    topics: &Topics,
    settings: &TransformerConfig,
    mappings: &mapping::Mappings,
) -> Vec<TopicSpec> {
    let mut specs: Vec<TopicSpec> = mappings
        .entities()
        .into_iter()
        .map(|kind| TopicSpec {
            name: topics.canonical(kind.name()),
            partitions: settings.partitions,
            // Keyed by canonical id: the newest version of each entity is
            // what a new reader (the sink, enrichment) needs.
            configs: vec![("cleanup.policy", "compact".into())],
        })
        .collect();
    specs.push(TopicSpec {
        name: topics.dead_letters("transformer"),
        partitions: 1,
        configs: vec![("retention.ms", "-1".into())],
    });
    specs
}

/// librdkafka settings of the transformer's producer that its benchmark
/// found best (`docs/performance.md`, 2026-12-06); a user's
/// `[kafka.properties]` still win:
/// - LZ4: the broker's CPU per million raw records fell from 5.5 to 3.5 s;
/// - a delivery report only for a record that failed, which fails its
///   transaction anyway (the producer's context takes no per-record
///   opaque, so nothing is left unfreed): serving one per record took its
///   polling thread 0.6–0.7 s of CPU per million;
/// - 20 ms of linger, not 5: a transaction's records go in fewer, larger
///   requests (+4 %; 50 ms was slower). A commit waits the linger out for
///   its last records, so a quiet pipeline's transactions take ~15 ms
///   longer.
pub const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("compression.type", "lz4"),
    ("delivery.report.only.error", "true"),
    ("linger.ms", "20"),
];

/// librdkafka settings of the transformer's raw consumer, unless the
/// user's `[kafka.properties]` name them: 8 MiB of prefetch (not the 16 of
/// other consumers) keeps the transformer under 256 MiB with the LZ4
/// producer, at no cost in speed.
pub const CONSUMER_DEFAULTS: &[(&str, &str)] = &[("queued.max.messages.kbytes", "8192")];

fn build(
    kafka_config: &KafkaConfig,
    topics: Topics,
    settings: &TransformerConfig,
    instance: &str,
    mappings: mapping::Mappings,
    catalog: Arc<Catalog>,
    enrichment: enrich::Enrichment,
) -> Result<pipeline::Pipeline, Error> {
    let transactional_id = format!("{}-transformer-{instance}", topics.prefix);
    let kafka_error = |e: rdkafka::error::KafkaError| Error::Kafka(e.to_string());
    let mut producer =
        kafka_config.transactional_producer_config("transformer", &transactional_id)?;
    kafka_config.with_defaults(&mut producer, PRODUCER_DEFAULTS);
    let producer = producer.create().map_err(kafka_error)?;
    let mut consumer =
        kafka_config.stage_consumer_config(Stage::Transformer, &settings.group_id)?;
    kafka_config.with_defaults(&mut consumer, CONSUMER_DEFAULTS);
    let consumer = consumer
        .create_with_context(GroupContext::new(Stage::Transformer))
        .map_err(kafka_error)?;
    Ok(pipeline::Pipeline {
        consumer,
        producer: Arc::new(producer),
        mapper: pipeline::Mapper {
            mappings: Arc::new(mappings),
            enrichment,
            catalog,
            destinations: outputs::Destinations::new(&topics),
            topics,
            drift: settings
                .watch_drift
                .then(|| Arc::new(std::sync::Mutex::new(drift::DriftWatch::default()))),
            threads: pipeline::Threads::new("transformer-map", settings.map_threads),
        },
        committer: pipeline::Threads::new("transaction-commit", 1),
        batch_records: settings.transaction_records.max(1),
        batch_time: Duration::from_millis(settings.transaction_max_ms),
        guard: guard::Guard::new(settings.dead_letter_limit.clone()),
        idle: IdleExit::new(settings.exit_when_idle_secs.map(Duration::from_secs)),
        totals: Totals::default(),
        unmapped: std::collections::HashSet::new(),
    })
}

/// Closes the clients without hanging on the local broker (deviation 7).
fn close(pipeline: pipeline::Pipeline) {
    let timeout = kafka::local::CLOSE_TIMEOUT;
    let pipeline::Pipeline {
        consumer, producer, ..
    } = pipeline;
    if !kafka::close_with_deadline(consumer, timeout) {
        tracing::warn!("consumer close timed out");
    }
    if !kafka::close_with_deadline(producer, timeout) {
        tracing::warn!("producer close timed out");
    }
}
