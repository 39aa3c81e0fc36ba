//! Issue and redeem one-time impersonation tokens.
//!
//! A token is an EdDSA-signed JWT binding target (`sub`), actor (`act.sub`,
//! as in RFC 8693) and sales channel (`aud`). The store keeps only the hash
//! of its `jti` with the grant; redeeming takes the grant out atomically, so
//! a token redeems at most once whatever the concurrency or replica count.

use std::{collections::HashSet, sync::Arc, time::Duration};

use actas_shared::{
    ApiError,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    proto::{
        self, GetContextRequest, permission_service_client::PermissionServiceClient,
        session_service_client::SessionServiceClient,
    },
    secret::{constant_time_eq, hash_token},
};
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

use crate::{
    error::Error,
    keys::Keys,
    store::{StoredGrant, TokenStore},
};

/// What the token issuer does; the gRPC adapter and tests call this.
#[async_trait]
pub trait TokenIssuer: Send + Sync + 'static {
    async fn issue(&self, request: IssueRequest) -> Result<Issued, Error>;
    async fn redeem(&self, request: RedeemRequest) -> Result<StoredGrant, Error>;
}

#[derive(Debug)]
pub struct IssueRequest {
    pub actor_session_token: String,
    pub target: PrincipalId,
    pub audience: SalesChannelId,
    pub reason: String,
}

#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub expires_at: i64,
}

#[derive(Debug)]
pub struct RedeemRequest {
    pub token: String,
    pub expected_target: PrincipalId,
    pub expected_actor: PrincipalId,
    /// `None`: the token's own audience stands.
    pub expected_audience: Option<SalesChannelId>,
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
}

/// [`TokenIssuer`] asking the session service who the caller is and the
/// permission service whether they may.
pub struct Issuer {
    keys: Keys,
    issuer: String,
    ttl: Duration,
    key_prefix: String,
    store: Arc<dyn TokenStore>,
    sessions: SessionServiceClient<Channel>,
    permission: PermissionServiceClient<Channel>,
}

impl Issuer {
    pub fn new(
        keys: Keys,
        issuer: String,
        ttl: Duration,
        key_prefix: String,
        store: Arc<dyn TokenStore>,
        sessions: SessionServiceClient<Channel>,
        permission: PermissionServiceClient<Channel>,
    ) -> Self {
        Self {
            keys,
            issuer,
            ttl,
            key_prefix,
            store,
            sessions,
            permission,
        }
    }

    fn store_key(&self, jti: &str) -> String {
        format!("{}grant:{}", self.key_prefix, hash_token(jti))
    }

    fn validation(&self) -> Validation {
        // Exactly one algorithm: `alg: none` and algorithm confusion fail here.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 0;
        // The audience is a binding like target and actor: compared after the
        // token is spent, so any mismatch burns it (see `redeem`).
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        validation.required_spec_claims =
            HashSet::from(["exp", "iat", "aud", "iss", "sub", "jti"].map(str::to_owned));
        validation
    }
}

#[async_trait]
impl TokenIssuer for Issuer {
    #[tracing::instrument(skip_all, fields(target = %request.target, audience = %request.audience))]
    async fn issue(&self, request: IssueRequest) -> Result<Issued, Error> {
        let context = self
            .sessions
            .clone()
            .get_context(GetContextRequest {
                token: request.actor_session_token,
            })
            .await?
            .into_inner();
        if context.imitated {
            return Err(Error::Chain);
        }
        if PrincipalKind::from_proto(context.principal_kind) != Some(PrincipalKind::Admin) {
            return Err(Error::NotAnAdmin);
        }
        let actor = context.principal_id;
        let decision = self
            .permission
            .clone()
            .authorize(proto::AuthorizeRequest {
                actor_id: actor.clone(),
                action: proto::Action::ImitateCustomer.into(),
                target_id: request.target.to_string(),
                audience: request.audience.to_string(),
            })
            .await?
            .into_inner();
        if !decision.allowed {
            return Err(Error::Upstream(denial(&decision)));
        }

        let issued_at = chrono_now();
        let ttl_secs = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: request.audience.to_string(),
            sub: request.target.to_string(),
            act: Actor { sub: actor.clone() },
            iat: issued_at,
            exp: issued_at.saturating_add(ttl_secs),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.keys.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.keys.encoding).map_err(Error::Signing)?;
        let grant = StoredGrant {
            actor_id: actor,
            target_id: claims.sub.clone(),
            audience: claims.aud.clone(),
            reason: if request.reason.is_empty() {
                decision.reason
            } else {
                format!("{}; stated reason: {}", decision.reason, request.reason)
            },
            issued_at,
            expires_at: claims.exp,
        };
        if !self
            .store
            .put_if_absent(&self.store_key(&claims.jti), &grant, self.ttl)
            .await?
        {
            return Err(Error::Collision);
        }
        tracing::info!(actor = %grant.actor_id, "impersonation token issued");
        Ok(Issued {
            token,
            expires_at: claims.exp,
        })
    }

    #[tracing::instrument(skip_all, fields(target = %request.expected_target))]
    async fn redeem(&self, request: RedeemRequest) -> Result<StoredGrant, Error> {
        let header = jsonwebtoken::decode_header(&request.token).map_err(|_| Error::InvalidToken)?;
        if header.alg != Algorithm::EdDSA || header.kid.as_deref() != Some(self.keys.kid.as_str()) {
            return Err(Error::InvalidToken);
        }
        let claims = jsonwebtoken::decode::<Claims>(&request.token, &self.keys.decoding, &self.validation())
            .map_err(|_| Error::InvalidToken)?
            .claims;
        // Spend the token before comparing bindings: a token presented with
        // the wrong customer or admin is treated as exposed and burns.
        let grant = self
            .store
            .take(&self.store_key(&claims.jti))
            .await?
            .ok_or(Error::InvalidToken)?;
        let audience_matches = request
            .expected_audience
            .is_none_or(|audience| constant_time_eq(&claims.aud, &audience.to_string()));
        let matches = audience_matches
            & constant_time_eq(&claims.sub, &request.expected_target.to_string())
            & constant_time_eq(&claims.act.sub, &request.expected_actor.to_string())
            & constant_time_eq(&grant.target_id, &claims.sub)
            & constant_time_eq(&grant.actor_id, &claims.act.sub)
            & constant_time_eq(&grant.audience, &claims.aud);
        if !matches {
            tracing::warn!("impersonation token presented with a mismatched binding");
            return Err(Error::InvalidToken);
        }
        tracing::info!(actor = %grant.actor_id, "impersonation token redeemed");
        Ok(grant)
    }
}

fn denial(decision: &proto::Decision) -> ApiError {
    let code = actas_shared::ErrorCode::parse(&decision.code)
        .unwrap_or(actas_shared::ErrorCode::ImpersonationNotAllowed);
    ApiError {
        code,
        detail: decision.reason.clone(),
        missing_privileges: decision.missing_privileges.clone(),
    }
}

fn chrono_now() -> i64 {
    actas_shared::db::now_millis() / 1000
}
