//! `GET /.well-known/jwks.json`: the public keys that verify impersonation
//! tokens, as a JWK Set (RFC 7517) of Ed25519 keys (RFC 8037), from the
//! token issuer.

use actas_shared::proto::GetJwksRequest;
use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse as _, Response},
};
use serde_json::{Value, json};

use crate::{app::AppState, error::HttpError};

/// How long clients and proxies may keep the key set. Rotation waits at
/// least this long between publishing a new key and signing with it.
const CACHE_CONTROL: &str = "public, max-age=300";

/// `GET /.well-known/jwks.json`
pub async fn jwks(State(state): State<AppState>) -> Result<Response, HttpError> {
    let set = state
        .tokens
        .clone()
        .get_jwks(GetJwksRequest {})
        .await?
        .into_inner();
    let keys: Vec<Value> = set
        .keys
        .into_iter()
        .map(|key| {
            json!({
                "kty": key.kty,
                "crv": key.crv,
                "x": key.x,
                "kid": key.kid,
                "alg": key.alg,
                "use": key.r#use,
            })
        })
        .collect();
    // Public keys, unlike everything else here, may be cached: this header
    // replaces the router's default `no-store`.
    Ok((
        [(header::CACHE_CONTROL, CACHE_CONTROL)],
        Json(json!({ "keys": keys })),
    )
        .into_response())
}
