//! The transformer under test: unique topics on the real local broker, raw
//! records produced by the test, the shipped mappings, and readers for what
//! the transformer wrote.

use std::path::{Path, PathBuf};
use std::time::Duration;

use canonflow_canonical::{
    Canonical, Catalog, CostCenterAttributes, EntityKind, EntityRecord, InvoiceAttributes,
    OrganizationAttributes, SupplierAttributes, WorkerAttributes, wire,
};
use canonflow_common::Shutdown;
use canonflow_common::config::ConfigSource;
use canonflow_common::headers;
use canonflow_common::topics::Topics;
use canonflow_testkit::{Stack, TestTopics, drain_if_exists, eventually, unique};
use figment::Figment;
use figment::providers::{Format, Toml};
use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;

pub const DEADLINE: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A raw record's key, payload (either may be absent), source and stream.
pub type RawParts<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, &'a str, &'a str);

/// A raw record as the fetcher would publish it.
#[derive(Debug, Clone)]
pub struct Raw {
    pub source: String,
    pub stream: String,
    pub key: String,
    pub payload: Vec<u8>,
}

impl Raw {
    pub fn new(source: &str, stream: &str, id: &str, payload: Vec<u8>) -> Self {
        Self {
            source: source.into(),
            stream: stream.into(),
            key: format!("{source}/{stream}/{id}"),
            payload,
        }
    }

    pub fn json(source: &str, stream: &str, id: &str, payload: Value) -> Self {
        Self::new(source, stream, id, serde_json::to_vec(&payload).unwrap())
    }
}

/// The example raw record `name` (`schemas/examples/<name>.raw.json`).
pub fn example(name: &str) -> Raw {
    examples()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, raw)| raw)
        .unwrap_or_else(|| panic!("no example {name}"))
}

/// The error a spawned run stopped with by itself within `deadline`.
pub async fn stopped_with_error(
    run: JoinHandle<Result<(), canonflow_transformer::Error>>,
    deadline: Duration,
) -> String {
    tokio::time::timeout(deadline, run)
        .await
        .expect("the transformer stopped by itself")
        .expect("joined")
        .expect_err("stopped with an error")
        .to_string()
}

/// The examples under `schemas/examples/`, by name, as raw records.
pub fn examples() -> Vec<(String, Raw)> {
    let dir = repo().join("schemas/examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".raw.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let raw: Value = serde_json::from_slice(
                &std::fs::read(dir.join(format!("{name}.raw.json"))).unwrap(),
            )
            .unwrap();
            let record = Raw {
                source: raw["headers"][headers::SOURCE].as_str().unwrap().into(),
                stream: raw["headers"][headers::STREAM].as_str().unwrap().into(),
                key: raw["key"].as_str().unwrap().into(),
                payload: serde_json::to_vec(&raw["payload"]).unwrap(),
            };
            (name, record)
        })
        .collect()
}

/// The expected canonical entity of example `name`, as JSON.
pub fn expected(name: &str) -> Value {
    let path = repo().join(format!("schemas/examples/{name}.canonical.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Points an expected entity's version and origins at the raw records the
/// test produced: `at` maps raw keys to (partition, offset).
pub fn with_coordinates(
    expected: &mut Value,
    topic: &str,
    at: &std::collections::HashMap<String, (i32, i64)>,
) {
    let key = |v: &Value| {
        let text = |f: &str| v[f].as_str().unwrap_or_default().to_owned();
        format!(
            "{}/{}/{}",
            text("source"),
            text("stream"),
            text("source_id")
        )
    };
    let point = |target: &mut Value, (partition, offset): (i32, i64)| {
        target["raw_topic"] = topic.into();
        target["raw_partition"] = partition.into();
        target["raw_offset"] = offset.into();
    };
    if let Some(own) = at.get(&key(expected)) {
        point(&mut expected["version"], *own);
    }
    if let Some(origins) = expected["provenance"]["origins"].as_array_mut() {
        for origin in origins {
            if let Some(coordinates) = at.get(&key(origin)) {
                point(origin, *coordinates);
            }
        }
    }
}

/// A decoded entity's version as a sortable key (see `SourceVersion`).
pub fn version_key(entity: &Value) -> (String, i64, String, i64) {
    let v = &entity["version"];
    let text = |x: &Value| x.as_str().unwrap_or_default().to_owned();
    (
        text(&v["modified_at"]),
        v["raw_offset"].as_i64().unwrap_or_default(),
        text(&v["reference_modified_at"]),
        v["mapping_version"].as_i64().unwrap_or_default(),
    )
}

pub fn header<'a>(message: &'a OwnedMessage, name: &str) -> Option<&'a str> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

pub struct Harness {
    pub stack: Stack,
    pub topics: Topics,
    pub group: String,
    _created: TestTopics,
    catalog: Catalog,
}

impl Harness {
    /// Unique topics with a raw topic of `partitions` partitions.
    pub async fn start(partitions: i32) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_test_writer()
            .try_init();
        let stack = Stack::from_env();
        let mut created = TestTopics::new(&stack);
        let topics = created.topics.clone();
        created.create(&topics.raw(), partitions, &[]).await;
        Self {
            stack,
            topics,
            group: unique("transformer"),
            _created: created,
            catalog: Catalog::embedded().unwrap(),
        }
    }

    /// Produces `raws` in order; returns each one's (partition, offset).
    pub async fn produce(&self, raws: &[Raw]) -> Vec<(i32, i64)> {
        let records: Vec<_> = raws
            .iter()
            .map(|raw| {
                (
                    Some(raw.key.as_bytes()),
                    Some(raw.payload.as_slice()),
                    raw.source.as_str(),
                    raw.stream.as_str(),
                )
            })
            .collect();
        self.produce_raw(&records).await
    }

    /// Produces raw records as given — (key, payload, source, stream), key
    /// and payload may be absent — all at once; returns each one's
    /// (partition, offset).
    pub async fn produce_raw(&self, records: &[RawParts<'_>]) -> Vec<(i32, i64)> {
        let producer: FutureProducer = self
            .stack
            .kafka()
            .producer_config("test")
            .unwrap()
            .create()
            .unwrap();
        let topic = self.topics.raw();
        let sends = records.iter().map(|(key, payload, source, stream)| {
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: headers::SOURCE,
                    value: Some(*source),
                })
                .insert(Header {
                    key: headers::STREAM,
                    value: Some(*stream),
                });
            let mut record = FutureRecord::<[u8], [u8]>::to(&topic).headers(headers);
            if let Some(key) = key {
                record = record.key(*key);
            }
            if let Some(payload) = payload {
                record = record.payload(*payload);
            }
            producer.send(record, Duration::from_secs(10))
        });
        futures::future::join_all(sends)
            .await
            .into_iter()
            .map(|delivered| {
                let delivered = delivered.expect("raw record produced");
                (delivered.partition, delivered.offset)
            })
            .collect()
    }

    pub fn config(&self, mappings: &Path, transformer: &str) -> ConfigSource {
        ConfigSource::from_figment(Figment::from(Toml::string(
            &self.config_toml(mappings, transformer),
        )))
    }

    /// The deployment configuration of the transformer under test.
    pub fn config_toml(&self, mappings: &Path, transformer: &str) -> String {
        format!(
            r#"
            [kafka]
            bootstrap_servers = "{}"
            session_timeout_ms = {}
            [topics]
            prefix = "{}"
            [transformer]
            mappings_dir = {:?}
            group_id = "{}"
            partitions = 2
            transaction_max_ms = 300
            {transformer}
            "#,
            self.stack.bootstrap_servers,
            canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
            self.topics.prefix,
            mappings,
            self.group,
        )
    }

    /// Runs the transformer in-process with the shipped mappings.
    pub fn spawn(
        &self,
        transformer: &str,
    ) -> (
        JoinHandle<Result<(), canonflow_transformer::Error>>,
        Shutdown,
    ) {
        let shutdown = Shutdown::new();
        let config = self.config(&repo().join("config/mappings"), transformer);
        let handle = tokio::spawn(canonflow_transformer::run(config, shutdown.clone()));
        (handle, shutdown)
    }

    /// Runs the transformer in-process with the mappings in `dir`.
    pub fn spawn_with_mappings(
        &self,
        dir: &Path,
        transformer: &str,
    ) -> (
        JoinHandle<Result<(), canonflow_transformer::Error>>,
        Shutdown,
    ) {
        let shutdown = Shutdown::new();
        let config = self.config(dir, transformer);
        let handle = tokio::spawn(canonflow_transformer::run(config, shutdown.clone()));
        (handle, shutdown)
    }

    /// Sets the group's committed offsets on the raw topic back to 0, the
    /// way a replay does: committed by a consumer that never subscribed.
    pub async fn reset_offsets(&self) {
        canonflow_testkit::reset_offsets(&self.stack, &self.group, &self.topics.raw()).await;
    }

    pub async fn run_with_mappings(&self, dir: &Path) -> Result<(), canonflow_transformer::Error> {
        let run = canonflow_transformer::run(self.config(dir, ""), Shutdown::new());
        tokio::time::timeout(DEADLINE, run)
            .await
            .expect("returned in time")
    }

    pub async fn stop(
        &self,
        (handle, shutdown): (
            JoinHandle<Result<(), canonflow_transformer::Error>>,
            Shutdown,
        ),
    ) -> Result<(), canonflow_transformer::Error> {
        shutdown.trigger();
        tokio::time::timeout(DEADLINE, handle)
            .await
            .expect("stopped in time")
            .expect("joined")
    }

    /// Waits for `count` canonical records across the entity topics.
    pub async fn canonical_records(&self, count: usize) -> Vec<(EntityKind, OwnedMessage)> {
        eventually(DEADLINE, &format!("{count} canonical records"), || async {
            let mut all = Vec::new();
            for kind in EntityKind::ALL {
                let topic = self.topics.canonical(kind.name());
                let records = drain_if_exists(&self.stack, &topic, DEADLINE)
                    .await
                    .unwrap_or_default();
                all.extend(records.into_iter().map(|m| (kind, m)));
            }
            (all.len() >= count).then_some(all)
        })
        .await
    }

    pub async fn dead_letters(&self, count: usize) -> Vec<OwnedMessage> {
        let topic = self.topics.dead_letters("transformer");
        eventually(DEADLINE, &format!("{count} dead letters"), || async {
            let records = drain_if_exists(&self.stack, &topic, DEADLINE)
                .await
                .unwrap_or_default();
            (records.len() >= count).then_some(records)
        })
        .await
    }

    /// The group's committed offsets on the raw topic, summed.
    pub async fn committed(&self) -> i64 {
        canonflow_testkit::committed(&self.stack, &self.group, &self.topics.raw()).await
    }

    pub async fn wait_committed(&self, count: usize) {
        let want = i64::try_from(count).unwrap();
        eventually(
            DEADLINE,
            &format!("{count} raw records committed"),
            || async { (self.committed().await >= want).then_some(()) },
        )
        .await;
    }

    /// The newest record (by version) of every canonical id, with its
    /// source header; polled until `expected` all match or the deadline.
    pub async fn newest_matching(
        &self,
        expected: &[(String, Value)],
    ) -> std::collections::HashMap<String, (Value, Option<String>)> {
        let deadline = std::time::Instant::now() + DEADLINE;
        loop {
            let mut newest: std::collections::HashMap<String, (Value, Option<String>)> =
                std::collections::HashMap::new();
            for kind in EntityKind::ALL {
                let topic = self.topics.canonical(kind.name());
                for message in drain_if_exists(&self.stack, &topic, DEADLINE)
                    .await
                    .unwrap_or_default()
                {
                    let entity = self.decode(kind, &message);
                    let id = entity["canonical_id"].as_str().unwrap().to_owned();
                    let source = header(&message, headers::SOURCE).map(str::to_owned);
                    let newer = newest
                        .get(&id)
                        .is_none_or(|(known, _)| version_key(&entity) >= version_key(known));
                    if newer {
                        newest.insert(id, (entity, source));
                    }
                }
            }
            let all = expected.iter().all(|(_, e)| {
                let id = e["canonical_id"].as_str().unwrap_or_default();
                newest.get(id).is_some_and(|(actual, _)| actual == e)
            });
            if all || std::time::Instant::now() > deadline {
                return newest;
            }
            // Poll the topics again; the deadline bounds it.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every record of one entity's canonical topic, decoded, in topic order.
    pub async fn decoded(&self, kind: EntityKind) -> Vec<Value> {
        let topic = self.topics.canonical(kind.name());
        drain_if_exists(&self.stack, &topic, DEADLINE)
            .await
            .unwrap_or_default()
            .iter()
            .map(|m| self.decode(kind, m))
            .collect()
    }

    /// A canonical record decoded, as JSON.
    pub fn decode(&self, kind: EntityKind, message: &OwnedMessage) -> Value {
        fn json<A: Serialize + DeserializeOwned + EntityRecord>(
            catalog: &Catalog,
            kind: EntityKind,
            bytes: &[u8],
        ) -> Value {
            let entity: Canonical<A> = wire::decode(catalog, kind, bytes)
                .unwrap_or_else(|e| panic!("{kind} did not decode: {e}"));
            serde_json::to_value(entity).unwrap()
        }
        let bytes = message.payload().unwrap();
        match kind {
            EntityKind::Worker => json::<WorkerAttributes>(&self.catalog, kind, bytes),
            EntityKind::Organization => json::<OrganizationAttributes>(&self.catalog, kind, bytes),
            EntityKind::CostCenter => json::<CostCenterAttributes>(&self.catalog, kind, bytes),
            EntityKind::Supplier => json::<SupplierAttributes>(&self.catalog, kind, bytes),
            EntityKind::Invoice => json::<InvoiceAttributes>(&self.catalog, kind, bytes),
        }
    }
}
