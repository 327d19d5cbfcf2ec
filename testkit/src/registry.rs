//! A test double of a Confluent-compatible schema registry — named as one:
//! no real registry can be installed here from the package registries.
//!
//! It serves the few endpoints canonflow's production client
//! (`schema_registry_converter`) calls: register a schema under a subject
//! (`POST /subjects/{subject}/versions`, returning the existing id for a
//! schema the subject has, a new id for a backward-compatible change, and
//! 409 for an incompatible one — checked with Avro's resolution rules) and
//! fetch a schema by id (`GET /schemas/ids/{id}`). It counts requests so
//! tests can see that the real client talked to it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Debug, Default)]
struct Registry {
    /// Every distinct schema text, by id (ids start at 1).
    schemas: BTreeMap<u32, String>,
    /// Each subject's versions, oldest first, as schema ids.
    subjects: BTreeMap<String, Vec<u32>>,
}

#[derive(Debug, Default)]
struct Shared {
    registry: Mutex<Registry>,
    requests: AtomicUsize,
}

/// The running double; stops when dropped.
#[derive(Debug)]
pub struct SchemaRegistryDouble {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for SchemaRegistryDouble {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SchemaRegistryDouble {
    /// Serves on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/subjects/{subject}/versions", post(register))
            .route("/schemas/ids/{id}", get(by_id))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            shared,
            server,
        }
    }

    /// Registers `schema` under `subject` directly, as if an earlier
    /// deployment had (no compatibility check).
    pub fn preload(&self, subject: &str, schema: &str) -> u32 {
        let mut registry = self
            .shared
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let id = registry.schemas.keys().last().map_or(1, |last| last + 1);
        registry.schemas.insert(id, schema.to_owned());
        registry
            .subjects
            .entry(subject.to_owned())
            .or_default()
            .push(id);
        id
    }

    /// Requests served so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The ids registered under `subject`, oldest first.
    pub fn versions(&self, subject: &str) -> Vec<u32> {
        let registry = self
            .shared
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        registry.subjects.get(subject).cloned().unwrap_or_default()
    }
}

fn error(status: StatusCode, message: String) -> Response {
    let code = status.as_u16();
    (
        status,
        Json(json!({"error_code": code, "message": message})),
    )
        .into_response()
}

async fn register(
    State(shared): State<Arc<Shared>>,
    Path(subject): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let Some(text) = body["schema"].as_str() else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "no schema".into());
    };
    let Ok(new) = Schema::parse_str(text) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid Avro schema".into(),
        );
    };
    let mut registry = shared.registry.lock().unwrap_or_else(|e| e.into_inner());
    let versions = registry.subjects.get(&subject).cloned().unwrap_or_default();
    for id in &versions {
        let known = Schema::parse_str(&registry.schemas[id]).expect("stored schemas parse");
        if known.canonical_form() == new.canonical_form() {
            return Json(json!({"id": id})).into_response();
        }
    }
    // BACKWARD, the registry default: the new schema reads the latest's data.
    if let Some(latest) = versions.last() {
        let latest = Schema::parse_str(&registry.schemas[latest]).expect("stored schemas parse");
        if let Err(e) = SchemaCompatibility::can_read(&latest, &new) {
            return error(
                StatusCode::CONFLICT,
                format!(
                    "Schema being registered is incompatible with an earlier schema for subject \"{subject}\": {e}"
                ),
            );
        }
    }
    let id = registry
        .schemas
        .iter()
        .find(|(_, known)| {
            Schema::parse_str(known).is_ok_and(|k| k.canonical_form() == new.canonical_form())
        })
        .map(|(id, _)| *id)
        .unwrap_or_else(|| registry.schemas.keys().last().map_or(1, |last| last + 1));
    registry.schemas.insert(id, text.to_owned());
    registry.subjects.entry(subject).or_default().push(id);
    Json(json!({"id": id})).into_response()
}

async fn by_id(State(shared): State<Arc<Shared>>, Path(id): Path<u32>) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let registry = shared.registry.lock().unwrap_or_else(|e| e.into_inner());
    match registry.schemas.get(&id) {
        Some(text) => Json(json!({"schema": text})).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("Schema {id} not found")),
    }
}
