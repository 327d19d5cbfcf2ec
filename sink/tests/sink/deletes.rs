//! Deletes: deleted versions flag or remove rows, tombstones delete by
//! canonical id — each guarded so that replays converge.

use canonflow_canonical::EntityKind;
use canonflow_testkit::drain;
use rdkafka::Message;

use crate::support::{self, Delivery, Harness, supplier};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_flag_rows_by_default_and_remove_them_where_configured_both_version_guarded() {
    let deleted = |i: usize, round: u32| {
        let mut entity = supplier(i, round, "DE");
        entity.deleted = true;
        entity
    };
    // Supplier 0: deleted at version 2, then an older version 1 arrives late.
    // Supplier 1: deleted at version 1, then undeleted by version 2.
    let records = vec![
        supplier(0, 1, "DE"),
        deleted(0, 2),
        supplier(0, 1, "DE"),
        deleted(1, 1),
        supplier(1, 2, "DE"),
    ];

    let soft = Harness::start(1).await;
    soft.produce(&records).await;
    let run = soft.spawn("");
    soft.wait_committed(records.len()).await;
    soft.stop(run).await;
    let rows: Vec<(String, bool)> =
        sqlx::query_as("select source_id, deleted from canonflow_supplier order by source_id")
            .fetch_all(&soft.schema.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![("S00000".into(), true), ("S00001".into(), false)]
    );

    let hard = Harness::start(1).await;
    let run = hard.spawn("hard_delete = [\"supplier\"]");
    hard.produce(&[supplier(2, 1, "DE"), supplier(3, 2, "DE")])
        .await;
    hard.wait_committed(2).await;
    hard.produce(&[deleted(2, 2), deleted(3, 1)]).await;
    hard.wait_committed(4).await;
    let totals = hard.stop(run).await;
    let names = hard.names().await;
    assert_eq!(
        names.len(),
        1,
        "supplier 2 removed by its newer delete: {names:?}"
    );
    assert_eq!(
        names[0].0, "S00003",
        "an older delete leaves a newer row alone"
    );
    assert_eq!(totals.applied.deleted, 1, "{totals:?}");
}

/// Supplier 0: written, then a tombstone. Supplier 1: a tombstone, then a
/// newer version (created again). Supplier 2: never deleted. And a
/// tombstone whose key is not a canonical id.
fn entity(
    e: canonflow_canonical::Canonical<canonflow_canonical::entities::Attributes>,
) -> Delivery {
    Delivery::Entity(Box::new(e))
}

fn tombstoned() -> Vec<Delivery> {
    let tombstone =
        |i: usize| Delivery::Tombstone(EntityKind::Supplier, supplier(i, 1, "DE").canonical_id);
    vec![
        entity(supplier(0, 1, "DE")),
        entity(supplier(1, 1, "DE")),
        tombstone(0),
        tombstone(1),
        entity(supplier(1, 2, "DE")),
        entity(supplier(2, 1, "DE")),
        Delivery::Tombstone(EntityKind::Supplier, "S00003".into()),
    ]
}

async fn rows(harness: &Harness) -> Vec<(String, String, bool)> {
    sqlx::query_as("select source_id, name, deleted from canonflow_supplier order by source_id")
        .fetch_all(&harness.schema.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstones_delete_by_canonical_id_where_they_stand_in_the_log_and_replays_converge() {
    let deliveries = tombstoned();
    let soft = Harness::start(1).await;
    soft.deliver(&deliveries).await;
    let run = soft.spawn("");
    soft.wait_committed(deliveries.len()).await;
    let totals = soft.stop(run).await;
    let expected = vec![
        ("S00000".to_owned(), "Supplier 0 v1".to_owned(), true),
        ("S00001".to_owned(), "Supplier 1 v2".to_owned(), false),
        ("S00002".to_owned(), "Supplier 2 v1".to_owned(), false),
    ];
    assert_eq!(rows(&soft).await, expected, "{totals:?}");
    assert_eq!(totals.dead_letters, 1, "the tombstone keyed S00003");
    let dead = drain(
        &soft.stack,
        &soft.topics.topics.dead_letters("sink"),
        support::DEADLINE,
    )
    .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key(), Some(&b"S00003"[..]));

    // A replay of the whole topic: the tombstones apply where they stand.
    let checksum = soft.checksum().await;
    let topic = soft.topics.topics.canonical("supplier");
    canonflow_testkit::reset_offsets(&soft.stack, &soft.group, &topic).await;
    let run = soft.spawn("");
    soft.wait_committed(deliveries.len()).await;
    let replayed = soft.stop(run).await;
    assert_eq!(rows(&soft).await, expected);
    assert_eq!(soft.checksum().await, checksum, "a replay changes nothing");
    assert_eq!(
        replayed.applied.inserted + replayed.applied.updated,
        0,
        "{replayed:?}"
    );

    let hard = Harness::start(1).await;
    hard.deliver(&deliveries).await;
    let run = hard.spawn("hard_delete = [\"supplier\"]");
    hard.wait_committed(deliveries.len()).await;
    let totals = hard.stop(run).await;
    assert_eq!(
        rows(&hard).await,
        expected[1..].to_vec(),
        "supplier 0 removed: {totals:?}"
    );
    assert_eq!(totals.applied.deleted, 1, "{totals:?}");
}
