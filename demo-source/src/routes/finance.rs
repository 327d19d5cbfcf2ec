//! The finance system's plain JSON APIs behind HTTP Basic auth: exchange
//! rates (page numbers, full refresh) and payments (offset/limit with an
//! epoch-seconds `since`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

use super::odata::odata_error;
use super::{Refusal, error, given, integer, json_text, page_size, stream};
use crate::app::AppState;
use crate::auth::{basic_credentials, secrets_match};
use crate::store::json_array;
use crate::streams;

type Params = Query<HashMap<String, String>>;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/finance/api/exchange-rates", get(exchange_rates))
        .route("/finance/api/payments", get(payments))
}

/// 401 with `WWW-Authenticate: Basic` unless the finance user and password are given.
pub(super) fn require_basic(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
    let config = &state.config;
    let valid = basic_credentials(headers).is_some_and(|(user, password)| {
        secrets_match(&user, &config.finance_user)
            & secrets_match(&password, &config.finance_password)
    });
    if valid {
        return Ok(());
    }
    let mut response = odata_error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "valid HTTP Basic credentials are required",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"finance\""),
    );
    Err(response.into())
}

fn bad_request(message: String) -> Refusal {
    error(StatusCode::BAD_REQUEST, "invalid_request", &message).into()
}

/// `GET /finance/api/exchange-rates?page&page_size` → `{"rates":[…],"total":n}`;
/// a short or empty page is the last.
async fn exchange_rates(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Refusal> {
    require_basic(&state, &headers)?;
    let page = integer(params.get("page"), "page", 1).map_err(bad_request)?;
    if page == 0 {
        return Err(bad_request("page is 1-based".to_owned()));
    }
    let size = page_size(params.get("page_size"), "page_size", 50, 1000).map_err(bad_request)?;
    let offset = usize::try_from(page - 1)
        .unwrap_or(usize::MAX)
        .saturating_mul(size);
    let store = state.store();
    let rates = stream(&store, streams::FINANCE_EXCHANGE_RATES)?.offset_page(None, offset, size);
    Ok(json_text(format!(
        r#"{{"rates":{},"total":{}}}"#,
        json_array(rates.records),
        rates.total
    )))
}

/// `GET /finance/api/payments?offset&limit&since` → `{"results":[…],"count":n}`
/// where `count` is how many payments have `updated >= since`.
async fn payments(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Refusal> {
    require_basic(&state, &headers)?;
    let offset = integer(params.get("offset"), "offset", 0).map_err(bad_request)?;
    let limit = page_size(params.get("limit"), "limit", 100, 1000).map_err(bad_request)?;
    let min_key = match given(params.get("since")) {
        None => None,
        Some(raw) => {
            let seconds: i64 = raw.trim().parse().map_err(|_| {
                bad_request(format!("since must be integer epoch seconds, got {raw:?}"))
            })?;
            Some(seconds.saturating_mul(1000))
        }
    };
    let store = state.store();
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let found = stream(&store, streams::FINANCE_PAYMENTS)?.offset_page(min_key, offset, limit);
    Ok(json_text(format!(
        r#"{{"results":{},"count":{}}}"#,
        json_array(found.records),
        found.total
    )))
}
