//! Injected faults for tests: one active [`Fault`] that answers matching data
//! requests with rate limits, errors, delays or broken bodies. Admin and
//! token endpoints are never faulted, so a test can always clear a fault.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::AppState;

/// What a faulted request gets instead of (or on top of) its normal answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// No fault: every request is answered normally.
    #[default]
    None,
    /// 429 with `Retry-After`.
    RateLimit { retry_after_secs: u64 },
    /// 503 with `Retry-After`.
    Unavailable { retry_after_secs: u64 },
    /// 500.
    ServerError,
    /// The normal answer, after a delay.
    Slow { delay_ms: u64 },
    /// The normal answer with its body cut in half.
    Truncated,
    /// 200 with a JSON body that breaks off: `{"data": [` and garbage.
    Malformed,
    /// 200 with an HTML error page.
    NotJson,
    /// 403: the credentials are valid but not allowed this data.
    Forbidden,
    /// The first matching request gets a 500, the next ones are answered
    /// normally (a [`FaultKind::ServerError`] with count 1).
    FailOnce,
}

/// A fault, the requests it applies to, and how many of them get it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fault {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Only paths starting with this; all data endpoints when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// How many matching requests get the fault before it clears; 0 = until replaced.
    #[serde(default)]
    pub count: u32,
}

impl Fault {
    /// A fault for every data request until replaced.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            path_prefix: None,
            count: 0,
        }
    }

    /// No fault.
    pub fn none() -> Self {
        Self::default()
    }

    /// Restricts the fault to paths starting with `prefix`.
    pub fn on(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Clears the fault after `count` matching requests.
    pub fn times(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// `FailOnce` is stored as what it means: one server error.
    fn normalised(self) -> Self {
        match self.kind {
            FaultKind::FailOnce => Self {
                kind: FaultKind::ServerError,
                count: 1,
                ..self
            },
            _ => self,
        }
    }
}

/// The active fault, shared by the middleware and the admin API.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    active: Mutex<Fault>,
}

impl FaultState {
    pub(crate) fn set(&self, fault: Fault) {
        *self.active.lock().unwrap_or_else(|e| e.into_inner()) = fault.normalised();
    }

    pub(crate) fn current(&self) -> Fault {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The fault this request gets, if any, counting it against the fault's count.
    fn take_for(&self, path: &str) -> Option<FaultKind> {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if active.kind == FaultKind::None {
            return None;
        }
        if let Some(prefix) = &active.path_prefix
            && !path.starts_with(prefix.as_str())
        {
            return None;
        }
        let kind = active.kind.clone();
        if active.count > 0 {
            active.count -= 1;
            if active.count == 0 {
                *active = Fault::none();
            }
        }
        Some(kind)
    }
}

/// Whether a path is a data endpoint faults may apply to.
fn faultable(path: &str) -> bool {
    !path.starts_with("/admin") && path != "/hr/oauth/token"
}

/// Middleware: answers with the active fault when the request matches it.
pub(crate) async fn inject(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let kind = if faultable(path) {
        state.faults.take_for(path)
    } else {
        None
    };
    match kind {
        None | Some(FaultKind::None) => next.run(request).await,
        Some(FaultKind::RateLimit { retry_after_secs }) => retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            retry_after_secs,
        ),
        Some(FaultKind::Unavailable { retry_after_secs }) => retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            retry_after_secs,
        ),
        Some(FaultKind::ServerError | FaultKind::FailOnce) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"internal_error","message":"injected server error"}"#,
        )
            .into_response(),
        Some(FaultKind::Slow { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            next.run(request).await
        }
        Some(FaultKind::Truncated) => truncate(next.run(request).await).await,
        Some(FaultKind::Malformed) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"data": [{"id": "W000001", "firstName": <<garbage>> ]}"#,
        )
            .into_response(),
        Some(FaultKind::Forbidden) => (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"forbidden","message":"this client may not read this resource"}"#,
        )
            .into_response(),
        Some(FaultKind::NotJson) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>\
             <body><h1>Bad Gateway</h1><p>The upstream server is unavailable.</p></body></html>",
        )
            .into_response(),
    }
}

fn retry_later(status: StatusCode, code: &str, retry_after_secs: u64) -> Response {
    let body = format!(r#"{{"error":"{code}","message":"injected fault, retry later"}}"#);
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// The response with only the first half of its body.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_internally_tagged() {
        let fault = Fault::new(FaultKind::RateLimit {
            retry_after_secs: 1,
        })
        .on("/hr")
        .times(3);
        let json = serde_json::to_value(&fault).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind":"rate_limit","retry_after_secs":1,"path_prefix":"/hr","count":3})
        );
        assert_eq!(serde_json::from_value::<Fault>(json).unwrap(), fault);
        let minimal: Fault = serde_json::from_str(r#"{"kind":"truncated"}"#).unwrap();
        assert_eq!(minimal, Fault::new(FaultKind::Truncated));
    }

    #[test]
    fn counts_down_and_clears() {
        let state = FaultState::default();
        state.set(Fault::new(FaultKind::FailOnce).on("/finance"));
        assert_eq!(state.take_for("/hr/v1/workers"), None);
        assert_eq!(
            state.take_for("/finance/api/payments"),
            Some(FaultKind::ServerError)
        );
        assert_eq!(state.take_for("/finance/api/payments"), None);
        assert_eq!(state.current(), Fault::none());
    }
}
