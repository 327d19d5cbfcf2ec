//! HTTP endpoints of the demo systems, one module per system, and what they
//! share: JSON responses and errors, parameter parsing, absolute URLs.

pub(crate) mod admin;
mod finance;
mod hr;
mod odata;
mod ops;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::store::{Position, Store, Stream};

/// Every data endpoint.
pub(crate) fn data() -> Router<Arc<AppState>> {
    Router::new()
        .merge(hr::router())
        .merge(odata::router())
        .merge(finance::router())
        .merge(ops::router())
}

/// A refused request, already rendered in its system's error format. Boxed,
/// because a `Response` is too large to travel in every `Result`.
#[derive(Debug)]
pub(crate) struct Refusal(Box<Response>);

impl From<Response> for Refusal {
    fn from(response: Response) -> Self {
        Self(Box::new(response))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// A `200 OK` JSON response from pre-built JSON text.
pub(crate) fn json_text(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A JSON error: `{"error": code, "message": message}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": code, "message": message});
    (status, axum::Json(body)).into_response()
}

/// `None` for an absent or empty parameter (clients often send `cursor=`).
pub(crate) fn given(raw: Option<&String>) -> Option<&str> {
    raw.map(String::as_str).filter(|s| !s.is_empty())
}

/// A non-negative integer parameter, `default` when absent.
pub(crate) fn integer(raw: Option<&String>, name: &str, default: u64) -> Result<u64, String> {
    match given(raw) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a non-negative integer, got {text:?}")),
    }
}

/// A page size: at least 1, `default` when absent, capped at `max`.
pub(crate) fn page_size(
    raw: Option<&String>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, String> {
    let size = integer(raw, name, default as u64)?;
    if size == 0 {
        return Err(format!("{name} must be at least 1"));
    }
    Ok(usize::try_from(size).unwrap_or(max).min(max))
}

/// A continuation token made by [`Position::token`].
pub(crate) fn position(raw: Option<&String>, name: &str) -> Result<Option<Position>, String> {
    match given(raw) {
        None => Ok(None),
        Some(token) => Position::parse(token)
            .map(Some)
            .ok_or_else(|| format!("{name} is not one this server issued")),
    }
}

/// `http://host:port` as the client addressed us, for absolute links.
pub(crate) fn request_base(headers: &HeaderMap, state: &AppState) -> String {
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| !host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| state.base_url.clone(), |host| format!("http://{host}"))
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The named stream; a missing one is a bug, answered with a 500.
pub(crate) fn stream<'a>(store: &'a Store, name: &str) -> Result<&'a Stream, Refusal> {
    store.stream(name).ok_or_else(|| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            &format!("stream {name} is missing"),
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_tokens_and_filters() {
        assert_eq!(encode("1714550400000|W000001"), "1714550400000%7CW000001");
        assert_eq!(
            encode("modifiedAt gt 2024-05-01T10:00:00+02:00"),
            "modifiedAt%20gt%202024-05-01T10%3A00%3A00%2B02%3A00"
        );
    }

    #[test]
    fn parses_page_sizes() {
        let raw = |s: &str| Some(s.to_owned());
        assert_eq!(page_size(None, "limit", 100, 1000), Ok(100));
        assert_eq!(page_size(raw("").as_ref(), "limit", 100, 1000), Ok(100));
        assert_eq!(
            page_size(raw("5000").as_ref(), "limit", 100, 1000),
            Ok(1000)
        );
        assert!(page_size(raw("0").as_ref(), "limit", 100, 1000).is_err());
        assert!(page_size(raw("-1").as_ref(), "limit", 100, 1000).is_err());
    }
}
