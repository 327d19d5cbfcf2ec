//! A demo HTTP source that behaves like two enterprise systems (HR with
//! OAuth2, finance with HTTP Basic and OData) plus a few small APIs, serving
//! deterministic, seeded data that changes on request or on a timer, with
//! injectable faults. canonflow's fetcher tests, demo and benchmarks run
//! against it; tests start it in-process with [`DemoSource::start`].
//!
//! It is a test double: it never persists anything, and its admin endpoints
//! (`/admin/…`) have no auth, so it listens on loopback by default.

mod app;
mod auth;
mod config;
mod faults;
mod generate;
mod routes;
mod source_files;
mod stats;
mod store;
pub mod streams;
mod timestamps;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::DemoConfig;
pub use faults::{Fault, FaultKind};
pub use stats::{RequestCount, Stats};
pub use store::{Snapshot, SnapshotRecord, StreamSnapshot};

use app::AppState;

/// Records the background task changes per `mutate_every` tick.
const BACKGROUND_MUTATIONS: usize = 3;

/// A running demo source. Dropping it stops the server; [`DemoSource::shutdown`]
/// also waits until in-flight requests are answered.
#[derive(Debug)]
pub struct DemoSource {
    state: Arc<AppState>,
    base_url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    mutator: Option<JoinHandle<()>>,
}

impl DemoSource {
    /// Generates the data, spawns the server on `listener` on the current
    /// Tokio runtime, and returns; the listener is already bound, so
    /// connections are accepted from now on.
    pub async fn start(listener: TcpListener, config: DemoConfig) -> anyhow::Result<DemoSource> {
        let address = listener
            .local_addr()
            .context("reading the listener's address")?;
        let base_url = base_url(address);
        let (seed, scale, url) = (config.seed, config.scale, base_url.clone());
        // Generating a large scale takes a while; keep it off the async workers.
        let store = tokio::task::spawn_blocking(move || generate::store(seed, scale, &url))
            .await
            .context("generating the demo data")?;
        let mutate_every = config.mutate_every;
        let state = Arc::new(AppState::new(config, base_url.clone(), store));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(
            axum::serve(listener, app::router(state.clone()))
                .with_graceful_shutdown(async {
                    // A dropped sender stops the server too.
                    let _ = stopped.await;
                })
                .into_future(),
        );
        let mutator = mutate_every
            .filter(|every| !every.is_zero())
            .map(|every| tokio::spawn(mutate_periodically(state.clone(), every)));
        tracing::info!(%base_url, seed, scale, "demo source listening");
        Ok(DemoSource {
            state,
            base_url,
            stop: Some(stop),
            server: Some(server),
            mutator,
        })
    }

    /// `http://127.0.0.1:PORT` (loopback when bound to an unspecified address).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Changes `count` records across the incremental streams (about one in
    /// ten is a new record instead); returns how many changed. Same as
    /// `POST /admin/mutate?count=…`.
    pub fn mutate(&self, count: usize) -> usize {
        self.state.mutate(count)
    }

    /// Replaces the active fault. Same as `POST /admin/faults`.
    pub fn set_fault(&self, fault: Fault) {
        self.state.faults.set(fault);
    }

    /// Every stream's ids and versions as served. Same as `GET /admin/snapshot`.
    pub fn snapshot(&self) -> Snapshot {
        self.state.store().snapshot()
    }

    /// Requests served per path and status. Same as `GET /admin/stats`.
    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    /// Stops accepting connections, finishes in-flight requests and returns.
    pub async fn shutdown(mut self) {
        if let Some(mutator) = self.mutator.take() {
            mutator.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Ok(())) => tracing::info!("demo source stopped"),
                Ok(Err(error)) => tracing::warn!(%error, "demo source stopped with an error"),
                Err(error) => tracing::warn!(%error, "demo source task failed"),
            }
        }
    }
}

impl Drop for DemoSource {
    fn drop(&mut self) {
        if let Some(mutator) = self.mutator.take() {
            mutator.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn mutate_periodically(state: Arc<AppState>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let changed = state.mutate(BACKGROUND_MUTATIONS);
        tracing::debug!(changed, "background mutation");
    }
}

fn base_url(address: SocketAddr) -> String {
    let ip = address.ip();
    let host = match ip {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        std::net::IpAddr::V4(v4) => v4.to_string(),
    };
    format!("http://{host}:{}", address.port())
}
