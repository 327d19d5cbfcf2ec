//! The HTTP endpoint: `/metrics` in the Prometheus text format, `/healthz`
//! (the process answers) and `/readyz` (200 when ready, else 503 with one
//! reason per line).

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use super::health;

pub async fn serve(listener: tokio::net::TcpListener, metrics: PrometheusHandle) {
    let app = Router::new()
        .route("/metrics", get(move || async move { metrics.render() }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready));
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the metrics and health endpoint stopped");
    }
}

async fn ready() -> (StatusCode, String) {
    match health().readiness() {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(problems) => (
            StatusCode::SERVICE_UNAVAILABLE,
            problems.iter().map(|p| format!("{p}\n")).collect(),
        ),
    }
}
