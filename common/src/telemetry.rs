//! Logging and tracing set-up: human-readable lines locally, JSON lines in
//! production, spans as OpenTelemetry spans (`observe::trace`); the
//! `[telemetry]` section, whose endpoint settings `observe` reads.
//!
//! `RUST_LOG`, when set, overrides the configured level. Must be called once,
//! at the start of a binary; libraries only emit `tracing` events and spans.

use std::io::IsTerminal as _;

use serde::Deserialize;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::observe::trace::{TraceError, Traces};

/// `[telemetry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    #[serde(default)]
    pub log_format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `info,canonflow_sink=debug`.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Serve `/metrics`, `/healthz` and `/readyz` (see `observe`).
    #[serde(default = "yes")]
    pub http: bool,
    /// Where to serve them; unset: 127.0.0.1 and the stage's own port
    /// (fetcher 9101, transformer 9102, sink 9103). Port 0 picks a free one.
    #[serde(default)]
    pub listen: Option<std::net::SocketAddr>,
    /// Seconds without progress of the work loop after which `/readyz`
    /// reports the process stalled.
    #[serde(default = "default_stall_secs")]
    pub stall_secs: u64,
    /// An OpenTelemetry collector's OTLP/HTTP base URL, e.g.
    /// `http://otel-collector:4318`: spans are exported there. Unset: to
    /// where `OTEL_EXPORTER_OTLP_ENDPOINT` says, if set, else nowhere.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::default(),
            log_level: default_log_level(),
            http: true,
            listen: None,
            stall_secs: default_stall_secs(),
            otlp_endpoint: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Compact, coloured when on a terminal: for people.
    #[default]
    Human,
    /// One JSON object per line: for log collectors.
    Json,
}

fn yes() -> bool {
    true
}

fn default_stall_secs() -> u64 {
    120
}

fn default_log_level() -> String {
    "info".to_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry.log_level {level:?} is not a valid filter: {source}")]
    Filter {
        level: String,
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("a global logger is already installed")]
    AlreadyInstalled,
    #[error(transparent)]
    Traces(#[from] TraceError),
}

/// Installs the global subscriber: logs to stderr, spans to the tracer
/// of `service` (e.g. `canonflow-sink`). Keep what it returns until the
/// process ends: dropping it flushes the spans not yet exported.
pub fn init(config: &TelemetryConfig, service: &str) -> Result<Traces, TelemetryError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => EnvFilter::try_new(&env),
        _ => EnvFilter::try_new(&config.log_level),
    }
    .map_err(|source| TelemetryError::Filter {
        level: config.log_level.clone(),
        source,
    })?;
    let traces = Traces::start(service, config.otlp_endpoint.as_deref())?;
    let spans = tracing_opentelemetry::layer()
        .with_tracer(traces.tracer())
        .with_tracked_inactivity(false);
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let lines = match config.log_format {
        LogFormat::Human => lines.compact().boxed(),
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .flatten_event(true)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(spans)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(traces)
}
