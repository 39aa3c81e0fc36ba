//! Starting an impersonation: the one-time token's issue, its redemption,
//! and the one start path every flow (the storefront exchange, the team and
//! operator exchange) ends in: the token spent durably, the session and its
//! start record written together.

use std::time::Instant;

use actas_shared::{
    ApiError, ErrorCode,
    audience::Audience,
    db::now_millis,
    ids::{AuditRecordId, PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
    proto::{self, Action, redeem_token_response::Outcome},
    secret::{hash_token, random_token},
};

use crate::{
    error::Error,
    model::{AuditKind, AuditRecord, Session, SpentToken},
};

use super::{
    Exchange, ImitateCustomer, IssueToken, Issued, IssuedToken, SessionManager, Target, denial, lifetime_ms,
};

/// The step common to every start: a redeemed grant, the decision that
/// allowed it again at exchange, and the session it makes.
struct Start<'a> {
    grant: &'a proto::Grant,
    actor: PrincipalId,
    target: PrincipalId,
    target_kind: PrincipalKind,
    action: Action,
    sales_channel: Option<SalesChannelId>,
    profile_id: Option<i64>,
    read_only: bool,
    /// When the deciding answer was asked (it stands as the first re-check).
    decided_at: Instant,
    client: (&'a str, &'a str),
}

/// An audience message in the text form records keep; empty when absent.
fn audience_text(audience: Option<&proto::Audience>) -> String {
    Audience::from_proto(audience)
        .map(|audience| audience.to_string())
        .unwrap_or_default()
}

impl SessionManager {
    /// Redeems a one-time token at the token issuer. A validly signed token
    /// it does not honour goes on the record, naming what it claims; one
    /// that does not verify names nobody (counted in metrics there).
    async fn redeem(
        &self,
        request: proto::RedeemTokenRequest,
        client: (&str, &str),
    ) -> Result<proto::Grant, Error> {
        match self.tokens.redeem_token(request).await?.outcome {
            Some(Outcome::Grant(grant)) => Ok(grant),
            Some(Outcome::Refused(refusal)) => {
                if let Some(claimed) = &refusal.claimed {
                    self.record_refusal(claimed, &refusal.why, client).await;
                }
                Err(Error::InvalidToken)
            }
            None => Err(Error::Upstream(ApiError::internal())),
        }
    }

    /// Records a refused redemption of a validly signed token. Best effort:
    /// the caller is refused either way.
    async fn record_refusal(&self, claimed: &proto::Grant, why: &str, (client_ip, user_agent): (&str, &str)) {
        let (Ok(actor_id), Ok(target_id)) = (claimed.actor_id.parse(), claimed.target_id.parse()) else {
            tracing::error!("a signed token names no principal; its refusal is not recorded");
            return;
        };
        let record = AuditRecord {
            id: AuditRecordId::new_random(),
            kind: AuditKind::TokenRedeemFailed,
            action: Action::try_from(claimed.action).unwrap_or(Action::Unspecified),
            actor_id,
            target_id,
            audience: audience_text(claimed.audience.as_ref()),
            session_id: None,
            reason: why.to_owned(),
            client_ip: client_ip.to_owned(),
            user_agent: user_agent.to_owned(),
            occurred_at: now_millis(),
            trace_id: actas_shared::telemetry::current_trace_id(),
        };
        if let Err(error) = self.store.append_audit(&record).await {
            tracing::error!(%error, "the failed redemption could not be recorded");
        }
    }

    /// Starts the impersonated session a redeemed grant allows, the one
    /// start path of every flow: the token is spent durably, the session
    /// and its start record written, in one transaction. A token spent
    /// before (its grant handed back by a restored token store) fails here
    /// with the answer any spent token gets, on the record.
    async fn start(&self, start: Start<'_>) -> Result<Issued, Error> {
        let Start {
            grant,
            actor,
            target,
            target_kind,
            action,
            sales_channel,
            profile_id,
            read_only,
            decided_at,
            client: (client_ip, user_agent),
        } = start;
        if grant.token_id_hash.is_empty() {
            // Without its id a token cannot be spent durably: refuse it.
            return Err(Error::Upstream(ApiError::internal()));
        }
        let token = random_token();
        let now = now_millis();
        let session = Session {
            id: SessionId::new_random(),
            token_hash: hash_token(&token),
            principal_id: target,
            principal_kind: target_kind,
            sales_channel_id: sales_channel,
            imitating_user_id: Some(actor),
            profile_id,
            grant_action: Some(action.as_str().to_owned()),
            // A fresh context: nothing shared with any other session.
            payload: "{}".to_owned(),
            created_at: now,
            expires_at: now.saturating_add(lifetime_ms(self.lifetimes.impersonation)),
            ended_at: None,
            last_seen_at: now,
            read_only,
        };
        let record = AuditRecord {
            id: AuditRecordId::new_random(),
            kind: AuditKind::ImpersonationStarted,
            action,
            actor_id: actor,
            target_id: target,
            audience: audience_text(grant.audience.as_ref()),
            session_id: Some(session.id),
            reason: grant.reason.clone(),
            client_ip: client_ip.to_owned(),
            user_agent: user_agent.to_owned(),
            occurred_at: now,
            trace_id: actas_shared::telemetry::current_trace_id(),
        };
        let spent = SpentToken {
            token_id_hash: grant.token_id_hash.clone(),
            expires_at: grant.expires_at_unix.saturating_mul(1000),
        };
        // Fail closed: no audit record, no session.
        if !self.store.start_impersonation(&session, &record, &spent).await? {
            tracing::warn!("a spent impersonation token came back from the token store");
            metrics::counter!("actas_tokens_rejected_total", "reason" => "spent_durably").increment(1);
            self.record_refusal(
                grant,
                "spent before: its grant came back from the token store",
                (client_ip, user_agent),
            )
            .await;
            return Err(Error::InvalidToken);
        }
        self.remember_started(&session, decided_at);
        tracing::info!(session = %session.id, action = action.as_str(), "impersonated session started");
        Ok(Issued {
            token,
            session,
            refresh_token: None,
        })
    }

    /// Remembers an impersonation just started: the decision that allowed
    /// it, asked at `decided_at`, stands as its actor's re-check, and the
    /// session is cached, so the first read costs no query and no second
    /// decision (a start is followed by a context read in every flow).
    fn remember_started(&self, session: &Session, decided_at: Instant) {
        // Only a shortcut: when it cannot be noted, the first read decides again.
        let _ = self.mark_rechecked(session.id, decided_at);
        self.cache.put(session.token_hash.clone(), session.clone());
    }

    #[tracing::instrument(skip_all, fields(target = ?request.target))]
    pub(super) async fn issue(&self, request: IssueToken) -> Result<IssuedToken, Error> {
        let stated = actas_shared::reason::check(&request.reason, self.reason_required)?.to_owned();
        let actor_session = self.live_session(&request.actor_token).await?;
        if actor_session.imitating_user_id.is_some() {
            return Err(Error::Denied(ApiError::new(
                ErrorCode::ImpersonationChain,
                "An impersonated session cannot start another impersonation.",
            )));
        }
        let actor = actor_session.principal_id;
        // The permission service decides, from the directory, whether this
        // actor may do this at all: the caller's word counts for nothing.
        let action = request.target.action();
        let decision = self.decide(actor, request.target).await?;
        if !decision.allowed {
            return Err(Error::Denied(denial(&decision)));
        }
        let target_kind = PrincipalKind::from_proto(decision.target_kind)
            .ok_or_else(|| Error::Upstream(ApiError::internal()))?;
        let target: PrincipalId = decision
            .target_id
            .parse()
            .map_err(|_| Error::Upstream(ApiError::internal()))?;
        let audience = Audience::from_proto(decision.audience.as_ref())
            .ok_or_else(|| Error::Upstream(ApiError::internal()))?;
        let reason = if stated.is_empty() {
            decision.reason
        } else {
            format!("{}; stated reason: {stated}", decision.reason)
        };
        let issued_record = AuditRecord {
            id: AuditRecordId::new_random(),
            kind: AuditKind::TokenIssued,
            action,
            actor_id: actor,
            target_id: target,
            audience: audience.to_string(),
            session_id: None,
            reason: reason.clone(),
            client_ip: request.client_ip,
            user_agent: request.user_agent,
            occurred_at: now_millis(),
            trace_id: actas_shared::telemetry::current_trace_id(),
        };
        // On the record before it exists: when the record cannot be written,
        // no token is issued and the token store holds no grant (fail closed).
        self.store.append_audit(&issued_record).await?;
        let issued = self
            .tokens
            .issue_token(proto::IssueTokenRequest {
                actor_id: actor.to_string(),
                target_id: decision.target_id,
                audience: Some(audience.to_proto()),
                action: action.into(),
                target_kind: target_kind.to_proto().into(),
                target_profile_id: decision.target_profile_id,
                reason,
            })
            .await;
        match issued {
            Ok(issued) => Ok(IssuedToken {
                token: issued.token,
                expires_at: issued.expires_at_unix,
            }),
            Err(status) => {
                // The record said a token was issued; nobody got one. Say so
                // before answering, so the trail names no phantom token.
                let failed = AuditRecord {
                    id: AuditRecordId::new_random(),
                    kind: AuditKind::TokenIssueFailed,
                    reason: format!(
                        "the grant of record {} could not be stored: no token was handed out",
                        issued_record.id
                    ),
                    occurred_at: now_millis(),
                    ..issued_record
                };
                if let Err(error) = self.store.append_audit(&failed).await {
                    tracing::error!(%error, "the failed issue could not be recorded");
                }
                Err(status.into())
            }
        }
    }

    #[tracing::instrument(skip_all, fields(customer = ?request.customer, user = ?request.user))]
    pub(super) async fn imitate(&self, request: ImitateCustomer) -> Result<Issued, Error> {
        if request.token.is_empty() {
            return Err(Error::Missing { field: "token" });
        }
        let client = (request.client_ip.as_str(), request.user_agent.as_str());
        let grant = self
            .redeem(
                proto::RedeemTokenRequest {
                    token: request.token,
                    expected_target_id: request.customer.map(|id| id.to_string()).unwrap_or_default(),
                    expected_actor_id: request.user.map(|id| id.to_string()).unwrap_or_default(),
                    expected_sales_channel_id: request
                        .sales_channel
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                    // A team or operator token is no storefront token: it burns here.
                    expected_actions: vec![Action::ImitateCustomer.into()],
                },
                client,
            )
            .await?;
        let sales_channel = Audience::from_proto(grant.audience.as_ref())
            .and_then(Audience::sales_channel)
            .ok_or(Error::InvalidToken)?;
        // Who acts for whom is what the token says (the token issuer
        // compared the ids the client named, when it named them).
        let customer: PrincipalId = grant.target_id.parse().map_err(|_| Error::InvalidToken)?;
        let user: PrincipalId = grant.actor_id.parse().map_err(|_| Error::InvalidToken)?;
        // The right is checked again at exchange: revoking the admin's
        // privilege between issue and exchange stops the impersonation.
        let decided_at = Instant::now();
        let asked = Target::Customer {
            customer,
            sales_channel,
        };
        let decision = self.decide(user, asked).await?;
        if !decision.allowed {
            tracing::warn!(reason = %decision.reason, "impersonation refused at exchange");
            return Err(Error::InvalidToken);
        }
        self.start(Start {
            grant: &grant,
            actor: user,
            target: customer,
            target_kind: PrincipalKind::Customer,
            action: Action::ImitateCustomer,
            sales_channel: Some(sales_channel),
            profile_id: None,
            read_only: decision.read_only,
            decided_at,
            client,
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn exchange_token(&self, request: Exchange) -> Result<Issued, Error> {
        if request.token.is_empty() {
            return Err(Error::Missing { field: "token" });
        }
        let client = (request.client_ip.as_str(), request.user_agent.as_str());
        let grant = self
            .redeem(
                proto::RedeemTokenRequest {
                    token: request.token,
                    expected_actions: vec![
                        Action::ImpersonateTeamMember.into(),
                        Action::ImpersonateUser.into(),
                    ],
                    ..Default::default()
                },
                client,
            )
            .await?;
        let actor: PrincipalId = grant.actor_id.parse().map_err(|_| Error::InvalidToken)?;
        let target: PrincipalId = grant.target_id.parse().map_err(|_| Error::InvalidToken)?;
        let kind = PrincipalKind::from_proto(grant.target_kind).ok_or(Error::InvalidToken)?;
        let action = Action::from_wire(grant.action).ok_or(Error::InvalidToken)?;
        // The right is checked again at exchange, as for the storefront.
        let decided_at = Instant::now();
        let asked = match action {
            Action::ImpersonateTeamMember => Target::Profile(grant.target_profile_id),
            _ => Target::User(target),
        };
        let decision = self.decide(actor, asked).await?;
        if !decision.allowed || decision.target_id != grant.target_id {
            tracing::warn!(reason = %decision.reason, "impersonation refused at exchange");
            return Err(Error::InvalidToken);
        }
        let profile_id = match action {
            Action::ImpersonateTeamMember => Some(grant.target_profile_id),
            _ => self.first_profile(target).await?,
        };
        self.start(Start {
            grant: &grant,
            actor,
            target,
            target_kind: kind,
            action,
            sales_channel: None,
            profile_id,
            read_only: decision.read_only,
            decided_at,
            client,
        })
        .await
    }
}
