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
use serde::Serialize;
use utoipa::ToSchema;

use crate::{error::HttpError, openapi::errors, state::AppState};

/// An Ed25519 public key as a JWK (RFC 7517, RFC 8037).
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    #[schema(pattern = "^OKP$")]
    pub kty: String,
    #[schema(pattern = "^Ed25519$")]
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub x: String,
    /// The key id that tokens signed with this key carry in their JWT header.
    pub kid: String,
    #[schema(pattern = "^EdDSA$")]
    pub alg: String,
    #[schema(pattern = "^sig$")]
    #[serde(rename = "use")]
    pub use_: String,
}

/// A JWK Set (RFC 7517 §5): the signing key first, then each extra verification key.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"keys": [{
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "phAn8C-xmCgvifzVAui8E0ZqYP2JLFA2rLaeA5Uf7r4",
    "kid": "phAn8C-xmCg",
    "alg": "EdDSA",
    "use": "sig",
}]})))]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// How long clients and proxies may keep the key set. Rotation waits at
/// least this long between publishing a new key and signing with it.
const CACHE_CONTROL: &str = "public, max-age=300";

errors!(JwksErrors {
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "meta",
    operation_id = "jwks",
    summary = "The public keys that verify impersonation tokens (JWK Set)",
    description = "The token issuer's signing key and every extra verification key (`ACTAS_VERIFICATION_KEYS_PEM`), so that a token's signature can be checked by the key its header's `kid` names. Cacheable for 5 minutes, unlike every other answer here.",
    security(()),
    responses(
        (status = 200, description = "The JWK Set.", body = Jwks, headers(("Cache-Control" = String, description = "The key set may be cached for 5 minutes."))),
        JwksErrors,
    ),
)]
/// `GET /.well-known/jwks.json`
pub async fn jwks(State(state): State<AppState>) -> Result<Response, HttpError> {
    let set = state
        .tokens
        .clone()
        .get_jwks(GetJwksRequest {})
        .await?
        .into_inner();
    let keys = set
        .keys
        .into_iter()
        .map(|key| Jwk {
            kty: key.kty,
            crv: key.crv,
            x: key.x,
            kid: key.kid,
            alg: key.alg,
            use_: key.r#use,
        })
        .collect();
    // Public keys, unlike everything else here, may be cached: this header
    // replaces the router's default `no-store`.
    Ok(([(header::CACHE_CONTROL, CACHE_CONTROL)], Json(Jwks { keys })).into_response())
}
