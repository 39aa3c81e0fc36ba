//! Issue and redeem one-time impersonation tokens.
//!
//! A token is an EdDSA-signed JWT binding target (`sub`), actor (`act.sub`,
//! as in RFC 8693) and sales channel (`aud`). The store keeps only the hash
//! of its `jti` with the grant; redeeming takes the grant out atomically, so
//! a token redeems at most once whatever the concurrency or replica count.

use std::{collections::HashSet, sync::Arc, time::Duration};

use actas_shared::{
    ApiError,
    grpc::calls::{PermissionCalls, SessionCalls},
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    proto::{self, GetContextRequest},
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
    async fn issue(&self, request: IssueRequest) -> Result<Issued, Error>;
    async fn redeem(&self, request: RedeemRequest) -> Result<StoredGrant, Error>;
    /// Whether every impersonation start must state a reason.
    fn reason_required(&self) -> bool;
    /// The public keys that verify tokens, as a JWK Set's keys.
    fn jwks(&self) -> Vec<Jwk>;
}

/// Whom a token is asked for.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// An admin logs in as a customer on a sales channel.
    Customer {
        customer: PrincipalId,
        sales_channel: SalesChannelId,
    },
    /// A team administrator signs in as a member's profile.
    Profile(i64),
    /// An operator signs in as any admin or customer.
    User(PrincipalId),
}

#[derive(Debug)]
pub struct IssueRequest {
    pub actor_session_token: String,
    pub target: Target,
    pub reason: String,
    /// Who asked, for the audit record.
    pub client_ip: String,
    pub user_agent: String,
}

#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub expires_at: i64,
}

/// A redemption. Each expectation left `None` lets the token's own binding
/// stand (a bare token exchange); every one given must match.
#[derive(Debug)]
pub struct RedeemRequest {
    pub token: String,
    pub expected_target: Option<PrincipalId>,
    pub expected_actor: Option<PrincipalId>,
    pub expected_audience: Option<SalesChannelId>,
    /// The actions this redemption accepts; empty accepts any.
    pub expected_actions: Vec<proto::Action>,
    /// Who presented it, for the audit record of a failure.
    pub client_ip: String,
    pub user_agent: String,
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

/// [`TokenIssuer`] asking the session service who the caller is and the
/// permission service whether they may.
pub struct Issuer {
    keys: KeySet,
    issuer: String,
    validation: Validation,
    ttl: Duration,
    key_prefix: String,
    store: Arc<dyn TokenStore>,
    sessions: Arc<dyn SessionCalls>,
    permission: Arc<dyn PermissionCalls>,
    reason_required: bool,
}

impl Issuer {
    /// Every impersonation start must state a reason (`ACTAS_REQUIRE_REASON`).
    pub fn require_reason(mut self, required: bool) -> Self {
        self.reason_required = required;
        self
    }

    pub fn new(
        keys: KeySet,
        issuer: String,
        ttl: Duration,
        key_prefix: String,
        store: Arc<dyn TokenStore>,
        sessions: Arc<dyn SessionCalls>,
        permission: Arc<dyn PermissionCalls>,
    ) -> Self {
        Self {
            keys,
            validation: validation(&issuer),
            issuer,
            ttl,
            key_prefix,
            store,
            sessions,
            permission,
            reason_required: false,
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

    /// Records a refused redemption of a validly signed token. Best effort:
    /// the caller is refused either way, and a token that fails its
    /// signature names nobody (it is counted in metrics only).
    async fn record_failure(&self, claims: &Claims, why: &str, request: &RedeemRequest) {
        let recorded = self
            .sessions
            .record_token_event(proto::TokenEvent {
                kind: "token_redeem_failed".into(),
                action: claims.scope.clone(),
                actor_id: claims.act.sub.clone(),
                target_id: claims.sub.clone(),
                audience: claims.aud.clone(),
                reason: why.to_owned(),
                client_ip: request.client_ip.clone(),
                user_agent: request.user_agent.clone(),
            })
            .await;
        if let Err(status) = recorded {
            tracing::error!(code = ?status.code(), "the failed redemption could not be recorded");
        }
    }

    fn store_key(&self, jti: &str) -> String {
        format!("{}grant:{}", self.key_prefix, hash_token(jti))
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
    #[tracing::instrument(skip_all, fields(target = ?request.target))]
    async fn issue(&self, request: IssueRequest) -> Result<Issued, Error> {
        let reason = actas_shared::reason::check(&request.reason, self.reason_required)?.to_owned();
        let context = self
            .sessions
            .get_context(GetContextRequest {
                token: request.actor_session_token,
            })
            .await?;
        if context.imitated {
            return Err(Error::Chain);
        }
        let actor = context.principal_id;
        // The permission service decides, from the directory, whether this
        // kind of actor may do this at all: the caller's word counts for nothing.
        let authorize = match request.target {
            Target::Customer {
                customer,
                sales_channel,
            } => proto::AuthorizeRequest {
                actor_id: actor.clone(),
                action: proto::Action::ImitateCustomer.into(),
                target_id: customer.to_string(),
                audience: sales_channel.to_string(),
                target_profile_id: 0,
            },
            Target::Profile(profile) => proto::AuthorizeRequest {
                actor_id: actor.clone(),
                action: proto::Action::ImpersonateTeamMember.into(),
                target_id: String::new(),
                audience: String::new(),
                target_profile_id: profile,
            },
            Target::User(user) => proto::AuthorizeRequest {
                actor_id: actor.clone(),
                action: proto::Action::ImpersonateUser.into(),
                target_id: user.to_string(),
                audience: String::new(),
                target_profile_id: 0,
            },
        };
        let action = proto::Action::try_from(authorize.action).unwrap_or(proto::Action::Unspecified);
        let decision = self.permission.authorize(authorize).await?;
        if !decision.allowed {
            return Err(Error::Upstream(denial(&decision)));
        }
        let target_kind = PrincipalKind::from_proto(decision.target_kind)
            .ok_or_else(|| Error::Upstream(ApiError::internal()))?;

        let issued_at = chrono_now();
        let ttl_secs = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let profile = Some(decision.target_profile_id).filter(|id| *id > 0);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: decision.audience.clone(),
            sub: decision.target_id.clone(),
            act: Actor { sub: actor.clone() },
            iat: issued_at,
            exp: issued_at.saturating_add(ttl_secs),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            scope: action_name(action).to_owned(),
            pid: profile,
        };
        let token = self.keys.sign(&claims).map_err(Error::Signing)?;
        let grant = StoredGrant {
            actor_id: actor,
            target_id: claims.sub.clone(),
            audience: claims.aud.clone(),
            reason: if reason.is_empty() {
                decision.reason
            } else {
                format!("{}; stated reason: {reason}", decision.reason)
            },
            issued_at,
            expires_at: claims.exp,
            action: claims.scope.clone(),
            target_kind: target_kind.as_str().to_owned(),
            target_profile_id: profile,
        };
        // On the record before it exists: when the record cannot be written,
        // no token is issued and Redis holds no grant (fail closed).
        self.sessions
            .record_token_event(proto::TokenEvent {
                kind: "token_issued".into(),
                action: grant.action.clone(),
                actor_id: grant.actor_id.clone(),
                target_id: grant.target_id.clone(),
                audience: grant.audience.clone(),
                reason: grant.reason.clone(),
                client_ip: request.client_ip,
                user_agent: request.user_agent,
            })
            .await?;
        if !self
            .store
            .put_if_absent(&self.store_key(&claims.jti), &grant, self.ttl)
            .await?
        {
            return Err(Error::Collision);
        }
        metrics::counter!("actas_tokens_issued_total", "action" => grant.action.clone()).increment(1);
        tracing::info!(actor = %grant.actor_id, "impersonation token issued");
        Ok(Issued {
            token,
            expires_at: claims.exp,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn redeem(&self, request: RedeemRequest) -> Result<StoredGrant, Error> {
        let claims = self.verify(&request.token).inspect_err(|_| rejected("invalid"))?;
        // Spend the token before comparing bindings: a token presented with
        // the wrong customer or admin is treated as exposed and burns.
        let grant = self.store.take(&self.store_key(&claims.jti)).await?;
        let Some(grant) = grant else {
            rejected("spent_or_unknown");
            self.record_failure(&claims, "spent, expired or unknown token", &request)
                .await;
            return Err(Error::InvalidToken);
        };
        let expected = |expectation: Option<String>, actual: &str| {
            expectation.is_none_or(|expected| constant_time_eq(actual, &expected))
        };
        let action_matches = request.expected_actions.is_empty()
            || request
                .expected_actions
                .iter()
                .any(|action| action_name(*action) == claims.scope);
        let matches = action_matches
            & expected(request.expected_audience.map(|a| a.to_string()), &claims.aud)
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
            self.record_failure(
                &claims,
                "presented with a binding that does not match; the token is spent",
                &request,
            )
            .await;
            return Err(Error::InvalidToken);
        }
        metrics::counter!("actas_tokens_redeemed_total", "action" => grant.action.clone()).increment(1);
        tracing::info!(actor = %grant.actor_id, "impersonation token redeemed");
        Ok(grant)
    }

    fn reason_required(&self) -> bool {
        self.reason_required
    }

    fn jwks(&self) -> Vec<Jwk> {
        self.keys.jwks()
    }
}

fn denial(decision: &proto::Decision) -> ApiError {
    let code = actas_shared::ErrorCode::parse(&decision.code)
        .unwrap_or(actas_shared::ErrorCode::ImpersonationNotAllowed);
    ApiError {
        code,
        detail: decision.reason.clone(),
        missing_privileges: decision.missing_privileges.clone(),
        retry_after_secs: None,
    }
}

/// Counts a refused redemption by why (never by whose).
fn rejected(reason: &'static str) {
    metrics::counter!("actas_tokens_rejected_total", "reason" => reason).increment(1);
}

/// The action's name, as the rule table, the grant and the `scope` claim spell it.
fn action_name(action: proto::Action) -> &'static str {
    match action {
        proto::Action::ImitateCustomer => "imitate_customer",
        proto::Action::ImpersonateTeamMember => "impersonate_team_member",
        proto::Action::ImpersonateUser => "impersonate_user",
        proto::Action::Unspecified => "",
    }
}

fn chrono_now() -> i64 {
    actas_shared::db::now_millis() / 1000
}
