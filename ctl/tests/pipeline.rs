//! End to end with the transformer and the sink (run as jobs, in process)
//! on the real broker and PostgreSQL: what an operator does with the CLI
//! after a mapping change — replay the raw topic, or redrive the dead
//! letters the old mapping left — ends in the tables, and nothing is
//! fetched or published twice.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use canonflow_canonical::{Catalog, EntityKind, wire};
use canonflow_common::config::ConfigSource;
use canonflow_common::{Shutdown, headers};
use canonflow_testkit::{Stack, TestSchema, TestTopics, drain, unique};
use rdkafka::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use support::Cli;

#[allow(dead_code, reason = "each test binary uses part of the support")]
mod support;

const DEADLINE: Duration = Duration::from_secs(120);

struct Pipeline {
    stack: Stack,
    topics: TestTopics,
    schema: TestSchema,
    mappings: tempfile::TempDir,
    cli: Cli,
}

impl Pipeline {
    /// Topics and a PostgreSQL schema of the test's own, and a copy of the
    /// shipped mappings that the test may change.
    async fn start() -> Self {
        let stack = Stack::from_env();
        let mut topics = TestTopics::new(&stack);
        let raw = topics.topics.raw();
        topics.create(&raw, 2, &[]).await;
        let mut made = vec![
            topics.topics.dead_letters("transformer"),
            topics.topics.dead_letters("sink"),
            topics.topics.redriven(),
        ];
        made.extend(
            EntityKind::ALL
                .iter()
                .map(|k| topics.topics.canonical(k.name())),
        );
        for topic in &made {
            topics.adopt(topic);
        }
        let schema = TestSchema::create(&stack).await;
        let mappings = tempfile::tempdir().unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mappings");
        for file in std::fs::read_dir(shipped).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, mappings.path().join(file.file_name().unwrap())).unwrap();
        }
        let cli = Cli::new(
            &stack,
            &topics.topics.prefix,
            &format!(
                "[postgres]\nurl = \"{}\"\n\
                 [transformer]\nmappings_dir = {:?}\ngroup_id = \"{}\"\npartitions = 2\n\
                 transaction_max_ms = 300\nexit_when_idle_secs = 3\n\
                 [sink]\nschema = \"{}\"\ngroup_id = \"{}\"\nbatch_max_ms = 300\nexit_when_idle_secs = 3\n",
                stack.postgres_url,
                mappings.path(),
                unique("transformer"),
                schema.name,
                unique("sink"),
            ),
        );
        Self {
            stack,
            topics,
            schema,
            mappings,
            cli,
        }
    }

    fn finance_mappings(&self) -> PathBuf {
        self.mappings.path().join("finance.toml")
    }

    /// Raw supplier records as the fetcher publishes them; `name_field` is
    /// where the source put the supplier's name.
    async fn produce(&self, ids: std::ops::Range<usize>, name_field: &str) {
        let producer: FutureProducer = self
            .stack
            .kafka()
            .producer_config("test")
            .unwrap()
            .create()
            .unwrap();
        for i in ids {
            let payload = json!({
                "SupplierID": format!("S{i:04}"),
                name_field: format!("Supplier {i}"),
                "Country": "SE",
                "Email": format!("billing@supplier{i}.example"),
                "modifiedAt": "2026-11-30T12:00:00Z",
            })
            .to_string();
            let provenance = OwnedHeaders::new()
                .insert(Header {
                    key: headers::SOURCE,
                    value: Some("finance"),
                })
                .insert(Header {
                    key: headers::STREAM,
                    value: Some("suppliers"),
                });
            producer
                .send(
                    FutureRecord::to(&self.topics.topics.raw())
                        .key(&format!("finance/suppliers/S{i:04}"))
                        .payload(&payload)
                        .headers(provenance),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
        }
    }

    /// The transformer, then the sink, each until idle.
    async fn run_stages(&self) {
        let config = || ConfigSource::load(Some(self.cli.path())).unwrap();
        tokio::time::timeout(
            DEADLINE,
            canonflow_transformer::run(config(), Shutdown::new()),
        )
        .await
        .expect("the transformer went idle in time")
        .unwrap();
        tokio::time::timeout(DEADLINE, canonflow_sink::run(config(), Shutdown::new()))
            .await
            .expect("the sink went idle in time")
            .unwrap();
    }

    fn ctl(&self, args: &[&str]) -> Value {
        let output: Output = self.cli.run(&[args, &["--json"]].concat());
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// `(source_id, name, mapping_version)` of every supplier row.
    async fn rows(&self) -> Vec<(String, String, i32)> {
        sqlx::query_as(
            "select source_id, name, mapping_version from canonflow_supplier order by source_id",
        )
        .fetch_all(&self.schema.pool)
        .await
        .unwrap()
    }

    async fn raw_count(&self) -> usize {
        drain(&self.stack, &self.topics.topics.raw(), DEADLINE)
            .await
            .len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_a_mapping_change_ends_with_the_new_version_everywhere_without_fetching() {
    let p = Pipeline::start().await;
    p.produce(0..8, "Name").await;
    p.run_stages().await;
    assert!(p.rows().await.iter().all(|(_, _, v)| *v == 1));

    let text = std::fs::read_to_string(p.finance_mappings()).unwrap();
    std::fs::write(
        p.finance_mappings(),
        text.replace("version = 1", "version = 2"),
    )
    .unwrap();
    let plan = p.ctl(&[
        "replay",
        "--stage",
        "transformer",
        "--to-earliest",
        "--execute",
    ]);
    assert_eq!(plan["executed"], true);
    p.run_stages().await;

    let rows = p.rows().await;
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|(_, _, v)| *v == 2), "{rows:?}");
    assert_eq!(p.raw_count().await, 8, "nothing fetched or published again");
    let catalog = Catalog::embedded().unwrap();
    let canonical = drain(&p.stack, &p.topics.topics.canonical("supplier"), DEADLINE).await;
    let mut newest = std::collections::BTreeMap::new();
    for message in &canonical {
        let entity = wire::decode_any(&catalog, message.payload().unwrap()).unwrap();
        newest.insert(entity.source_id.clone(), entity.version.mapping_version);
    }
    assert_eq!(newest.len(), 8);
    assert!(
        newest.values().all(|v| *v == 2),
        "the canonical topic ends with v2: {newest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_fixed_by_a_mapping_change_are_redriven_into_the_tables_once() {
    let p = Pipeline::start().await;
    p.produce(0..8, "Name").await;
    // The source renamed the field for three records.
    p.produce(8..11, "SupplierName").await;
    p.run_stages().await;
    assert_eq!(p.rows().await.len(), 8);

    let groups = p.ctl(&["dlq", "list"]);
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    assert_eq!(groups[0]["stage"], "transformer");
    assert_eq!(groups[0]["class"], "invalid_input");
    assert_eq!(groups[0]["source_stream"], "finance/suppliers");
    assert_eq!(groups[0]["count"], 3);
    let letters = p.ctl(&["dlq", "show", "--stage", "transformer"]);
    for letter in letters.as_array().unwrap() {
        assert_eq!(letter["path"], "/Name", "{letter}");
        assert!(
            letter["payload"]["SupplierName"].is_string(),
            "shown decoded: {letter}"
        );
    }

    // The fix: a mapping version that reads the renamed field.
    let text = std::fs::read_to_string(p.finance_mappings()).unwrap();
    let fixed = text.replacen(
        "stream = \"suppliers\"\nentity = \"supplier\"\nversion = 1",
        "stream = \"suppliers\"\nentity = \"supplier\"\nversion = 2",
        1,
    );
    let fixed = fixed.replacen(
        "name = \"/Name\"\ncountry",
        "name = \"/SupplierName\"\ncountry",
        1,
    );
    assert_ne!(fixed, text);
    std::fs::write(p.finance_mappings(), fixed).unwrap();
    let redriven = p.ctl(&["dlq", "redrive", "--stage", "transformer", "--execute"]);
    assert_eq!(redriven["executed"], true);
    p.run_stages().await;

    let rows = p.rows().await;
    assert_eq!(rows.len(), 11, "{rows:?}");
    let fixed_rows: Vec<_> = rows
        .iter()
        .filter(|(id, _, _)| id.as_str() >= "S0008")
        .collect();
    assert!(
        fixed_rows
            .iter()
            .all(|(_, name, v)| name.starts_with("Supplier") && *v == 2),
        "{fixed_rows:?}"
    );

    let again = p.ctl(&["dlq", "redrive", "--stage", "transformer", "--execute"]);
    let actions: Vec<&str> = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["already_redriven"; 3]);
    assert_eq!(p.raw_count().await, 11 + 3, "a second redrive adds nothing");
}
