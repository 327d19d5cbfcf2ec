//! Why a request to a source failed, with everything an operator needs to
//! find it: source, stream, URL (secrets removed), status and cause.

use canonflow_common::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
#[error("source {source_name}, stream {stream}, GET {url}: {kind}")]
pub struct FetchError {
    pub source_name: String,
    pub stream: String,
    /// Already redacted: see `redact::url`.
    pub url: String,
    pub kind: FetchErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchErrorKind {
    #[error("HTTP {status}: {excerpt}")]
    Status { status: u16, excerpt: String },
    #[error("request failed: {0}")]
    Transport(String),
    #[error("no response within {0:?}")]
    Timeout(std::time::Duration),
    #[error("response larger than the limit of {limit} bytes (limits.max_response_bytes)")]
    TooLarge { limit: usize },
    #[error("response is not JSON (content-type {content_type:?}): {excerpt}")]
    NotJson {
        content_type: String,
        excerpt: String,
    },
    #[error("response is not valid JSON: {0}")]
    Malformed(String),
    #[error("circuit breaker is open after repeated failures; next probe in {0:?}")]
    BreakerOpen(std::time::Duration),
    #[error("could not get an OAuth2 token: {0}")]
    Token(super::auth::TokenError),
}

impl FetchErrorKind {
    /// Whether another attempt of the same request may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => {
                matches!(status, 408 | 425 | 429 | 500 | 502 | 503 | 504)
            }
            // A cut or garbled body is more often the network than the source.
            Self::Transport(_) | Self::Timeout(_) | Self::Malformed(_) | Self::NotJson { .. } => {
                true
            }
            // An unreachable or overloaded token endpoint, like the source.
            Self::Token(e) => e.transient,
            Self::TooLarge { .. } | Self::BreakerOpen(_) => false,
        }
    }
}

impl Classify for FetchError {
    fn class(&self) -> ErrorClass {
        match &self.kind {
            FetchErrorKind::Status {
                status: 401 | 403 | 404,
                ..
            } => ErrorClass::Fatal,
            // The client refused: fatal. The endpoint away: retried later.
            FetchErrorKind::Token(e) if !e.transient => ErrorClass::Fatal,
            FetchErrorKind::Status { status, .. }
                if (400..500).contains(status) && !self.kind.is_transient() =>
            {
                ErrorClass::Fatal
            }
            FetchErrorKind::TooLarge { .. }
            | FetchErrorKind::Malformed(_)
            | FetchErrorKind::NotJson { .. } => ErrorClass::InvalidInput,
            _ => ErrorClass::Retryable,
        }
    }
}

/// The first ~200 characters of a body, for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let mut text: String = text.chars().filter(|c| !c.is_control()).collect();
    if body.len() > 200 {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::auth::TokenError;

    fn error(kind: FetchErrorKind) -> FetchError {
        FetchError {
            source_name: "hr".into(),
            stream: "workers".into(),
            url: "http://hr/v1/workers".into(),
            kind,
        }
    }

    #[test]
    fn failures_are_retried_or_fatal_by_what_another_attempt_can_change() {
        let token = |transient| {
            FetchErrorKind::Token(TokenError {
                message: "POST http://hr/oauth/token: …".into(),
                transient,
            })
        };
        let status = |status| FetchErrorKind::Status {
            status,
            excerpt: String::new(),
        };
        let cases = [
            // The token endpoint away or overloaded: like the source itself.
            (token(true), true, ErrorClass::Retryable),
            // The client refused: nothing to retry.
            (token(false), false, ErrorClass::Fatal),
            (status(503), true, ErrorClass::Retryable),
            (status(429), true, ErrorClass::Retryable),
            (status(401), false, ErrorClass::Fatal),
            (status(403), false, ErrorClass::Fatal),
            (status(404), false, ErrorClass::Fatal),
            (status(400), false, ErrorClass::Fatal),
            (
                FetchErrorKind::Transport("reset".into()),
                true,
                ErrorClass::Retryable,
            ),
            (
                FetchErrorKind::TooLarge { limit: 1 },
                false,
                ErrorClass::InvalidInput,
            ),
        ];
        for (kind, transient, class) in cases {
            let shown = kind.to_string();
            assert_eq!(kind.is_transient(), transient, "{shown}");
            assert_eq!(error(kind).class(), class, "{shown}");
        }
    }
}
