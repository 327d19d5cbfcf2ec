//! Request counts for tests and benchmarks: how many requests each (path,
//! status) got. Admin endpoints are not counted, so reading the counts
//! does not change them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::app::AppState;

/// Distinct paths kept before further ones are counted under [`OTHER_PATHS`],
/// so requests to random paths cannot grow the table without bound.
const MAX_PATHS: usize = 1000;
const OTHER_PATHS: &str = "(other)";

/// Requests served, per path and status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// All requests counted below.
    pub total: u64,
    /// One entry per (path, status), sorted by path then status.
    pub requests: Vec<RequestCount>,
}

/// How many requests to one path got one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCount {
    pub path: String,
    pub status: u16,
    pub count: u64,
}

impl Stats {
    /// Requests to `path` answered with `status`.
    pub fn count(&self, path: &str, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.path == path && r.status == status)
            .map(|r| r.count)
            .sum()
    }

    /// Requests to `path`, whatever their status.
    pub fn count_path(&self, path: &str) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.count)
            .sum()
    }
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct StatsState {
    counts: Mutex<BTreeMap<(String, u16), u64>>,
}

impl StatsState {
    fn record(&self, path: &str, status: u16) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let known = counts.contains_key(&(path.to_owned(), status));
        let path = if known || counts.len() < MAX_PATHS {
            path
        } else {
            OTHER_PATHS
        };
        *counts.entry((path.to_owned(), status)).or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let requests: Vec<RequestCount> = counts
            .iter()
            .map(|((path, status), count)| RequestCount {
                path: path.clone(),
                status: *status,
                count: *count,
            })
            .collect();
        Stats {
            total: requests.iter().map(|r| r.count).sum(),
            requests,
        }
    }
}

/// Middleware: counts every non-admin request by path and final status.
pub(crate) async fn count(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if !path.starts_with("/admin") {
        state.stats.record(&path, response.status().as_u16());
    }
    response
}
