//! The small APIs: ops tickets (API key in a header or the query string),
//! ops assets (static bearer token, opaque cursor) and public holidays.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::{Refusal, error, integer, json_text, page_size, position, stream};
use crate::app::AppState;
use crate::auth::{bearer_token, secrets_match};
use crate::store::json_array;
use crate::streams;

type Params = Query<HashMap<String, String>>;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/ops/v1/tickets", get(tickets))
        .route("/ops/v1/assets", get(assets))
        .route("/public/v1/holidays", get(holidays))
}

fn bad_request(message: String) -> Refusal {
    error(StatusCode::BAD_REQUEST, "invalid_request", &message).into()
}

fn unauthorized(challenge: &'static str) -> Response {
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "valid credentials are required",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// `GET /ops/v1/tickets?offset&limit` with `X-API-Key` or `api_key` →
/// `{"results":[…],"count":n}`, ordered by (`updatedAt`, id).
async fn tickets(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Refusal> {
    let key = headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .or_else(|| params.get("api_key").map(String::as_str));
    if !key.is_some_and(|key| secrets_match(key, &state.config.ops_api_key)) {
        return Err(unauthorized("ApiKey header=\"X-API-Key\"").into());
    }
    let offset = integer(params.get("offset"), "offset", 0).map_err(bad_request)?;
    let limit = page_size(params.get("limit"), "limit", 100, 1000).map_err(bad_request)?;
    let store = state.store();
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let found = stream(&store, streams::OPS_TICKETS)?.offset_page(None, offset, limit);
    Ok(json_text(format!(
        r#"{{"results":{},"count":{}}}"#,
        json_array(found.records),
        found.total
    )))
}

/// `GET /ops/v1/assets?cursor&limit` with `Authorization: Bearer …` →
/// `{"data":[…],"next_cursor":…}`, ordered by (`updatedAtMs`, id).
async fn assets(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Refusal> {
    if !bearer_token(&headers)
        .is_some_and(|token| secrets_match(token, &state.config.assets_bearer_token))
    {
        return Err(unauthorized("Bearer realm=\"assets\"").into());
    }
    let limit = page_size(params.get("limit"), "limit", 100, 1000).map_err(bad_request)?;
    let after = position(params.get("cursor"), "cursor").map_err(bad_request)?;
    let store = state.store();
    let page = stream(&store, streams::OPS_ASSETS)?.keyset_page(None, after.as_ref(), limit);
    let next = page.next.map_or(Value::Null, |p| Value::String(p.token()));
    Ok(json_text(format!(
        r#"{{"data":{},"next_cursor":{next}}}"#,
        json_array(page.records)
    )))
}

/// `GET /public/v1/holidays` → `{"holidays":[…]}`, one page, no auth.
async fn holidays(State(state): State<Arc<AppState>>) -> Result<Response, Refusal> {
    let store = state.store();
    let all = stream(&store, streams::PUBLIC_HOLIDAYS)?.records();
    Ok(json_text(format!(r#"{{"holidays":{}}}"#, json_array(all))))
}
