//! The shape of a source configuration file: one TOML file per source.
//!
//! A source is an external system (base URL, authentication, limits); its
//! streams are the collections fetched from it. Everything a new source
//! needs that is not real logic is declared here. Types only: loading and
//! the checks that types cannot express live in `load.rs`.

use std::collections::BTreeMap;

use canonflow_common::secret::SecretRef;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::cursor::{RenderFormat, TimestampFormat};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Short name used in record keys, headers and metrics: `[a-z0-9_]+`.
    pub name: String,
    /// Absolute URL that stream paths are resolved against.
    pub base_url: url::Url,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub limits: Limits,
    /// Request headers sent with every request (not for secrets: see `auth`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub streams: Vec<StreamConfig>,
}

/// `[auth]`: how requests prove who we are. Secrets are references.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    #[default]
    None,
    /// An API key in a header (`X-API-Key: …`) or a query parameter.
    ApiKey {
        #[serde(rename = "in")]
        location: ApiKeyLocation,
        name: String,
        key: SecretRef,
    },
    Basic {
        username: String,
        password: SecretRef,
    },
    /// A static `Authorization: Bearer …` token.
    Bearer { token: SecretRef },
    /// OAuth2 client credentials; the token is cached and refreshed.
    Oauth2ClientCredentials {
        /// Absolute, or relative to `base_url`.
        token_url: String,
        client_id: String,
        client_secret: SecretRef,
        #[serde(default)]
        scopes: Vec<String>,
        /// Refresh this long before the token expires.
        #[serde(default = "default_refresh_before_secs")]
        refresh_before_secs: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyLocation {
    Header,
    Query,
}

/// `[limits]`: how hard and how patiently to talk to the source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    /// Larger responses fail the page (they are never truncated).
    pub max_response_bytes: usize,
    /// Client-side rate limit for the whole source; none if unset.
    pub requests_per_second: Option<u32>,
    /// Retries of one request after the first attempt.
    pub max_retries: u32,
    pub retry_initial_delay_ms: u64,
    pub retry_max_delay_ms: u64,
    /// Consecutive failed requests that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open before a half-open probe.
    pub breaker_cool_down_ms: u64,
    /// Streams of this source fetched at the same time.
    pub max_concurrent_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 5_000,
            request_timeout_ms: 30_000,
            max_response_bytes: 32 * 1024 * 1024,
            requests_per_second: None,
            max_retries: 5,
            retry_initial_delay_ms: 200,
            retry_max_delay_ms: 30_000,
            breaker_failures: 10,
            breaker_cool_down_ms: 30_000,
            max_concurrent_streams: 4,
        }
    }
}

/// `[[streams]]`: one collection of the source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Short name used in record keys, headers and metrics: `[a-z0-9_]+`.
    pub name: String,
    /// Relative to the source's `base_url`.
    pub path: String,
    /// Static query parameters sent on the first request of every sync.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSON pointer to the array of records in a response (`""` when the
    /// body itself is the array), e.g. `/data`, `/value`, `/d/results`.
    pub records: String,
    /// Field(s) identifying a record: names, or JSON pointers (`/a/b`).
    pub primary_key: Vec<String>,
    /// The incremental cursor; a stream without one is fully refreshed.
    #[serde(default)]
    pub cursor: Option<CursorConfig>,
    pub pagination: Pagination,
    /// Records per page, sent in the pagination's size parameter.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Sync again this often; once per fetcher start if unset.
    #[serde(default)]
    pub every_seconds: Option<u64>,
}

/// `[streams.cursor]`: the field that orders changes, and how the
/// watermark goes back into requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CursorConfig {
    Timestamp {
        /// Field name or JSON pointer.
        field: String,
        format: TimestampFormat,
        /// Zone of naive timestamps, e.g. `Europe/Berlin`.
        #[serde(default)]
        zone: Option<Tz>,
        /// How the watermark is written in requests (defaults to `format`'s).
        #[serde(default)]
        render: Option<RenderFormat>,
        request: WatermarkRequest,
        /// Re-read this many seconds before the watermark, so late or
        /// same-time updates are not missed; re-reads are harmless downstream.
        #[serde(default = "default_lookback_seconds")]
        lookback_seconds: u64,
    },
    /// A monotonically increasing integer (a sequence, a version).
    Number {
        field: String,
        request: WatermarkRequest,
        /// Re-read this many units before the watermark.
        #[serde(default)]
        lookback: u64,
    },
}

impl CursorConfig {
    pub fn field(&self) -> &str {
        match self {
            Self::Timestamp { field, .. } | Self::Number { field, .. } => field,
        }
    }

    pub fn request(&self) -> &WatermarkRequest {
        match self {
            Self::Timestamp { request, .. } | Self::Number { request, .. } => request,
        }
    }

    pub fn lookback(&self) -> u64 {
        match self {
            Self::Timestamp {
                lookback_seconds, ..
            } => *lookback_seconds,
            Self::Number { lookback, .. } => *lookback,
        }
    }
}

/// How the watermark enters the first request of a sync.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WatermarkRequest {
    /// `?<param>=<watermark>`.
    Param { param: String },
    /// `?<param>=<template with {watermark} replaced>`, e.g.
    /// `$filter` = `modifiedAt gt {watermark}`.
    Filter { param: String, template: String },
}

/// How to get from one page to the next. Total-count fields are never
/// trusted to end a sync.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request, one page.
    None,
    /// `?page=N`; ends on an empty or short page.
    PageNumber {
        #[serde(default = "default_page_param")]
        param: String,
        #[serde(default = "one")]
        start: u64,
        size_param: Option<String>,
    },
    /// `?offset=N&limit=M`; ends on an empty or short page.
    OffsetLimit {
        #[serde(default = "default_offset_param")]
        offset_param: String,
        #[serde(default = "default_limit_param")]
        limit_param: String,
    },
    /// A token in the body (JSON pointer `token`) sent back as `param`;
    /// ends when the token is missing, null or empty.
    Cursor {
        token: String,
        param: String,
        size_param: Option<String>,
    },
    /// A next-page URL in the body (JSON pointer `next`), relative or
    /// absolute: OData v4 `/@odata.nextLink`, OData v2 `/d/__next`.
    NextUrl {
        next: String,
        size_param: Option<String>,
    },
    /// The HTTP `Link` header's `rel="next"`.
    LinkHeader { size_param: Option<String> },
}

fn default_refresh_before_secs() -> u64 {
    60
}
fn default_lookback_seconds() -> u64 {
    60
}
fn default_page_size() -> u32 {
    100
}
fn default_page_param() -> String {
    "page".to_owned()
}
fn default_offset_param() -> String {
    "offset".to_owned()
}
fn default_limit_param() -> String {
    "limit".to_owned()
}
fn one() -> u64 {
    1
}
