//! Ending sessions, each on the record: by logout, when due, by
//! revocation, and when a principal is deactivated.

use actas_shared::{
    db::now_millis,
    ids::AuditRecordId,
    principal::PrincipalKind,
    proto::{self, Action},
};

use crate::{
    error::Error,
    model::{AuditKind, AuditRecord, Ending, Session},
    store::{Revocation, Whose},
};

use super::{Activation, REVOKE_IMPERSONATIONS, Revoke, SessionManager, idle_reason, lifetime_ms};

impl SessionManager {
    /// Forgets the spent tokens that expired more than a minute ago: they
    /// no longer verify anywhere (the minute covers clocks that differ
    /// between replicas). Returns how many.
    pub async fn forget_spent_tokens(&self) -> Result<u64, Error> {
        const CLOCK_SKEW_MS: i64 = 60_000;
        Ok(self
            .store
            .forget_spent_tokens(now_millis().saturating_sub(CLOCK_SKEW_MS))
            .await?)
    }

    /// Ends the impersonated sessions past their hard maximum (an
    /// `impersonation_expired` record, dated at the expiry) or unused for
    /// the idle time (`impersonation_ended`) that no read ended yet; at most
    /// `limit` per call. Several replicas may sweep at once: each session
    /// ends once, with one record. Returns how many ended here.
    pub async fn end_due(&self, limit: i64) -> Result<usize, Error> {
        let now = now_millis();
        let idle = self.lifetimes.impersonation_idle;
        let due = self
            .store
            .due_to_end(now, now.saturating_sub(lifetime_ms(idle)), limit)
            .await?;
        let mut ended = 0;
        for session in due {
            let done = if session.expires_at <= now {
                self.expire(&session).await?
            } else {
                self.end_as(
                    &session,
                    AuditKind::ImpersonationEnded,
                    &idle_reason(idle),
                    ("", ""),
                )
                .await?
            };
            ended += usize::from(done);
        }
        Ok(ended)
    }

    /// Ends an impersonated session that reached its hard maximum.
    pub(super) async fn expire(&self, session: &Session) -> Result<bool, Error> {
        let max = self.lifetimes.impersonation.as_secs();
        self.end_at(
            session,
            AuditKind::ImpersonationExpired,
            &format!("reached the maximum lifetime of {max} s"),
            ("", ""),
            session.expires_at,
        )
        .await
    }

    /// Ends `session`; an impersonated one leaves an audit record.
    pub(super) async fn end(&self, session: &Session, reason: &str) -> Result<(), Error> {
        self.end_as(session, AuditKind::ImpersonationEnded, reason, ("", ""))
            .await
            .map(|_| ())
    }

    /// Ends `session` with a record of `kind` naming the client that ended
    /// it; false when it had already ended.
    pub(super) async fn end_as(
        &self,
        session: &Session,
        kind: AuditKind,
        reason: &str,
        client: (&str, &str),
    ) -> Result<bool, Error> {
        self.end_at(session, kind, reason, client, now_millis()).await
    }

    /// [`Self::end_as`] at `now` (an expiry is dated when it happened).
    pub(super) async fn end_at(
        &self,
        session: &Session,
        kind: AuditKind,
        reason: &str,
        (client_ip, user_agent): (&str, &str),
        now: i64,
    ) -> Result<bool, Error> {
        let trace_id = actas_shared::telemetry::current_trace_id();
        let record = AuditRecord::of_ending(
            session,
            Ending {
                kind,
                reason,
                client_ip,
                user_agent,
                at: now,
                trace_id: &trace_id,
            },
        );
        let ended = self.store.end(session.id, reason, now, record.as_ref()).await?;
        self.cache.forget(&session.token_hash);
        Ok(ended)
    }

    #[tracing::instrument(skip_all, fields(actor = ?request.actor, target = ?request.target))]
    pub(super) async fn revoke(&self, request: Revoke) -> Result<i64, Error> {
        let reason = actas_shared::reason::check(&request.reason, false)?;
        // Revoking is an act of one's own: not from a borrowed identity.
        let revoker = self
            .own_session(
                &request.revoker_token,
                "An impersonated session cannot revoke impersonations.",
            )
            .await?;
        if !matches!(
            revoker.principal_kind,
            PrincipalKind::Admin | PrincipalKind::Operator
        ) {
            return Err(Error::Unauthorized);
        }
        self.require_privilege(revoker.principal_id, REVOKE_IMPERSONATIONS)
            .await?;
        if request.actor.is_none() && request.target.is_none() && request.session.is_none() {
            return Err(Error::Missing {
                field: "actorId, targetId or sessionId",
            });
        }
        let reason = match reason {
            "" => format!("revoked by {}", revoker.principal_id),
            stated => format!("revoked by {}: {stated}", revoker.principal_id),
        };
        let ended = self
            .store
            .revoke_impersonations(&Revocation {
                whose: Whose::Impersonations {
                    actor: request.actor,
                    target: request.target,
                    session: request.session,
                },
                reason,
                client_ip: request.client_ip,
                user_agent: request.user_agent,
                trace_id: actas_shared::telemetry::current_trace_id(),
                at: now_millis(),
            })
            .await?;
        // This replica forgets them at once; the others within the second.
        for token_hash in &ended {
            self.cache.forget(token_hash);
        }
        let revoked = i64::try_from(ended.len()).unwrap_or(i64::MAX);
        tracing::info!(revoked, "impersonations revoked");
        Ok(revoked)
    }

    pub(super) async fn set_active(
        &self,
        request: Activation,
        active: bool,
    ) -> Result<(proto::Principal, i64), Error> {
        let stated = actas_shared::reason::check(&request.reason, false)?;
        let actor = self
            .own_session(
                &request.actor_token,
                "An impersonated session cannot deactivate anyone.",
            )
            .await?;
        if !matches!(
            actor.principal_kind,
            PrincipalKind::Admin | PrincipalKind::Operator
        ) {
            return Err(Error::Unauthorized);
        }
        // The permission service checks the privilege and the ranking.
        let principal = self
            .permission
            .set_principal_active(proto::SetPrincipalActiveRequest {
                actor_id: actor.principal_id.to_string(),
                principal_id: request.principal.to_string(),
                active,
            })
            .await?;
        let (kind, done) = if active {
            (AuditKind::PrincipalReactivated, "reactivated")
        } else {
            (AuditKind::PrincipalDeactivated, "deactivated")
        };
        let reason = match stated {
            "" => format!("{done} by {}", actor.principal_id),
            stated => format!("{done} by {}: {stated}", actor.principal_id),
        };
        let at = now_millis();
        let trace_id = actas_shared::telemetry::current_trace_id();
        // The directory changed first (a refusal there writes nothing); a
        // failure from here on answers 503, and asking again finishes it.
        self.store
            .append_audit(&AuditRecord {
                id: AuditRecordId::new_random(),
                kind,
                action: Action::Unspecified,
                actor_id: actor.principal_id,
                target_id: request.principal,
                audience: String::new(),
                session_id: None,
                reason: reason.clone(),
                client_ip: request.client_ip.clone(),
                user_agent: request.user_agent.clone(),
                occurred_at: at,
                trace_id: trace_id.clone(),
            })
            .await?;
        if active {
            return Ok((principal, 0));
        }
        let ended = self
            .store
            .revoke_impersonations(&Revocation {
                whose: Whose::EveryOneOf(request.principal),
                reason,
                client_ip: request.client_ip,
                user_agent: request.user_agent,
                trace_id,
                at,
            })
            .await?;
        for token_hash in &ended {
            self.cache.forget(token_hash);
        }
        let ended = i64::try_from(ended.len()).unwrap_or(i64::MAX);
        tracing::info!(ended, "principal deactivated; its sessions ended");
        Ok((principal, ended))
    }
}
