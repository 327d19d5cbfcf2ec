//! The sink on the real local broker and PostgreSQL: versions converge
//! however records arrive, rows PostgreSQL refuses are dead-lettered alone.

#![allow(clippy::unwrap_used, reason = "tests")]

#[allow(dead_code, reason = "each test binary uses part of the harness")]
mod support;

mod backpressure;
mod bad_bytes;
mod deletes;
mod readiness;
mod tls;

use canonflow_common::headers;
use canonflow_testkit::drain;
use rdkafka::Message;
use support::{Harness, supplier};

const SUPPLIERS: usize = 40;

/// Writes `deliveries` with a fresh sink; returns the table checksum.
async fn converge(
    deliveries: Vec<canonflow_canonical::Canonical<canonflow_canonical::entities::Attributes>>,
) -> (String, Vec<(String, String)>) {
    let harness = Harness::start(2).await;
    harness.produce(&deliveries).await;
    let run = harness.spawn("");
    harness.wait_committed(deliveries.len()).await;
    let totals = harness.stop(run).await;
    assert_eq!(totals.dead_letters, 0);
    (harness.checksum().await, harness.names().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twice_reversed_and_interleaved_deliveries_leave_identical_tables() {
    let version = |i: usize, round: u32| supplier(i, round, "DE");
    let in_order: Vec<_> = (1..=3)
        .flat_map(|r| (0..SUPPLIERS).map(move |i| version(i, r)))
        .collect();
    let mut twice_reversed: Vec<_> = in_order.iter().chain(in_order.iter()).cloned().collect();
    twice_reversed.reverse();
    let interleaved: Vec<_> = (0..SUPPLIERS)
        .flat_map(|i| {
            [
                version(i, 3),
                version(i, 1),
                version(i, 2),
                version(i, 3),
                version(i, 1),
            ]
        })
        .collect();

    let (expected, names) = converge(in_order).await;
    assert_eq!(names.len(), SUPPLIERS);
    assert!(
        names.iter().all(|(_, name)| name.ends_with(" v3")),
        "the newest version everywhere"
    );
    assert_eq!(
        converge(twice_reversed).await.0,
        expected,
        "delivered twice, newest first"
    );
    assert_eq!(
        converge(interleaved).await.0,
        expected,
        "interleaved with older versions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_row_ends_alone_in_the_dead_letter_topic() {
    let harness = Harness::start(1).await;
    let mut batch: Vec<_> = (0..9).map(|i| supplier(i, 1, "DE")).collect();
    // A country code the column (char(2)) cannot hold: PostgreSQL refuses it.
    batch.insert(4, supplier(99, 1, "DEU"));
    harness.produce(&batch).await;
    let run = harness.spawn("");
    harness.wait_committed(batch.len()).await;
    let totals = harness.stop(run).await;

    assert_eq!(
        harness.names().await.len(),
        9,
        "its batch-mates are in the table"
    );
    assert_eq!(totals.dead_letters, 1);
    let dead = drain(
        &harness.stack,
        &harness.topics.topics.dead_letters("sink"),
        support::DEADLINE,
    )
    .await;
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    let header = |name| headers::text(letter.headers(), name);
    assert_eq!(letter.key(), Some(batch[4].canonical_id.as_bytes()));
    assert_eq!(header(headers::ERROR_STAGE), Some("sink"));
    assert_eq!(header(headers::ERROR_CLASS), Some("invalid_input"));
    let message = header(headers::ERROR_MESSAGE).unwrap();
    assert!(
        message.contains("too long"),
        "the database's error: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_concurrently_and_create_the_columns_the_sink_writes() {
    let stack = canonflow_testkit::Stack::from_env();
    let schema = canonflow_testkit::TestSchema::create(&stack).await;
    let (a, b) = tokio::join!(
        canonflow_sink::MIGRATOR.run(&schema.pool),
        canonflow_sink::MIGRATOR.run(&schema.pool)
    );
    a.unwrap();
    b.unwrap();
    for kind in canonflow_canonical::EntityKind::ALL {
        let table = format!("canonflow_{}", kind.name());
        let actual: Vec<String> = sqlx::query_scalar(
            "select column_name::text from information_schema.columns \
             where table_schema = $1 and table_name = $2 order by ordinal_position",
        )
        .bind(&schema.name)
        .bind(&table)
        .fetch_all(&schema.pool)
        .await
        .unwrap();
        let mut expected: Vec<String> = canonflow_sink::tables::columns(kind)
            .into_iter()
            .map(str::to_owned)
            .collect();
        expected.extend(["first_seen_at".to_owned(), "updated_at".to_owned()]);
        let (mut actual_sorted, mut expected_sorted) = (actual.clone(), expected);
        actual_sorted.sort();
        expected_sorted.sort();
        assert_eq!(actual_sorted, expected_sorted, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_split_the_partitions_and_write_the_same_tables_as_one() {
    let records: Vec<_> = (1..=2)
        .flat_map(|round| (0..SUPPLIERS).map(move |i| supplier(i, round, "DE")))
        .collect();
    let (one_copy, _) = converge(records.clone()).await;

    // Both copies start, then the records come in waves, each once the one
    // before is written, so that later waves meet both copies in the group.
    let harness = Harness::start(4).await;
    let first = harness.spawn("");
    let second = harness.spawn("");
    let waves = 8;
    let per_wave = records.len().div_ceil(waves);
    for (i, wave) in records.chunks(per_wave).enumerate() {
        harness.produce(wave).await;
        harness
            .wait_committed((i * per_wave + wave.len()).min(records.len()))
            .await;
    }
    let (a, b) = (harness.stop(first).await, harness.stop(second).await);
    assert!(
        a.records > 0 && b.records > 0,
        "both copies wrote: {a:?} {b:?}"
    );
    assert_eq!(harness.checksum().await, one_copy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_of_a_schema_the_sink_does_not_know_stops_it_naming_the_entity() {
    let harness = Harness::start(1).await;
    // As if a newer transformer wrote it under its evolved schema's id.
    harness
        .produce_with_schema_id(&supplier(2, 1, "DE"), 4242)
        .await;
    let (run, _shutdown) = harness.spawn("");
    let error = tokio::time::timeout(support::DEADLINE, run)
        .await
        .expect("stopped by itself")
        .expect("joined")
        .expect_err("refused")
        .to_string();
    assert!(error.contains("schema id 4242"), "{error}");
    assert!(error.contains("supplier"), "{error}");
    assert!(error.contains("upgrade the sink"), "{error}");
}

/// The supplier schema as a newer transformer might write it: one more
/// optional attribute.
fn evolved_supplier_schema() -> String {
    let mut schema: serde_json::Value =
        serde_json::from_str(canonflow_canonical::EntityKind::Supplier.schema_text()).unwrap();
    let attributes = schema["fields"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["name"] == "attributes")
        .unwrap();
    attributes["type"]["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "rating", "type": ["null", "int"], "default": null}));
    schema.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_schema_registry_the_sink_names_the_fields_its_tables_cannot_hold() {
    let harness = Harness::start(1).await;
    let registry = canonflow_testkit::SchemaRegistryDouble::start().await;
    let topic = harness.topics.topics.canonical("supplier");
    let evolved = registry.preload(&format!("{topic}-value"), &evolved_supplier_schema());
    harness
        .produce_with_schema_id(&supplier(2, 1, "DE"), evolved)
        .await;
    let (run, _shutdown) = harness.spawn(&format!(
        "schema_registry = {{ url = \"{}\" }}",
        registry.url
    ));
    let error = tokio::time::timeout(support::DEADLINE, run)
        .await
        .expect("stopped by itself")
        .expect("joined")
        .expect_err("refused")
        .to_string();
    assert!(error.contains(&format!("schema id {evolved}")), "{error}");
    assert!(error.contains("supplier"), "{error}");
    assert!(
        error.contains("cannot hold: attributes.rating;"),
        "the new field named: {error}"
    );
}

/// PostgreSQL unreachable when the sink starts: it stops with an error
/// naming the database, rather than consuming what it cannot write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_at_start_stops_the_sink_naming_it() {
    let harness = Harness::start(1).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let url = format!("postgres://postgres@{closed}/postgres");
    let (run, _shutdown) =
        harness.spawn_with(harness.config_with_url(&url, ""), Default::default());
    let error = tokio::time::timeout(support::DEADLINE, run)
        .await
        .expect("the sink stopped")
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&closed.to_string()) && error.contains("refused"),
        "names the server and the cause: {error}"
    );
    assert!(harness.committed().await <= 0, "nothing committed");
}
