//! The running server's shared state and its router: data endpoints wrapped
//! in fault injection, everything wrapped in request counting.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;

use crate::auth::TokenStore;
use crate::config::DemoConfig;
use crate::faults::{self, FaultState};
use crate::routes;
use crate::stats::{self, StatsState};
use crate::store::Store;
use crate::timestamps::now_ms;

/// Everything a request handler may read or change.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: DemoConfig,
    /// `http://127.0.0.1:PORT`: for links when a request has no `Host`.
    pub(crate) base_url: String,
    store: RwLock<Store>,
    pub(crate) tokens: TokenStore,
    pub(crate) faults: FaultState,
    pub(crate) stats: StatsState,
}

impl AppState {
    pub(crate) fn new(config: DemoConfig, base_url: String, store: Store) -> Self {
        Self {
            config,
            base_url,
            store: RwLock::new(store),
            tokens: TokenStore::default(),
            faults: FaultState::default(),
            stats: StatsState::default(),
        }
    }

    /// Read access to the records; held only while one response is built.
    pub(crate) fn store(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes `count` records; see [`Store::mutate`].
    pub(crate) fn mutate(&self, count: usize) -> usize {
        let mut store = self.store.write().unwrap_or_else(|e| e.into_inner());
        store.mutate(count, now_ms())
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let data = routes::data().layer(from_fn_with_state(state.clone(), faults::inject));
    Router::new()
        .merge(data)
        .merge(routes::admin::router())
        .fallback(|| async {
            routes::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(from_fn_with_state(state.clone(), stats::count))
        .with_state(state)
}
