//! The token issuer's grant stores against their contract: one conformance
//! suite run on the in-memory store, real Redis and a Redis Cluster of our
//! own, a model-based property test of each, Redis failing while the service
//! runs, and the choice of store by configuration; its signing and
//! verification keys (rotation, key ids, refused algorithms, the JWK Set).

mod binary;
mod cluster;
mod config;
mod conformance;
mod fuzz;
mod keys;
mod model;
mod redis_down;

use actas_token_issuer::store::StoredGrant;

/// A grant whose fields all differ with `tag`, so mix-ups show.
pub fn grant(tag: &str) -> StoredGrant {
    StoredGrant {
        actor_id: format!("actor-{tag}"),
        target_id: format!("target-{tag}"),
        audience: format!("audience-{tag}"),
        reason: format!("reason {tag}"),
        issued_at: 1_700_000_000_000,
        expires_at: 1_700_000_060_000,
        action: format!("action-{tag}"),
        target_kind: "customer".to_owned(),
        target_profile_id: Some(i64::from(tag.len() as u8)),
    }
}
