//! Issue and redeem one-time impersonation tokens.
//!
//! A token is an EdDSA-signed JWT binding target (`sub`), actor (`act.sub`,
//! as in RFC 8693) and audience (`aud`). The store keeps only the hash of
//! its `jti` with the grant; redeeming takes the grant out atomically, so a
//! token redeems at most once whatever the concurrency or replica count, as
//! long as the store never hands a grant back. Because a Redis restored from
//! a snapshot does, the session service also records each spent token id
//! durably: this is the fast path, not the authority.
//!
//! The issuer decides nothing and calls nobody: the session service asks
//! the permission service and writes the record before it asks for a token.

use std::{collections::HashSet, sync::Arc, time::Duration};

use actas_shared::{
    audience::Audience,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    proto::Action,
    secret::{constant_time_eq, hash_token},
};
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use crate::{
    error::Error,
    keys::{Jwk, KeySet},
    store::{StoredGrant, TokenStore},
};

/// What the token issuer does; the gRPC adapter and tests call this.
#[async_trait]
pub trait TokenIssuer: Send + Sync + 'static {
    /// Signs a token for a grant already decided and recorded, and stores it.
    async fn issue(&self, grant: IssueRequest) -> Result<Issued, Error>;
    /// Takes a token's grant out of the store and checks its bindings.
    async fn redeem(&self, request: RedeemRequest) -> Result<Redeemed, Error>;
    /// The public keys that verify tokens, as a JWK Set's keys.
    fn jwks(&self) -> Vec<Jwk>;
}

/// A grant the session service decided: actor may act as target.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub actor: PrincipalId,
    pub target: PrincipalId,
    pub audience: Audience,
    pub action: Action,
    pub target_kind: PrincipalKind,
    /// Team impersonation: the granted profile.
    pub target_profile_id: Option<i64>,
    /// The decision's reason (with the actor's stated one).
    pub reason: String,
}

#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub expires_at: i64,
    /// Hash of the `jti`: the token's id outside the token.
    pub token_id_hash: String,
}

/// A redemption. Each expectation left `None` lets the token's own binding
/// stand (a bare token exchange); every one given must match.
#[derive(Debug)]
pub struct RedeemRequest {
    pub token: String,
    pub expected_target: Option<PrincipalId>,
    pub expected_actor: Option<PrincipalId>,
    /// The sales channel the token must be for.
    pub expected_sales_channel: Option<SalesChannelId>,
    /// The actions this redemption accepts; empty accepts any.
    pub expected_actions: Vec<Action>,
}

/// The outcome of redeeming a validly signed token.
#[derive(Debug)]
pub enum Redeemed {
    /// Honoured: the grant, and the hash of the token's id (spent now).
    Grant {
        grant: StoredGrant,
        token_id_hash: String,
    },
    /// Not honoured: what its signed claims name, and why (for the record).
    Refused {
        claimed: StoredGrant,
        token_id_hash: String,
        why: &'static str,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Actor {
    sub: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    act: Actor,
    iat: i64,
    exp: i64,
    jti: String,
    /// What the token allows (`imitate_customer`, `impersonate_team_member`, `impersonate_user`).
    scope: String,
    /// The target profile, for team impersonation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pid: Option<i64>,
}

/// [`TokenIssuer`] over a key set and a [`TokenStore`].
pub struct Issuer {
    keys: KeySet,
    issuer: String,
    validation: Validation,
    ttl: Duration,
    key_prefix: String,
    store: Arc<dyn TokenStore>,
}

impl Issuer {
    pub fn new(
        keys: KeySet,
        issuer: String,
        ttl: Duration,
        key_prefix: String,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        Self {
            keys,
            validation: validation(&issuer),
            issuer,
            ttl,
            key_prefix,
            store,
        }
    }

    /// Checks algorithm, key id, signature, issuer and expiry; returns the claims.
    fn verify(&self, token: &str) -> Result<Claims, Error> {
        self.keys.verify(token, &self.validation).map_err(|rejection| {
            // The kind only: a claim's parse error could quote the token.
            tracing::debug!(reason = rejection.kind(), "impersonation token refused");
            Error::InvalidToken
        })
    }

    fn store_key(&self, token_id_hash: &str) -> String {
        format!("{}grant:{token_id_hash}", self.key_prefix)
    }
}

/// What a token's signed claims name, for the record of a refusal.
fn claimed(claims: &Claims) -> StoredGrant {
    StoredGrant {
        actor_id: claims.act.sub.clone(),
        target_id: claims.sub.clone(),
        audience: claims.aud.clone(),
        reason: String::new(),
        issued_at: claims.iat,
        expires_at: claims.exp,
        action: claims.scope.clone(),
        target_kind: String::new(),
        target_profile_id: claims.pid,
    }
}

/// How the issuer validates its tokens: EdDSA only (so `alg: none` and
/// algorithm confusion fail here too, besides the key set's own check), no
/// leeway, its own `iss`, and the spec claims required.
pub fn validation(issuer: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.leeway = 0;
    // The audience is a binding like target and actor: compared after the
    // token is spent, so any mismatch burns it (see `redeem`).
    validation.validate_aud = false;
    validation.set_issuer(&[issuer]);
    validation.required_spec_claims =
        HashSet::from(["exp", "iat", "aud", "iss", "sub", "jti"].map(str::to_owned));
    validation
}

#[async_trait]
impl TokenIssuer for Issuer {
    #[tracing::instrument(skip_all, fields(action = request.action.as_str()))]
    async fn issue(&self, request: IssueRequest) -> Result<Issued, Error> {
        let issued_at = now_secs();
        let ttl_secs = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: request.audience.to_string(),
            sub: request.target.to_string(),
            act: Actor {
                sub: request.actor.to_string(),
            },
            iat: issued_at,
            exp: issued_at.saturating_add(ttl_secs),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            scope: request.action.as_str().to_owned(),
            pid: request.target_profile_id,
        };
        let token = self.keys.sign(&claims).map_err(Error::Signing)?;
        let grant = StoredGrant {
            actor_id: claims.act.sub.clone(),
            target_id: claims.sub.clone(),
            audience: claims.aud.clone(),
            reason: request.reason,
            issued_at,
            expires_at: claims.exp,
            action: claims.scope.clone(),
            target_kind: request.target_kind.as_str().to_owned(),
            target_profile_id: request.target_profile_id,
        };
        let token_id_hash = hash_token(&claims.jti);
        if !self
            .store
            .put_if_absent(&self.store_key(&token_id_hash), &grant, self.ttl)
            .await?
        {
            return Err(Error::Collision);
        }
        metrics::counter!("actas_tokens_issued_total", "action" => request.action.as_str()).increment(1);
        tracing::info!(actor = %grant.actor_id, "impersonation token issued");
        Ok(Issued {
            token,
            expires_at: claims.exp,
            token_id_hash,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn redeem(&self, request: RedeemRequest) -> Result<Redeemed, Error> {
        let claims = self.verify(&request.token).inspect_err(|_| rejected("invalid"))?;
        let token_id_hash = hash_token(&claims.jti);
        // Spend the token before comparing bindings: a token presented with
        // the wrong customer or admin is treated as exposed and burns.
        let grant = self.store.take(&self.store_key(&token_id_hash)).await?;
        let Some(grant) = grant else {
            rejected("spent_or_unknown");
            return Ok(Redeemed::Refused {
                claimed: claimed(&claims),
                token_id_hash,
                why: "spent, expired or unknown token",
            });
        };
        let expected = |expectation: Option<String>, actual: &str| {
            expectation.is_none_or(|expected| constant_time_eq(actual, &expected))
        };
        let action_matches = request.expected_actions.is_empty()
            || request
                .expected_actions
                .iter()
                .any(|action| action.as_str() == claims.scope);
        let matches = action_matches
            & expected(request.expected_sales_channel.map(|c| c.to_string()), &claims.aud)
            & expected(request.expected_target.map(|t| t.to_string()), &claims.sub)
            & expected(request.expected_actor.map(|a| a.to_string()), &claims.act.sub)
            & (grant.action == claims.scope)
            & (grant.target_profile_id == claims.pid)
            & constant_time_eq(&grant.target_id, &claims.sub)
            & constant_time_eq(&grant.actor_id, &claims.act.sub)
            & constant_time_eq(&grant.audience, &claims.aud);
        if !matches {
            tracing::warn!("impersonation token presented with a mismatched binding");
            rejected("mismatch");
            return Ok(Redeemed::Refused {
                claimed: claimed(&claims),
                token_id_hash,
                why: "presented with a binding that does not match; the token is spent",
            });
        }
        metrics::counter!("actas_tokens_redeemed_total", "action" => grant.action.clone()).increment(1);
        tracing::info!(actor = %grant.actor_id, "impersonation token redeemed");
        Ok(Redeemed::Grant { grant, token_id_hash })
    }

    fn jwks(&self) -> Vec<Jwk> {
        self.keys.jwks()
    }
}

/// Counts a refused redemption by why (never by whose).
fn rejected(reason: &'static str) {
    metrics::counter!("actas_tokens_rejected_total", "reason" => reason).increment(1);
}

fn now_secs() -> i64 {
    actas_shared::db::now_millis() / 1000
}
