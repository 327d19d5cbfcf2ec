//! Test controls: change data, set faults, read the ground truth and request
//! counts. No auth: the demo source listens on loopback by default.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::{error, integer};
use crate::app::AppState;
use crate::faults::Fault;

/// Largest `count` one mutate request may ask for.
const MAX_MUTATIONS: u64 = 1_000_000;

pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/mutate", post(mutate))
        .route("/admin/faults", post(set_fault).get(fault))
        .route("/admin/snapshot", get(snapshot))
        .route("/admin/stats", get(stats))
}

/// `POST /admin/mutate?count=n` (default 1) → `{"mutated":n}`.
async fn mutate(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let count = match integer(params.get("count"), "count", 1) {
        Ok(count) if count <= MAX_MUTATIONS => count,
        Ok(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "count is at most 1000000",
            );
        }
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_request", &message),
    };
    let mutated = state.mutate(usize::try_from(count).unwrap_or(0));
    Json(json!({"mutated": mutated})).into_response()
}

/// `POST /admin/faults` with a [`Fault`] body → the fault now active.
async fn set_fault(
    State(state): State<Arc<AppState>>,
    fault: Result<Json<Fault>, JsonRejection>,
) -> Response {
    match fault {
        Ok(Json(fault)) => {
            state.faults.set(fault);
            Json(state.faults.current()).into_response()
        }
        Err(rejection) => error(
            StatusCode::BAD_REQUEST,
            "invalid_fault",
            &rejection.body_text(),
        ),
    }
}

/// `GET /admin/faults` → the fault now active.
async fn fault(State(state): State<Arc<AppState>>) -> Json<Fault> {
    Json(state.faults.current())
}

/// `GET /admin/snapshot` → every stream's ids and versions.
async fn snapshot(State(state): State<Arc<AppState>>) -> Response {
    Json(state.store().snapshot()).into_response()
}

/// `GET /admin/stats` → request counts per path and status.
async fn stats(State(state): State<Arc<AppState>>) -> Response {
    Json(state.stats.snapshot()).into_response()
}
