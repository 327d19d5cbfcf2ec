//! The finance system: HTTP Basic auth, OData v4 and v2 paging and filters,
//! page-number exchange rates and offset/limit payments.

use canonflow_demo_source::streams;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn every_endpoint_needs_basic_auth() {
    let t = start().await;
    for path in [
        "/finance/odata/v4/Invoices",
        "/finance/odata/v2/GLAccounts",
        "/finance/api/exchange-rates",
        "/finance/api/payments",
    ] {
        let reply = send(t.client.get(t.url(path))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .starts_with("Basic"),
            "{path}"
        );
        let wrong = t
            .client
            .get(t.url(path))
            .basic_auth("finance", Some("guess"));
        assert_eq!(send(wrong).await.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            t.finance_get(&t.url(path)).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
}

/// Follows `@odata.nextLink` from `first`; returns the ids under `id_field`.
async fn walk_v4(t: &TestSource, first: &str, set: &str, id_field: &str) -> Vec<String> {
    let mut served = Vec::new();
    let mut url = Some(t.url(first));
    while let Some(next) = url {
        let reply = t.finance_get(&next).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page = reply.json();
        let context = page["@odata.context"].as_str().unwrap();
        assert!(
            context.ends_with(&format!("/finance/odata/v4/$metadata#{set}")),
            "{context}"
        );
        served.extend(ids(&page["value"], id_field));
        url = page["@odata.nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &url {
            assert!(link.starts_with("http://"), "not absolute: {link}");
        }
    }
    served
}

#[tokio::test]
async fn odata_v4_next_links_cover_each_entity_set() {
    let t = start().await;
    let snapshot = t.snapshot();
    for (set, id_field, stream) in [
        ("CostCenters", "CostCenterID", streams::FINANCE_COST_CENTERS),
        ("Suppliers", "SupplierID", streams::FINANCE_SUPPLIERS),
        ("Invoices", "InvoiceID", streams::FINANCE_INVOICES),
    ] {
        let served = walk_v4(
            &t,
            &format!("/finance/odata/v4/{set}?$top=77"),
            set,
            id_field,
        )
        .await;
        assert_exactly(&served, &snapshot_ids(&snapshot, stream));
    }
}

#[tokio::test]
async fn odata_v4_filters_on_modified_at() {
    let t = start().await;
    let snapshot = t.snapshot();
    let boundary = versions(&snapshot, streams::FINANCE_INVOICES)[1500].clone();
    let at = instant(&boundary);
    let literal = boundary.as_str().unwrap();
    for (operator, keep) in [("gt", true), ("ge", false)] {
        let expected = ids_where(&snapshot, streams::FINANCE_INVOICES, |v| {
            if keep {
                instant(v) > at
            } else {
                instant(v) >= at
            }
        });
        assert!(
            expected.len() > 100 && expected.len() < 700,
            "{operator}: {}",
            expected.len()
        );
        let filter = encode(&format!("modifiedAt {operator} {literal}"));
        let first = format!("/finance/odata/v4/Invoices?$filter={filter}&$top=50");
        let served = walk_v4(&t, &first, "Invoices", "InvoiceID").await;
        assert_exactly(&served, &expected);
    }
}

#[tokio::test]
async fn odata_v4_rejects_unsupported_filters() {
    let t = start().await;
    for filter in [
        "Name eq 'Acme'",
        "modifiedAt lt 2024-01-01T00:00:00Z",
        "modifiedAt gt soon",
    ] {
        let url = t.url(&format!(
            "/finance/odata/v4/Suppliers?$filter={}",
            encode(filter)
        ));
        let reply = t.finance_get(&url).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{filter}");
        assert_eq!(reply.json()["error"]["code"], "BadRequest", "{filter}");
    }
    let reply = t.finance_get(&t.url("/finance/odata/v4/Nonsense")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

async fn walk_v2(t: &TestSource, first: &str) -> Vec<String> {
    let mut served = Vec::new();
    let mut url = Some(t.url(first));
    while let Some(next) = url {
        let reply = t.finance_get(&next).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page = reply.json();
        served.extend(ids(&page["d"]["results"], "GLAccount"));
        url = page["d"]["__next"].as_str().map(str::to_owned);
    }
    served
}

#[tokio::test]
async fn odata_v2_gl_accounts_page_and_filter() {
    let t = start().await;
    let snapshot = t.snapshot();
    let served = walk_v2(&t, "/finance/odata/v2/GLAccounts?$top=40").await;
    assert_exactly(
        &served,
        &snapshot_ids(&snapshot, streams::FINANCE_GL_ACCOUNTS),
    );

    let boundary = odata_v2_ms(&versions(&snapshot, streams::FINANCE_GL_ACCOUNTS)[200]);
    let expected = ids_where(&snapshot, streams::FINANCE_GL_ACCOUNTS, |v| {
        odata_v2_ms(v) > boundary
    });
    assert_eq!(expected.len(), 99);
    let literal = chrono::DateTime::from_timestamp_millis(boundary)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let filter = encode(&format!("LastChangeDateTime gt datetimeoffset'{literal}'"));
    let served = walk_v2(
        &t,
        &format!("/finance/odata/v2/GLAccounts?$filter={filter}&$top=25"),
    )
    .await;
    assert_exactly(&served, &expected);
}

#[tokio::test]
async fn exchange_rate_pages_end_with_a_short_page() {
    let t = start().await;
    let mut served = Vec::new();
    for page in 1.. {
        let url = t.url(&format!(
            "/finance/api/exchange-rates?page={page}&page_size=40"
        ));
        let reply = t.finance_get(&url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["total"], 150);
        let rates = ids(&body["rates"], "id");
        let short = rates.len() < 40;
        served.extend(rates);
        if short {
            assert_eq!(page, 4);
            break;
        }
    }
    assert_eq!(
        served,
        snapshot_ids(&t.snapshot(), streams::FINANCE_EXCHANGE_RATES)
    );
}

/// Walks `/finance/api/payments` by offset; returns ids and the reported count.
async fn walk_payments(t: &TestSource, since: Option<i64>) -> (Vec<String>, u64) {
    let since = since.map(|s| format!("&since={s}")).unwrap_or_default();
    let mut served = Vec::new();
    loop {
        let url = t.url(&format!(
            "/finance/api/payments?offset={}&limit=300{since}",
            served.len()
        ));
        let reply = t.finance_get(&url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let body = reply.json();
        let count = body["count"].as_u64().unwrap();
        let page = ids(&body["results"], "id");
        if page.is_empty() {
            return (served, count);
        }
        served.extend(page);
    }
}

#[tokio::test]
async fn payments_page_by_offset_and_filter_by_epoch_seconds() {
    let t = start().await;
    let snapshot = t.snapshot();
    let (served, count) = walk_payments(&t, None).await;
    assert_eq!(count, 1000);
    assert_exactly(&served, &snapshot_ids(&snapshot, streams::FINANCE_PAYMENTS));

    let boundary = versions(&snapshot, streams::FINANCE_PAYMENTS)[600]
        .as_i64()
        .unwrap();
    let expected = ids_where(&snapshot, streams::FINANCE_PAYMENTS, |v| {
        v.as_i64().unwrap() >= boundary
    });
    let (served, count) = walk_payments(&t, Some(boundary)).await;
    assert_eq!(count, expected.len() as u64);
    assert!((400..1000).contains(&count));
    assert_exactly(&served, &expected);

    let reply = t
        .finance_get(&t.url("/finance/api/payments?since=2024-01-01"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}
