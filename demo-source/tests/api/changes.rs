//! Changing data: mutated and new records come back in an incremental query
//! from the previous maximum cursor, and cursors never go backwards.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use canonflow_demo_source::{DemoConfig, Snapshot, streams};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const INCREMENTAL: [&str; 9] = [
    streams::HR_WORKERS,
    streams::HR_ORGANIZATIONS,
    streams::FINANCE_COST_CENTERS,
    streams::FINANCE_SUPPLIERS,
    streams::FINANCE_INVOICES,
    streams::FINANCE_GL_ACCOUNTS,
    streams::FINANCE_PAYMENTS,
    streams::OPS_TICKETS,
    streams::OPS_ASSETS,
];

/// A version as a comparable number (milliseconds, or seconds for payments).
fn order(version: &Value) -> i64 {
    if let Some(number) = version.as_i64() {
        return number;
    }
    let text = version.as_str().unwrap();
    if text.starts_with("/Date(") {
        return odata_v2_ms(version);
    }
    if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return naive.and_utc().timestamp_millis();
    }
    instant(version).timestamp_millis()
}

fn versions_by_id(snapshot: &Snapshot, stream: &str) -> BTreeMap<String, Value> {
    let records = &snapshot.stream(stream).unwrap().records;
    records
        .iter()
        .map(|r| (r.id.clone(), r.version.clone().unwrap()))
        .collect()
}

/// Ids whose version differs between the snapshots, or that are new.
fn changed(before: &Snapshot, after: &Snapshot, stream: &str) -> Vec<String> {
    let old = versions_by_id(before, stream);
    versions_by_id(after, stream)
        .into_iter()
        .filter(|(id, version)| old.get(id) != Some(version))
        .map(|(id, _)| id)
        .collect()
}

fn latest(snapshot: &Snapshot, stream: &str) -> Value {
    versions(snapshot, stream)
        .into_iter()
        .max_by_key(order)
        .unwrap()
}

/// Ids at or after `from` in `after`, checked to be the changed ones plus
/// unchanged records sitting exactly on the boundary.
fn at_or_after(before: &Snapshot, after: &Snapshot, stream: &str, from: &Value) -> Vec<String> {
    let expected = ids_where(after, stream, |v| order(v) >= order(from));
    let changed: HashSet<String> = changed(before, after, stream).into_iter().collect();
    let old = versions_by_id(before, stream);
    for id in &expected {
        let on_boundary = old.get(id).is_some_and(|v| order(v) == order(from));
        assert!(
            changed.contains(id) || on_boundary,
            "{stream} {id} is neither changed nor on the boundary"
        );
    }
    assert!(changed.iter().all(|id| expected.contains(id)));
    expected
}

#[tokio::test]
async fn mutated_records_reappear_from_the_previous_maximum() {
    let t = start().await;
    let before = t.snapshot();
    assert_eq!(t.source.mutate(300), 300);
    let after = t.snapshot();

    let mut total = 0;
    for stream in INCREMENTAL {
        let changed = changed(&before, &after, stream);
        assert!(!changed.is_empty(), "{stream} unchanged");
        let previous = order(&latest(&before, stream));
        for id in &changed {
            let version = versions_by_id(&after, stream)[id].clone();
            assert!(
                order(&version) > previous,
                "{stream} {id} not after the previous maximum"
            );
        }
        total += changed.len();
    }
    assert_eq!(total, 300);
    let created = snapshot_ids(&after, streams::HR_WORKERS).len()
        - snapshot_ids(&before, streams::HR_WORKERS).len();
    let created_everywhere: usize = INCREMENTAL
        .iter()
        .map(|s| snapshot_ids(&after, s).len() - snapshot_ids(&before, s).len())
        .sum();
    assert!(
        created_everywhere > 5 && created_everywhere < 100,
        "{created_everywhere} created ({created} workers)"
    );

    // `>=` queries: changed records plus unchanged ones on the boundary.
    let token = t.hr_token().await;
    for (stream, path, key) in [
        (streams::HR_WORKERS, "/hr/v1/workers", "data"),
        (streams::HR_ORGANIZATIONS, "/hr/v1/organizations", "items"),
    ] {
        let from = latest(&before, stream);
        let url = t.url(&format!(
            "{path}?limit=1000&updated_since={}",
            encode(from.as_str().unwrap())
        ));
        let reply = t.hr_get(&token, &url).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_exactly(
            &ids(&reply.json()[key], "id"),
            &at_or_after(&before, &after, stream, &from),
        );
    }
    let from = latest(&before, streams::FINANCE_PAYMENTS);
    let url = t.url(&format!("/finance/api/payments?limit=1000&since={from}"));
    let served = ids(&t.finance_get(&url).await.json()["results"], "id");
    assert_exactly(
        &served,
        &at_or_after(&before, &after, streams::FINANCE_PAYMENTS, &from),
    );

    // `gt` queries: exactly the changed records.
    for (stream, set, id_field) in [
        (streams::FINANCE_COST_CENTERS, "CostCenters", "CostCenterID"),
        (streams::FINANCE_SUPPLIERS, "Suppliers", "SupplierID"),
        (streams::FINANCE_INVOICES, "Invoices", "InvoiceID"),
    ] {
        let from = latest(&before, stream);
        let filter = encode(&format!("modifiedAt gt {}", from.as_str().unwrap()));
        let url = t.url(&format!(
            "/finance/odata/v4/{set}?$filter={filter}&$top=1000"
        ));
        let served = ids(&t.finance_get(&url).await.json()["value"], id_field);
        assert_exactly(&served, &changed(&before, &after, stream));
    }
    let from = odata_v2_ms(&latest(&before, streams::FINANCE_GL_ACCOUNTS));
    let literal = chrono::DateTime::from_timestamp_millis(from)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let filter = encode(&format!("LastChangeDateTime gt datetimeoffset'{literal}'"));
    let url = t.url(&format!(
        "/finance/odata/v2/GLAccounts?$filter={filter}&$top=1000"
    ));
    let served = ids(
        &t.finance_get(&url).await.json()["d"]["results"],
        "GLAccount",
    );
    assert_exactly(
        &served,
        &changed(&before, &after, streams::FINANCE_GL_ACCOUNTS),
    );
}

#[tokio::test]
async fn back_to_back_batches_get_strictly_later_versions() {
    let t = start().await;
    t.source.mutate(200);
    let first = t.snapshot();
    t.source.mutate(200);
    let second = t.snapshot();
    for stream in INCREMENTAL {
        let previous = order(&latest(&first, stream));
        let changed = changed(&first, &second, stream);
        assert!(!changed.is_empty(), "{stream} unchanged");
        let after = versions_by_id(&second, stream);
        for id in changed {
            assert!(
                order(&after[&id]) > previous,
                "{stream} {id} shares or precedes an earlier version"
            );
        }
    }
}

#[tokio::test]
async fn mutate_over_http_reports_the_count() {
    let t = start().await;
    let before = t.snapshot();
    let reply = send(t.client.post(t.url("/admin/mutate?count=7"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::json!({"mutated": 7}));
    let after = t.snapshot();
    let total: usize = INCREMENTAL
        .iter()
        .map(|s| changed(&before, &after, s).len())
        .sum();
    assert_eq!(total, 7);
    let reply = send(t.client.post(t.url("/admin/mutate?count=lots"))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn background_task_changes_data_on_its_own() {
    let t = start_with(DemoConfig {
        mutate_every: Some(Duration::from_millis(5)),
        ..DemoConfig::default()
    })
    .await;
    let before = t.snapshot();
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if t.snapshot() != before {
                return;
            }
        }
    })
    .await;
    assert!(waited.is_ok(), "no background change within 10 s");
}

#[tokio::test]
async fn data_depends_only_on_seed_and_scale() {
    let a = start().await.snapshot();
    let b = start().await.snapshot();
    assert_eq!(a, b);
    let other_seed = start_with(DemoConfig {
        seed: 7,
        ..DemoConfig::default()
    })
    .await
    .snapshot();
    assert_ne!(a, other_seed);
    let double = start_with(DemoConfig {
        scale: 2,
        ..DemoConfig::default()
    })
    .await
    .snapshot();
    for stream in streams::ALL {
        let single = a.stream(stream).unwrap().total;
        let expected = if stream == streams::PUBLIC_HOLIDAYS {
            single
        } else {
            2 * single
        };
        assert_eq!(double.stream(stream).unwrap().total, expected, "{stream}");
    }
}
