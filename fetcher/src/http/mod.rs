//! The HTTP client of one source: authentication, a client-side rate limit,
//! retries with exponential backoff and jitter that honour `Retry-After`, a
//! circuit breaker, timeouts and a response size cap.
//!
//! `get` returns a body that is known to be JSON, or an error that names
//! source, stream, URL (without secrets), status and cause. It never
//! returns a partial body.

mod auth;
mod breaker;
mod error;
pub mod redact;

use std::num::NonZeroU32;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};

pub use auth::Auth;
pub use breaker::{Breaker, BreakerState};
pub use error::{FetchError, FetchErrorKind};

use crate::metrics;
use crate::source::{Limits, SourceConfig};

/// Longest `Retry-After` we are willing to wait within one request.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct SourceClient {
    source: String,
    http: Client,
    auth: Auth,
    headers: HeaderMap,
    limits: Limits,
    limiter: Option<DefaultDirectRateLimiter>,
    breaker: Breaker,
}

/// A successful response whose body is valid JSON.
#[derive(Debug)]
pub struct Response {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One failed attempt: what went wrong, and how long the source asked us
/// to wait.
struct Failure {
    kind: FetchErrorKind,
    retry_after: Option<Duration>,
}

impl SourceClient {
    /// Builds the client; errors name the config key.
    pub fn new(config: &SourceConfig) -> Result<Self, (String, String)> {
        let limits = config.limits.clone();
        let http = Client::builder()
            .connect_timeout(Duration::from_millis(limits.connect_timeout_ms))
            .timeout(Duration::from_millis(limits.request_timeout_ms))
            .user_agent(concat!("canonflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                (
                    "limits".to_owned(),
                    format!("cannot build an HTTP client: {e}"),
                )
            })?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let key = format!("headers.{name}");
            let name: reqwest::header::HeaderName = name
                .parse()
                .map_err(|_| (key.clone(), "not a header name".to_owned()))?;
            headers.insert(
                name,
                value
                    .parse()
                    .map_err(|_| (key, "not a header value".to_owned()))?,
            );
        }
        let limiter = match limits.requests_per_second {
            None => None,
            Some(rate) => Some(RateLimiter::direct(Quota::per_second(
                NonZeroU32::new(rate).ok_or((
                    "limits.requests_per_second".to_owned(),
                    "must be at least 1".to_owned(),
                ))?,
            ))),
        };
        Ok(Self {
            source: config.name.clone(),
            auth: Auth::new(&config.auth, &config.base_url)?,
            breaker: Breaker::new(
                limits.breaker_failures,
                Duration::from_millis(limits.breaker_cool_down_ms),
            ),
            http,
            headers,
            limits,
            limiter,
        })
    }

    /// `url` as it may appear in logs, errors and record headers.
    pub fn redact(&self, url: &Url) -> String {
        redact::url(url, self.auth.secret_param())
    }

    /// The query parameter that carries a credential, if any.
    pub fn secret_param(&self) -> Option<&str> {
        self.auth.secret_param()
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// GETs `url`, retrying transient failures; `stream` names the caller
    /// in errors.
    pub async fn get(&self, stream: &str, url: &Url) -> Result<Response, FetchError> {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(self.limits.retry_initial_delay_ms))
            .with_max_delay(Duration::from_millis(self.limits.retry_max_delay_ms))
            .with_max_times(self.limits.max_retries as usize)
            .with_jitter()
            .build();
        let mut reauthenticated = false;
        loop {
            if let Err(wait) = self.breaker.admit() {
                return Err(self.error(stream, url, FetchErrorKind::BreakerOpen(wait)));
            }
            let attempt = self.attempt(stream, url).await;
            match &attempt {
                Ok(_) => self.breaker.record_success(),
                Err(failure) if failure.kind.is_transient() => self.breaker.record_failure(),
                Err(_) => {}
            }
            metrics::breaker(&self.source, self.breaker.state());
            let failure = match attempt {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let unauthorized = matches!(failure.kind, FetchErrorKind::Status { status: 401, .. });
            if unauthorized && !reauthenticated && self.auth.invalidate().await {
                reauthenticated = true;
                continue;
            }
            if !failure.kind.is_transient() {
                return Err(self.error(stream, url, failure.kind));
            }
            let Some(backoff) = delays.next() else {
                return Err(self.error(stream, url, failure.kind));
            };
            metrics::retry(&self.source, stream);
            let wait = failure
                .retry_after
                .map_or(backoff, |asked| asked.min(MAX_RETRY_AFTER));
            tracing::warn!(
                source = %self.source, stream, url = %self.redact(url), error = %failure.kind, ?wait,
                "request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn error(&self, stream: &str, url: &Url, kind: FetchErrorKind) -> FetchError {
        FetchError {
            source_name: self.source.clone(),
            stream: stream.to_owned(),
            url: self.redact(url),
            kind,
        }
    }

    async fn attempt(&self, stream: &str, url: &Url) -> Result<Response, Failure> {
        let fail = |kind| Failure {
            kind,
            retry_after: None,
        };
        if let Some(limiter) = &self.limiter
            && limiter.check().is_err()
        {
            metrics::rate_limit_wait(&self.source);
            limiter.until_ready().await;
        }
        let request = self.http.get(url.clone()).headers(self.headers.clone());
        let request = self
            .auth
            .apply(&self.http, request)
            .await
            .map_err(|e| fail(FetchErrorKind::Token(e)))?;
        let sent = std::time::Instant::now();
        let exchanged = match request.send().await {
            Ok(mut response) => {
                let status = response.status();
                let headers = std::mem::take(response.headers_mut());
                self.read_body(response)
                    .await
                    .map(|body| (status, headers, body))
            }
            Err(e) => Err(transport(&e, &self.limits)),
        };
        let (status, headers, body) = match exchanged {
            Ok(exchange) => exchange,
            Err(kind) => {
                metrics::request(&self.source, stream, None, sent.elapsed(), 0);
                return Err(fail(kind));
            }
        };
        metrics::request(
            &self.source,
            stream,
            Some(status),
            sent.elapsed(),
            body.len(),
        );
        if !status.is_success() {
            let retry_after = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            )
            .then(|| retry_after(&headers))
            .flatten();
            let kind = FetchErrorKind::Status {
                status: status.as_u16(),
                excerpt: error::excerpt(&body),
            };
            return Err(Failure { kind, retry_after });
        }
        check_json(&headers, &body).map_err(fail)?;
        Ok(Response { headers, body })
    }

    /// Reads the body, refusing (not truncating) one over the size cap.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes, FetchErrorKind> {
        let limit = self.limits.max_response_bytes;
        let too_large = FetchErrorKind::TooLarge { limit };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport(&e, &self.limits))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }
}

fn transport(error: &reqwest::Error, limits: &Limits) -> FetchErrorKind {
    if error.is_timeout() {
        FetchErrorKind::Timeout(Duration::from_millis(limits.request_timeout_ms))
    } else {
        // Without the URL: it is reported, redacted, by `FetchError`.
        let mut cause = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            cause = format!("{cause}: {inner}");
            source = inner.source();
        }
        FetchErrorKind::Transport(
            cause.replace(error.url().map(Url::as_str).unwrap_or("\u{0}"), "<url>"),
        )
    }
}

/// A body must be JSON; the content type only helps to say what it was.
fn check_json(headers: &HeaderMap, body: &[u8]) -> Result<(), FetchErrorKind> {
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Ok(_) => Ok(()),
        Err(e) => {
            let content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_owned();
            if content_type.contains("json") {
                Err(FetchErrorKind::Malformed(e.to_string()))
            } else {
                Err(FetchErrorKind::NotJson {
                    content_type,
                    excerpt: error::excerpt(body),
                })
            }
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn bodies_must_be_json() {
        let mut headers = HeaderMap::new();
        assert!(check_json(&headers, br#"{"data":[]}"#).is_ok());
        headers.insert(CONTENT_TYPE, "text/html".parse().unwrap());
        let err = check_json(&headers, b"<html>oops</html>").unwrap_err();
        assert!(err.to_string().contains("text/html"), "{err}");
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let err = check_json(&headers, br#"{"data": [1, 2"#).unwrap_err();
        assert!(matches!(err, FetchErrorKind::Malformed(_)), "{err}");
    }
}
