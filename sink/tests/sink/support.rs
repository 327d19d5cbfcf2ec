//! The sink under test: canonical records produced by the test (in the
//! wire format, as the transformer writes them) to unique topics on the
//! real local broker, and a PostgreSQL schema of the test's own.

use std::sync::Arc;
use std::time::Duration;

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{
    Canonical, Catalog, EntityKind, Origin, Provenance, SourceVersion, SupplierAttributes, wire,
};
use canonflow_common::Shutdown;
use canonflow_common::config::ConfigSource;
use canonflow_testkit::{Stack, TestSchema, TestTopics, eventually, unique};
use chrono::{DateTime, TimeZone, Utc};
use figment::Figment;
use figment::providers::{Format, Toml};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::task::JoinHandle;

pub const DEADLINE: Duration = Duration::from_secs(60);

/// What a test puts on a canonical topic.
#[derive(Debug, Clone)]
pub enum Delivery {
    Entity(Box<Canonical<Attributes>>),
    /// A record without a value, keyed by (what should be) a canonical id.
    Tombstone(EntityKind, String),
}

pub struct Harness {
    pub stack: Stack,
    pub topics: TestTopics,
    pub schema: TestSchema,
    pub group: String,
    pub catalog: Catalog,
}

/// A supplier at version `round` (its `modifiedAt` day), named after it.
pub fn supplier(i: usize, round: u32, country: &str) -> Canonical<Attributes> {
    let id = format!("S{i:05}");
    let modified: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 5, round, 0, 0, 0).unwrap();
    let raw_offset = i64::from(round) * 100_000 + i64::try_from(i).unwrap();
    Canonical {
        canonical_id: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, id.as_bytes()).to_string(),
        source: "finance".into(),
        stream: "suppliers".into(),
        source_id: id.clone(),
        version: SourceVersion {
            modified_at: Some(modified),
            raw_topic: "raw".into(),
            raw_partition: 0,
            raw_offset,
            reference_modified_at: None,
            mapping_version: 1,
        },
        deleted: false,
        attributes: Attributes::Supplier(SupplierAttributes {
            name: format!("Supplier {i} v{round}"),
            country: Some(country.into()),
            vat_number: None,
            email: Some(format!("billing@supplier{i}.example")),
        }),
        provenance: Provenance {
            origins: vec![Origin {
                source: "finance".into(),
                stream: "suppliers".into(),
                source_id: id,
                raw_topic: "raw".into(),
                raw_partition: 0,
                raw_offset,
                mapping_version: 1,
            }],
            fields: [("name".into(), 0)].into_iter().collect(),
        },
    }
}

impl Harness {
    /// Unique canonical topics (`partitions` each) and a fresh schema.
    pub async fn start(partitions: i32) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_test_writer()
            .try_init();
        let stack = Stack::from_env();
        let mut topics = TestTopics::new(&stack);
        for kind in EntityKind::ALL {
            let name = topics.topics.canonical(kind.name());
            topics.create(&name, partitions, &[]).await;
        }
        let schema = TestSchema::create(&stack).await;
        Self {
            stack,
            topics,
            schema,
            group: unique("sink"),
            catalog: Catalog::embedded().unwrap(),
        }
    }

    /// Produces `entities` in order, keyed by canonical id.
    pub async fn produce(&self, entities: &[Canonical<Attributes>]) {
        let deliveries: Vec<_> = entities
            .iter()
            .map(|e| Delivery::Entity(Box::new(e.clone())))
            .collect();
        self.deliver(&deliveries).await;
    }

    fn producer(&self) -> FutureProducer {
        self.stack
            .kafka()
            .producer_config("test")
            .unwrap()
            .create()
            .unwrap()
    }

    /// Produces `records` (key, bytes) to `topic` as they are, in order.
    pub async fn produce_bytes(&self, topic: &str, records: &[(&str, &[u8])]) {
        let producer = self.producer();
        for (key, payload) in records {
            producer
                .send(
                    FutureRecord::to(topic).key(*key).payload(*payload),
                    Duration::from_secs(10),
                )
                .await
                .expect("produced");
        }
    }

    /// Creates this test's schema on another PostgreSQL server (`pool`).
    pub async fn create_schema_on(&self, pool: &sqlx::PgPool) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "create schema \"{}\"",
            self.schema.name
        )))
        .execute(pool)
        .await
        .unwrap();
    }

    /// Produces entities and tombstones, in order, keyed by canonical id.
    pub async fn deliver(&self, deliveries: &[Delivery]) {
        let producer = self.producer();
        let encoded: Vec<(String, String, Option<Vec<u8>>)> = deliveries
            .iter()
            .map(|delivery| match delivery {
                Delivery::Entity(e) => {
                    let kind = e.attributes.kind();
                    (
                        self.topics.topics.canonical(kind.name()),
                        e.canonical_id.clone(),
                        Some(wire::encode(&self.catalog, kind, e).unwrap()),
                    )
                }
                Delivery::Tombstone(kind, key) => {
                    (self.topics.topics.canonical(kind.name()), key.clone(), None)
                }
            })
            .collect();
        let sends = encoded.iter().map(|(topic, key, payload)| {
            let mut record = FutureRecord::<str, [u8]>::to(topic).key(key.as_str());
            if let Some(payload) = payload {
                record = record.payload(payload.as_slice());
            }
            producer.send(record, Duration::from_secs(10))
        });
        for delivered in futures::future::join_all(sends).await {
            delivered.expect("canonical record produced");
        }
    }

    /// Produces `entity` as if written under schema id `id`.
    pub async fn produce_with_schema_id(&self, entity: &Canonical<Attributes>, id: u32) {
        let kind = entity.attributes.kind();
        let mut payload = wire::encode(&self.catalog, kind, entity).unwrap();
        payload[1..5].copy_from_slice(&id.to_be_bytes());
        let topic = self.topics.topics.canonical(kind.name());
        self.produce_bytes(&topic, &[(&entity.canonical_id, &payload)])
            .await;
    }

    pub fn config(&self, sink: &str) -> ConfigSource {
        self.config_with_url(&self.stack.postgres_url, sink)
    }

    /// The configuration, with PostgreSQL at `url`.
    pub fn config_with_url(&self, url: &str, sink: &str) -> ConfigSource {
        let toml = self.config_toml_with_url(url, sink);
        ConfigSource::from_figment(Figment::from(Toml::string(&toml)))
    }

    /// The deployment configuration, with PostgreSQL at `url`.
    pub fn config_toml_with_url(&self, url: &str, sink: &str) -> String {
        format!(
            r#"
            [kafka]
            bootstrap_servers = "{}"
            session_timeout_ms = {}
            [topics]
            prefix = "{}"
            [postgres]
            url = "{}"
            [sink]
            schema = "{}"
            group_id = "{}"
            batch_max_ms = 300
            {sink}
            "#,
            self.stack.bootstrap_servers,
            canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
            self.topics.topics.prefix,
            url,
            self.schema.name,
            self.group,
        )
    }

    pub fn spawn(
        &self,
        sink: &str,
    ) -> (
        JoinHandle<Result<canonflow_sink::Totals, canonflow_sink::Error>>,
        Shutdown,
    ) {
        self.spawn_with(self.config(sink), Arc::default())
    }

    /// Runs the sink on `config`, reporting into `status`.
    pub fn spawn_with(
        &self,
        config: ConfigSource,
        status: Arc<canonflow_sink::Status>,
    ) -> (
        JoinHandle<Result<canonflow_sink::Totals, canonflow_sink::Error>>,
        Shutdown,
    ) {
        let shutdown = Shutdown::new();
        let handle = tokio::spawn(canonflow_sink::run_with_status(
            config,
            shutdown.clone(),
            status,
        ));
        (handle, shutdown)
    }

    pub async fn stop(
        &self,
        (handle, shutdown): (
            JoinHandle<Result<canonflow_sink::Totals, canonflow_sink::Error>>,
            Shutdown,
        ),
    ) -> canonflow_sink::Totals {
        shutdown.trigger();
        tokio::time::timeout(DEADLINE, handle)
            .await
            .expect("stopped in time")
            .expect("joined")
            .expect("stopped cleanly")
    }

    /// The group's committed offsets on the supplier topic, summed.
    pub async fn committed(&self) -> i64 {
        let topic = self.topics.topics.canonical("supplier");
        canonflow_testkit::committed(&self.stack, &self.group, &topic).await
    }

    pub async fn wait_committed(&self, count: usize) {
        let want = i64::try_from(count).unwrap();
        eventually(
            DEADLINE,
            &format!("{count} canonical records committed"),
            || async { (self.committed().await >= want).then_some(()) },
        )
        .await;
    }

    /// A checksum of the supplier table's contents: every column that
    /// depends only on the data (not on when or from which offset it was
    /// written).
    pub async fn checksum(&self) -> String {
        sqlx::query_scalar(
            "select coalesce(md5(string_agg(
                 concat_ws('|', source, stream, source_id, canonical_id, modified_at, raw_offset,
                           reference_modified_at, mapping_version, deleted, name, country, vat_number,
                           email, provenance::text),
                 '\n' order by source, stream, source_id)), 'empty')
             from canonflow_supplier",
        )
        .fetch_one(&self.schema.pool)
        .await
        .unwrap()
    }

    pub async fn names(&self) -> Vec<(String, String)> {
        sqlx::query_as("select source_id, name from canonflow_supplier order by source_id")
            .fetch_all(&self.schema.pool)
            .await
            .unwrap()
    }
}

/// `host:port` of a PostgreSQL URL.
pub fn postgres_address(url: &str) -> String {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    let after_scheme = after_at
        .split_once("://")
        .map_or(after_at, |(_, rest)| rest);
    after_scheme
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned()
}
