//! The probes Kubernetes asks: alive, and ready (off while draining).

use std::sync::atomic::Ordering;

use axum::{extract::State, http::StatusCode};

use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    operation_id = "healthz",
    summary = "Liveness",
    security(()),
    responses((status = 200, description = "The process is alive.", body = String, content_type = "text/plain")),
)]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    operation_id = "readyz",
    summary = "Readiness (off while draining)",
    security(()),
    responses(
        (status = 200, description = "Ready; empty body."),
        (status = 503, description = "Draining after the shutdown signal; empty body (no envelope)."),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> StatusCode {
    if state.ready.load(Ordering::Relaxed) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}
