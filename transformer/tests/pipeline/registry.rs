//! The transformer and a Confluent-compatible schema registry (the test
//! double: no real one can be had here): ids come from the registry, an
//! incompatible subject stops it at start, and an unreachable registry is
//! retried, then fatal naming it.

use rdkafka::Message;

use crate::support::{self, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_ids_come_from_the_schema_registry() {
    let registry = canonflow_testkit::SchemaRegistryDouble::start().await;
    let harness = Harness::start(1).await;
    let supplier = support::example("supplier-odata");
    harness.produce(&[supplier]).await;
    let run = harness.spawn(&format!(
        "schema_registry = {{ url = \"{}\" }}",
        registry.url
    ));
    let records = harness.canonical_records(1).await;
    harness.stop(run).await.expect("stopped cleanly");

    let topic = harness.topics.canonical("supplier");
    let versions = registry.versions(&format!("{topic}-value"));
    assert_eq!(
        versions.len(),
        1,
        "registered once under the topic's subject"
    );
    let (id, _) = canonflow_canonical::wire::split(records[0].1.payload().unwrap()).unwrap();
    assert_eq!(id, versions[0], "written under the registry's id");
    let embedded = canonflow_canonical::Catalog::embedded().unwrap();
    assert_ne!(id, embedded.id(canonflow_canonical::EntityKind::Supplier));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incompatible_registered_schema_stops_the_transformer_at_start() {
    let registry = canonflow_testkit::SchemaRegistryDouble::start().await;
    let harness = Harness::start(1).await;
    let subject = format!("{}-value", harness.topics.canonical("worker"));
    // An earlier Worker without the fields ours requires: ours cannot read its data.
    registry.preload(
        &subject,
        r#"{"type":"record","name":"Worker","namespace":"canonflow","fields":[{"name":"x","type":"int"}]}"#,
    );
    let config = format!("schema_registry = {{ url = \"{}\" }}", registry.url);
    let (run, _shutdown) = harness.spawn(&config);
    let error = support::stopped_with_error(run, support::DEADLINE).await;
    assert!(error.contains(&subject), "{error}");
    assert!(error.contains("incompatible"), "{error}");
    assert!(registry.requests() >= 1);
}

/// A registry nobody answers at is retried for about half a minute (a
/// registry starting alongside the stage), then fatal, naming the subject
/// and the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_registry_is_retried_then_fatal_naming_it() {
    let closed = canonflow_testkit::free_port();
    let harness = Harness::start(1).await;
    let config = format!("schema_registry = {{ url = \"http://127.0.0.1:{closed}\" }}");
    let (run, _shutdown) = harness.spawn(&config);
    let started = std::time::Instant::now();
    let error = support::stopped_with_error(run, std::time::Duration::from_secs(90)).await;
    assert!(
        error.contains("registering") && error.contains(&format!("127.0.0.1:{closed}")),
        "{error}"
    );
    assert!(
        started.elapsed() > std::time::Duration::from_secs(10),
        "gave up without retrying: {error}"
    );
}
