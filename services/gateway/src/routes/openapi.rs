//! `GET /api/openapi.json`: the hand-written OpenAPI 3.1 description of
//! every route (`services/gateway/openapi.json`).

use axum::http::header;
use axum::response::IntoResponse;

/// The document, compiled into the binary.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

/// `GET /api/openapi.json`
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
