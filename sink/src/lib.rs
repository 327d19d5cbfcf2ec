//! The sink stage: canonical entities into PostgreSQL tables, newest
//! version wins.
//!
//! [`run`] connects to PostgreSQL (its schema from `[sink] schema`),
//! applies the embedded migrations (`migrations/`), and runs two sides
//! joined by a bounded queue of batches: consuming and preparing
//! (`pipeline`, `prepare`), and writing then committing (`writer`):
//! batched upserts, in chunks of their own transactions (`write`,
//! `tables`, `columns`), rows PostgreSQL refuses to the sink's dead-letter
//! topic, offsets committed only after the database commit.

pub mod columns;
mod metrics;
mod pipeline;
mod prepare;
pub mod settings;
pub mod tables;
mod write;
mod writer;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_common::config::{ConfigError, ConfigSource};
use canonflow_common::kafka::{self, AdminError, GroupContext, IdleExit, TopicSpec};
use canonflow_common::observe::{self, Stage};
use canonflow_common::postgres::PostgresConfig;
use canonflow_common::topics::Topics;
use canonflow_common::{Classify, ErrorClass, Shutdown};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub use pipeline::{Status, Totals};
pub use settings::SinkConfig;

/// Why the sink stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid [sink] settings: {0}")]
    Settings(String),
    #[error("schema catalog: {0}")]
    Catalog(#[from] canonflow_canonical::catalog::CatalogError),
    #[error(transparent)]
    Registry(#[from] canonflow_canonical::registry::RegistryError),
    #[error("preparing topics: {0}")]
    Admin(#[from] AdminError),
    #[error("Kafka: {0}")]
    Kafka(String),
    #[error("PostgreSQL: {0}")]
    Database(String),
    #[error("migrating the canonical tables: {0}")]
    Migrate(String),
    #[error(
        "schema id {id} on {topic} is not a {entity} schema this sink knows: {fields}; upgrade the sink (its migrations add the columns)"
    )]
    UnknownSchema {
        id: u32,
        topic: String,
        entity: EntityKind,
        /// What the newer schema has that the tables cannot hold.
        fields: String,
    },
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        ErrorClass::Fatal
    }
}

/// The embedded migrations, applied under an advisory lock.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// librdkafka settings of the sink's consumer, unless the user's
/// `[kafka.properties]` name them: 2 MiB of prefetch, not the 16 of other
/// consumers. The limit counts the LZ4-compressed batches as fetched; a
/// heap profile showed 8 MiB of them holding ~50 MB once decompressed and
/// queued. 8 → 2 MiB: peak RSS 234–245 → 200–211 MiB at the same rate
/// (`docs/performance.md`, "The sink's prefetch", 2026-12-06).
pub const CONSUMER_DEFAULTS: &[(&str, &str)] = &[("queued.max.messages.kbytes", "2048")];

/// Runs the sink until `shutdown` is triggered or a fatal error occurs.
pub async fn run(config: ConfigSource, shutdown: Shutdown) -> Result<Totals, Error> {
    run_with_status(config, shutdown, Arc::default()).await
}

/// The pool, once a first connection works. Where the pool only says it
/// timed out, one direct attempt tells why (refused, authentication, TLS),
/// so the error names the server and the cause.
async fn connect(options: PgConnectOptions, max_connections: u32) -> Result<sqlx::PgPool, Error> {
    const WAIT: Duration = Duration::from_secs(10);
    let pooled = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(WAIT)
        .connect_with(options.clone())
        .await;
    match pooled {
        Ok(pool) => Ok(pool),
        Err(sqlx::Error::PoolTimedOut) => {
            let attempt = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options).await;
            let cause = match attempt {
                Ok(_) => "connections work again; start again".to_owned(),
                Err(e) => e.to_string(),
            };
            Err(Error::Database(format!(
                "no connection to {}:{} (database {}) within {WAIT:?}: {cause}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or("<default>"),
            )))
        }
        Err(e) => Err(Error::Database(e.to_string())),
    }
}

/// The sink's topic (its dead letters) with its settings, as a start
/// creates it (for `canonflow topics create`).
pub fn topics(config: &ConfigSource) -> Result<Vec<TopicSpec>, Error> {
    Ok(topic_specs(&config.deployment()?.topics))
}

fn topic_specs(topics: &Topics) -> Vec<TopicSpec> {
    vec![TopicSpec {
        name: topics.dead_letters("sink"),
        partitions: 1,
        configs: vec![("retention.ms", "-1".into())],
    }]
}

/// [`run`], reporting what it does in `status` as it runs.
pub async fn run_with_status(
    config: ConfigSource,
    shutdown: Shutdown,
    status: Arc<Status>,
) -> Result<Totals, Error> {
    // Not ready until connected.
    observe::health().depends_on(observe::Dependency::Postgres);
    let deployment = config.deployment()?;
    let settings: SinkConfig = config.section_or_default("sink")?;
    settings.validate().map_err(Error::Settings)?;
    let postgres: PostgresConfig = deployment
        .postgres
        .clone()
        .ok_or_else(|| Error::Settings("[postgres] url is not set".into()))?;
    let kinds = entities(&settings)?;
    let options = PgConnectOptions::from_str(postgres.url.expose_secret())
        .map_err(|e| Error::Database(format!("postgres.url: {e}")))?
        .options([("search_path", settings.schema.as_str())]);
    let pool = connect(options, postgres.max_connections).await?;
    if settings.migrate {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| Error::Migrate(e.to_string()))?;
    }
    // Reachable now; the writer says when that changes.
    observe::health().set(observe::Dependency::Postgres, true);
    let topics = deployment.topics.clone();
    let dead_letter_topic = topics.dead_letters("sink");
    kafka::ensure_topics(&deployment.kafka, "sink", &topic_specs(&topics)).await?;
    for name in &settings.hard_delete {
        if EntityKind::from_name(name).is_none() {
            return Err(Error::Settings(format!(
                "sink.hard_delete: unknown entity {name:?}"
            )));
        }
    }
    let tables: HashMap<String, tables::Table> = kinds
        .iter()
        .map(|kind| {
            let hard_delete = settings.hard_delete.iter().any(|n| n == kind.name());
            let table = tables::Table::new(*kind, hard_delete);
            (topics.canonical(kind.name()), table)
        })
        .collect();
    let tables = Arc::new(tables);
    let kafka_error = |e: rdkafka::error::KafkaError| Error::Kafka(e.to_string());
    let mut consumer = deployment
        .kafka
        .stage_consumer_config(Stage::Sink, &settings.group_id)?;
    deployment
        .kafka
        .with_defaults(&mut consumer, CONSUMER_DEFAULTS);
    let consumer = Arc::new(
        consumer
            .create_with_context(GroupContext::new(Stage::Sink))
            .map_err(kafka_error)?,
    );
    let catalog = canonflow_canonical::registry::catalog(
        settings.schema_registry.as_ref(),
        |kind| topics.canonical(kind.name()),
        &shutdown,
    )
    .await?;
    let (queue, queued) = tokio::sync::mpsc::channel(settings.queue_batches.max(1));
    let writer = writer::Writer {
        consumer: Arc::clone(&consumer),
        producer: deployment
            .kafka
            .producer_config("sink")?
            .create()
            .map_err(kafka_error)?,
        pool,
        tables: Arc::clone(&tables),
        dead_letter_topic,
        status: Arc::clone(&status),
    };
    let writing = tokio::spawn(writer.run(queued, settings.concurrent_batches, shutdown.clone()));
    let mut consume = pipeline::Consume {
        consumer,
        catalog,
        tables,
        batch_records: settings.batch_records.max(1),
        batch_time: Duration::from_millis(settings.batch_max_ms),
        idle: IdleExit::new(settings.exit_when_idle_secs.map(Duration::from_secs)),
        queue,
        status,
        registry: settings.schema_registry.clone(),
        seen: 0,
        carry: Vec::new(),
    };
    tracing::info!(group = %settings.group_id, schema = %settings.schema, "sink started");
    let consumed = consume.run(&shutdown).await;
    let pipeline::Consume {
        consumer, queue, ..
    } = consume;
    // Closing the queue lets the writer finish what is queued, then stop.
    drop(queue);
    let written = writing
        .await
        .map_err(|e| Error::Database(format!("the writer task failed: {e}")))?;
    kafka::close_with_deadline(consumer, kafka::local::CLOSE_TIMEOUT);
    let totals = written?;
    consumed?;
    tracing::info!(?totals, "sink stopped");
    Ok(totals)
}

fn entities(settings: &SinkConfig) -> Result<Vec<EntityKind>, Error> {
    let Some(names) = &settings.entities else {
        return Ok(EntityKind::ALL.to_vec());
    };
    names
        .iter()
        .map(|name| {
            EntityKind::from_name(name)
                .ok_or_else(|| Error::Settings(format!("sink.entities: unknown entity {name:?}")))
        })
        .collect()
}
