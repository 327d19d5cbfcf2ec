//! The finance system's OData services: v4 entity sets (`$filter` on
//! `modifiedAt`, `$top`, `$skiptoken`, `@odata.nextLink`) and the v2-style
//! G/L accounts (`{"d":{"results":…,"__next":…}}`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::finance::require_basic;
use super::{Refusal, encode, given, json_text, page_size, position, request_base, stream};
use crate::app::AppState;
use crate::store::json_array;
use crate::streams;
use crate::timestamps::{after_ms, ceil_ms, parse_rfc3339};

type Params = Query<HashMap<String, String>>;

/// v4 entity sets and the streams behind them.
const ENTITY_SETS: &[(&str, &str)] = &[
    ("CostCenters", streams::FINANCE_COST_CENTERS),
    ("Suppliers", streams::FINANCE_SUPPLIERS),
    ("Invoices", streams::FINANCE_INVOICES),
];

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/finance/odata/v4/{entity_set}", get(v4))
        .route("/finance/odata/v2/GLAccounts", get(v2_gl_accounts))
}

/// An OData error body: `{"error":{"code":…,"message":…}}`.
pub(super) fn odata_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn bad_request(message: String) -> Refusal {
    odata_error(StatusCode::BAD_REQUEST, "BadRequest", &message).into()
}

/// Parses `<field> gt|ge <literal>` into the smallest cursor value to
/// return; `literal` turns the literal text into an instant.
fn parse_filter(
    filter: &str,
    field: &str,
    literal: impl Fn(&str) -> Option<chrono::DateTime<chrono::FixedOffset>>,
) -> Result<i64, Refusal> {
    let unsupported = || {
        bad_request(format!(
            "unsupported $filter {filter:?}: only '{field} gt <timestamp>' and '{field} ge <timestamp>' are supported"
        ))
    };
    let (name, rest) = filter.trim().split_once(' ').ok_or_else(unsupported)?;
    let (operator, value) = rest.trim_start().split_once(' ').ok_or_else(unsupported)?;
    if name != field {
        return Err(unsupported());
    }
    let at = literal(value.trim()).ok_or_else(unsupported)?;
    match operator.to_ascii_lowercase().as_str() {
        "gt" => Ok(after_ms(at)),
        "ge" => Ok(ceil_ms(at)),
        _ => Err(unsupported()),
    }
}

/// `GET /finance/odata/v4/{CostCenters|Suppliers|Invoices}?$filter&$top&$skiptoken`.
async fn v4(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(entity_set): Path<String>,
    Query(params): Params,
) -> Result<Response, Refusal> {
    require_basic(&state, &headers)?;
    let Some(&(set, stream_name)) = ENTITY_SETS.iter().find(|(set, _)| *set == entity_set) else {
        let message = format!("resource {entity_set:?} not found");
        return Err(odata_error(StatusCode::NOT_FOUND, "NotFound", &message).into());
    };
    let filter = given(params.get("$filter"));
    let min_key = filter
        .map(|f| parse_filter(f, "modifiedAt", parse_rfc3339))
        .transpose()?;
    let top = page_size(params.get("$top"), "$top", 100, 1000).map_err(bad_request)?;
    let after = position(params.get("$skiptoken"), "$skiptoken").map_err(bad_request)?;
    let base = request_base(&headers, &state);
    let store = state.store();
    let page = stream(&store, stream_name)?.keyset_page(min_key, after.as_ref(), top);
    let context = Value::String(format!("{base}/finance/odata/v4/$metadata#{set}"));
    let next_link = page.next.map(|p| {
        let filter = filter
            .map(|f| format!("$filter={}&", encode(f)))
            .unwrap_or_default();
        let url = format!(
            "{base}/finance/odata/v4/{set}?{filter}$top={top}&$skiptoken={}",
            encode(&p.token())
        );
        format!(r#","@odata.nextLink":{}"#, Value::String(url))
    });
    Ok(json_text(format!(
        r#"{{"@odata.context":{context},"value":{}{}}}"#,
        json_array(page.records),
        next_link.unwrap_or_default()
    )))
}

/// `datetimeoffset'2024-01-01T00:00:00Z'`, or `datetime'2024-01-01T00:00:00'` (read as UTC).
fn v2_literal(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    if let Some(inner) = text.strip_prefix("datetimeoffset'") {
        return parse_rfc3339(inner.strip_suffix('\'')?);
    }
    let inner = text.strip_prefix("datetime'")?.strip_suffix('\'')?;
    let naive = NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M"))
        .ok()?;
    Some(naive.and_utc().fixed_offset())
}

/// `GET /finance/odata/v2/GLAccounts?$filter=LastChangeDateTime gt datetimeoffset'…'&$top&$skiptoken`.
async fn v2_gl_accounts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Refusal> {
    require_basic(&state, &headers)?;
    let filter = given(params.get("$filter"));
    let min_key = filter
        .map(|f| parse_filter(f, "LastChangeDateTime", v2_literal))
        .transpose()?;
    let top = page_size(params.get("$top"), "$top", 100, 1000).map_err(bad_request)?;
    let after = position(params.get("$skiptoken"), "$skiptoken").map_err(bad_request)?;
    let base = request_base(&headers, &state);
    let store = state.store();
    let page =
        stream(&store, streams::FINANCE_GL_ACCOUNTS)?.keyset_page(min_key, after.as_ref(), top);
    let next = page.next.map(|p| {
        let filter = filter
            .map(|f| format!("$filter={}&", encode(f)))
            .unwrap_or_default();
        let url = format!(
            "{base}/finance/odata/v2/GLAccounts?{filter}$top={top}&$skiptoken={}",
            encode(&p.token())
        );
        format!(r#","__next":{}"#, Value::String(url))
    });
    Ok(json_text(format!(
        r#"{{"d":{{"results":{}{}}}}}"#,
        json_array(page.records),
        next.unwrap_or_default()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_filters_only() {
        let at = |s: &str| parse_rfc3339(s).unwrap().timestamp_millis();
        let v4 = |f: &str| parse_filter(f, "modifiedAt", parse_rfc3339).ok();
        assert_eq!(
            v4("modifiedAt gt 2024-05-01T10:00:00Z"),
            Some(at("2024-05-01T10:00:00Z") + 1)
        );
        assert_eq!(
            v4("modifiedAt ge 2024-05-01T10:00:00+02:00"),
            Some(at("2024-05-01T08:00:00Z"))
        );
        assert_eq!(
            v4("modifiedAt ge 2024-05-01T10:00:00 02:00"),
            Some(at("2024-05-01T08:00:00Z"))
        );
        assert_eq!(v4("modifiedAt lt 2024-05-01T10:00:00Z"), None);
        assert_eq!(v4("Name eq 'x'"), None);
        assert_eq!(v4("modifiedAt gt yesterday"), None);
        let v2 = |f: &str| parse_filter(f, "LastChangeDateTime", v2_literal).ok();
        assert_eq!(
            v2("LastChangeDateTime gt datetimeoffset'2024-01-01T00:00:00Z'"),
            Some(at("2024-01-01T00:00:00Z") + 1)
        );
        assert_eq!(
            v2("LastChangeDateTime ge datetime'2024-01-01T00:00:00'"),
            Some(at("2024-01-01T00:00:00Z"))
        );
        assert_eq!(v2("LastChangeDateTime gt 2024-01-01T00:00:00Z"), None);
    }
}
