//! Observability every stage shares: the metrics spec ([`names`]), health
//! ([`health`]), Kafka client statistics turned into lag and connectivity
//! ([`kafka`]), one HTTP endpoint per process serving `/metrics`
//! (Prometheus text), `/healthz` and `/readyz` ([`serve`]), and traces
//! across the stages ([`trace`]).
//!
//! Stages record through the `metrics` facade with names from [`names`];
//! without an installed recorder (library tests, embedding) that costs
//! nothing and exports nothing. [`install`] — called by a stage binary's
//! start-up — installs the Prometheus recorder and starts the endpoint.

pub mod health;
pub mod kafka;
pub mod names;
mod serve;
pub mod trace;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

pub use health::{Dependency, health};

use crate::telemetry::TelemetryConfig;

/// The process kinds that export metrics; the `stage` label's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Fetcher,
    Transformer,
    Sink,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fetcher => "fetcher",
            Self::Transformer => "transformer",
            Self::Sink => "sink",
        }
    }

    /// The endpoint's port when `[telemetry] listen` is not set: one per
    /// stage, so the three run side by side on one machine.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Fetcher => 9101,
            Self::Transformer => 9102,
            Self::Sink => 9103,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(
        "telemetry.listen: cannot listen on {address}: {source} (set [telemetry] listen, or CANONFLOW__TELEMETRY__LISTEN, to a free address; port 0 picks one)"
    )]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("a metrics recorder is already installed")]
    Recorder,
}

/// How often histograms are compacted for rendering.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder, describes every metric of the spec and
/// serves the endpoint; returns the address it listens on. Does nothing
/// (and returns `None`) when `[telemetry] http = false`. Must be called
/// inside a Tokio runtime.
pub fn install(stage: Stage, config: &TelemetryConfig) -> Result<Option<SocketAddr>, ObserveError> {
    health().set_stall_limit(Duration::from_secs(config.stall_secs));
    if !config.http {
        return Ok(None);
    }
    let address = config.listen.unwrap_or(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        stage.default_port(),
    ));
    let listener = std::net::TcpListener::bind(address)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .and_then(tokio::net::TcpListener::from_std)
        .map_err(|source| ObserveError::Bind { address, source })?;
    let bound = listener.local_addr().unwrap_or(address);

    let mut builder = PrometheusBuilder::new();
    for metric in names::ALL
        .iter()
        .filter(|m| m.kind == names::Kind::Histogram)
    {
        builder = builder
            .set_buckets_for_metric(
                Matcher::Full(metric.name.to_owned()),
                names::buckets(metric.name),
            )
            .map_err(|_| ObserveError::Recorder)?;
    }
    let handle = builder
        .install_recorder()
        .map_err(|_| ObserveError::Recorder)?;
    describe();
    metrics::gauge!(names::BUILD_INFO, "stage" => stage.as_str(), "version" => env!("CARGO_PKG_VERSION"))
        .set(1.0);

    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP_EVERY).await;
            upkeep.run_upkeep();
        }
    });
    tokio::spawn(serve::serve(listener, handle));
    tracing::info!(address = %bound, "serving /metrics, /healthz and /readyz");
    Ok(Some(bound))
}

fn describe() {
    for metric in names::ALL {
        let (name, help) = (metric.name, metric.help);
        match metric.kind {
            names::Kind::Counter => metrics::describe_counter!(name, help),
            names::Kind::Gauge => metrics::describe_gauge!(name, help),
            names::Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
}
