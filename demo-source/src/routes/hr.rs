//! The HR system: an OAuth2 client-credentials token endpoint and three
//! bearer-protected lists, each paged its own way (opaque cursor, relative
//! next link, `Link` header with page numbers).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Refusal, encode, error, given, integer, json_text, page_size, position, request_base, stream,
};
use crate::app::AppState;
use crate::auth::{basic_credentials, bearer_token, secrets_match};
use crate::store::json_array;
use crate::streams;
use crate::timestamps::{ceil_ms, parse_rfc3339};

type Params = Query<HashMap<String, String>>;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/hr/oauth/token", post(token))
        .route("/hr/v1/workers", get(workers))
        .route("/hr/v1/organizations", get(organizations))
        .route("/hr/v1/positions", get(positions))
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
    }
    let credentials = match (form.client_id, form.client_secret) {
        (Some(id), Some(secret)) => Some((id, secret)),
        _ => basic_credentials(&headers),
    };
    let config = &state.config;
    let valid = credentials.is_some_and(|(id, secret)| {
        // Both compared, always, so timing does not tell which one was wrong.
        secrets_match(&id, &config.hr_client_id) & secrets_match(&secret, &config.hr_client_secret)
    });
    if !valid {
        let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"hr\""),
        );
        return response;
    }
    let access_token = state.tokens.issue(config.token_ttl);
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": config.token_ttl.as_secs(),
    });
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({"error": code}))).into_response()
}

/// 401 unless the request carries a token this server issued and that is still valid.
fn require_token(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
    let challenge = match bearer_token(headers) {
        Some(token) if state.tokens.is_valid(token) => return Ok(()),
        Some(_) => "Bearer realm=\"hr\", error=\"invalid_token\"",
        None => "Bearer realm=\"hr\"",
    };
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "a valid bearer token is required",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    Err(response.into())
}

fn bad_request(message: String) -> Refusal {
    error(StatusCode::BAD_REQUEST, "invalid_request", &message).into()
}

/// `updated_since` as the smallest cursor value to return.
fn updated_since(params: &HashMap<String, String>) -> Result<Option<i64>, Refusal> {
    match given(params.get("updated_since")) {
        None => Ok(None),
        Some(raw) => parse_rfc3339(raw)
            .map(|at| Some(ceil_ms(at)))
            .ok_or_else(|| {
                bad_request(format!(
                    "updated_since must be an RFC 3339 timestamp, got {raw:?}"
                ))
            }),
    }
}

/// `GET /hr/v1/workers?updated_since&limit&cursor` → `{"data":[…],"next_cursor":…}`.
async fn workers(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Refusal> {
    require_token(&state, &headers)?;
    let min_key = updated_since(&params)?;
    let limit = page_size(params.get("limit"), "limit", 100, 1000).map_err(bad_request)?;
    let after = position(params.get("cursor"), "cursor").map_err(bad_request)?;
    let store = state.store();
    let page = stream(&store, streams::HR_WORKERS)?.keyset_page(min_key, after.as_ref(), limit);
    let next = page.next.map_or(Value::Null, |p| Value::String(p.token()));
    Ok(json_text(format!(
        r#"{{"data":{},"next_cursor":{next}}}"#,
        json_array(page.records)
    )))
}

/// `GET /hr/v1/organizations?updated_since&limit&page_token` →
/// `{"items":[…],"links":{"next":"/hr/v1/organizations?…"|null}}`.
async fn organizations(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Refusal> {
    require_token(&state, &headers)?;
    let min_key = updated_since(&params)?;
    let limit = page_size(params.get("limit"), "limit", 100, 1000).map_err(bad_request)?;
    let after = position(params.get("page_token"), "page_token").map_err(bad_request)?;
    let store = state.store();
    let page =
        stream(&store, streams::HR_ORGANIZATIONS)?.keyset_page(min_key, after.as_ref(), limit);
    let next = page.next.map_or(Value::Null, |p| {
        let mut link = format!(
            "/hr/v1/organizations?page_token={}&limit={limit}",
            encode(&p.token())
        );
        if let Some(since) = given(params.get("updated_since")) {
            link.push_str(&format!("&updated_since={}", encode(since)));
        }
        Value::String(link)
    });
    Ok(json_text(format!(
        r#"{{"items":{},"links":{{"next":{next}}}}}"#,
        json_array(page.records)
    )))
}

/// `GET /hr/v1/positions?page&per_page` → a bare array, with a
/// `Link: <…>; rel="next"` header unless it is the last page.
async fn positions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Refusal> {
    require_token(&state, &headers)?;
    let page = integer(params.get("page"), "page", 1).map_err(bad_request)?;
    if page == 0 {
        return Err(bad_request("page is 1-based".to_owned()));
    }
    let per_page = page_size(params.get("per_page"), "per_page", 50, 1000).map_err(bad_request)?;
    let offset = usize::try_from(page - 1)
        .unwrap_or(usize::MAX)
        .saturating_mul(per_page);
    let store = state.store();
    let positions = stream(&store, streams::HR_POSITIONS)?.offset_page(None, offset, per_page);
    let mut response = json_text(json_array(positions.records));
    if offset.saturating_add(per_page) < positions.total {
        let link = format!(
            "<{}/hr/v1/positions?page={}&per_page={per_page}>; rel=\"next\"",
            request_base(&headers, &state),
            page + 1
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}
