//! Reading a live session: from memory or the store, ended when idle too
//! long, and, for an impersonation, the actor's right asked again at most
//! once per [`RECHECK_INTERVAL`], so a lost right ends it within a second.

use std::time::{Duration, Instant};

use actas_shared::{
    ApiError,
    db::now_millis,
    ids::{PrincipalId, SessionId},
    proto::{self, Action},
    secret::hash_token,
};

use crate::{error::Error, model::Session};

use super::{RECHECK_INTERVAL, SessionManager, Target, idle_reason, lifetime_ms};

/// How stale a session's `last_seen_at` may get before a read writes it: at
/// most one write per session per interval (reads stay reads), at the price
/// of an idle session ending up to one interval early.
pub fn touch_interval(idle: Duration) -> Duration {
    (idle / 4).min(Duration::from_secs(60))
}

impl SessionManager {
    /// Whether the actor of an impersonated session may still act as its
    /// target, asked of the permission service at most once per
    /// [`RECHECK_INTERVAL`]. Sessions that are not impersonations pass. The
    /// session's read-only mark follows the policy the answer carries.
    async fn actor_still_allowed(&self, session: &mut Session) -> Result<bool, Error> {
        let Some(actor) = session.imitating_user_id else {
            return Ok(true);
        };
        let now = Instant::now();
        let fresh = self
            .rechecked
            .lock()
            .map_err(|_| Error::Upstream(ApiError::internal()))?
            .get(&session.id)
            .is_some_and(|checked| now.duration_since(*checked) < RECHECK_INTERVAL);
        if fresh {
            return Ok(true);
        }
        let action = session.grant_action.as_deref().and_then(Action::parse);
        let target = match (action, session.sales_channel_id, session.profile_id) {
            (Some(Action::ImitateCustomer), Some(sales_channel), _) => Target::Customer {
                customer: session.principal_id,
                sales_channel,
            },
            (Some(Action::ImpersonateTeamMember), _, Some(profile)) => Target::Profile(profile),
            (Some(Action::ImpersonateUser), _, _) => Target::User(session.principal_id),
            // An impersonation of unknown origin is not trusted.
            _ => return Ok(false),
        };
        let decision = self.decide(actor, target).await?;
        let allowed = decision.allowed && decision.target_id == session.principal_id.to_string();
        if allowed && decision.read_only != session.read_only {
            // Rare (a policy change): one write, seen by every replica.
            self.store.set_read_only(session.id, decision.read_only).await?;
            session.read_only = decision.read_only;
            let read_only = decision.read_only;
            self.cache
                .update(&session.token_hash, |cached| cached.read_only = read_only);
            tracing::info!(session = %session.id, read_only = decision.read_only, "impersonation policy changed");
        }
        if allowed {
            self.mark_rechecked(session.id, now)?;
        } else {
            self.rechecked
                .lock()
                .map_err(|_| Error::Upstream(ApiError::internal()))?
                .remove(&session.id);
            tracing::warn!(session = %session.id, reason = %decision.reason, "impersonating actor lost the right");
        }
        Ok(allowed)
    }

    /// Records that the session's actor was found allowed by a decision
    /// asked at `asked_at`. Stale entries go when the map grows, whichever
    /// path adds to it: it holds recently checked sessions only.
    pub(super) fn mark_rechecked(&self, session: SessionId, asked_at: Instant) -> Result<(), Error> {
        let mut rechecked = self
            .rechecked
            .lock()
            .map_err(|_| Error::Upstream(ApiError::internal()))?;
        if rechecked.len() > 10_000 {
            let now = Instant::now();
            rechecked.retain(|_, checked| now.duration_since(*checked) < RECHECK_INTERVAL);
        }
        rechecked.insert(session, asked_at);
        Ok(())
    }

    pub(super) async fn live_session(&self, token: &str) -> Result<Session, Error> {
        if token.is_empty() {
            return Err(Error::Unauthorized);
        }
        let now = now_millis();
        let hash = hash_token(token);
        let session = match self.cache.get(&hash) {
            Some(session) => session,
            None => {
                let session = self
                    .store
                    .by_token_hash(&hash)
                    .await?
                    .ok_or(Error::Unauthorized)?;
                self.cache.put(hash.clone(), session.clone());
                session
            }
        };
        if !session.is_live(now) {
            self.cache.forget(&hash);
            if session.ended_at.is_none() && session.imitating_user_id.is_some() {
                // Past its maximum and not yet swept: on the record now.
                self.expire(&session).await?;
            }
            return Err(Error::Unauthorized);
        }
        if session.imitating_user_id.is_none() && !self.principal_active(session.principal_id).await? {
            self.cache.forget(&hash);
            self.end(&session, "principal deactivated").await?;
            return Err(Error::Unauthorized);
        }
        if session.imitating_user_id.is_some() {
            // Someone acting for another and then walking away leaves an open
            // door: unused for the idle time, the session ends, on the record.
            let idle = self.lifetimes.impersonation_idle;
            let unused = now.saturating_sub(session.last_seen_at);
            if unused > lifetime_ms(idle) {
                self.end(&session, &idle_reason(idle)).await?;
                return Err(Error::Unauthorized);
            }
            if unused >= lifetime_ms(touch_interval(idle)) {
                self.store.touch(session.id, now).await?;
                self.cache.update(&hash, |cached| cached.last_seen_at = now);
            }
        }
        Ok(session)
    }

    /// Whether the principal is active, from the permission service at
    /// most once per [`RECHECK_INTERVAL`]; one it no longer knows is not.
    pub(super) async fn principal_active(&self, principal: PrincipalId) -> Result<bool, Error> {
        if self.active.get(&principal).is_some() {
            return Ok(true);
        }
        let active = match self
            .permission
            .get_principal(proto::GetPrincipalRequest {
                id: principal.to_string(),
            })
            .await
        {
            Ok(found) => found.active,
            Err(status) if status.code() == tonic::Code::NotFound => false,
            Err(status) => return Err(status.into()),
        };
        if active {
            self.active.put(principal, ());
        }
        Ok(active)
    }

    /// Re-checks the actors of up to `limit` open impersonations after
    /// `cursor` (then moves it; back to the start after the last), and ends
    /// those whose actor lost the right, on the record: the trail says when
    /// an impersonation really ended even when nobody reads it again. A
    /// session re-checked within the interval costs nothing. Returns how
    /// many ended.
    pub async fn recheck_open(&self, cursor: &mut Option<SessionId>, limit: i64) -> Result<usize, Error> {
        let batch = self
            .store
            .open_impersonations_after(*cursor, now_millis(), limit)
            .await?;
        *cursor = match batch.last() {
            Some(last) if i64::try_from(batch.len()).unwrap_or(i64::MAX) >= limit => Some(last.id),
            _ => None,
        };
        let mut ended = 0;
        for mut session in batch {
            if self.ended_for_lost_right(&mut session).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Ends the session, on the record, when it is an impersonation whose
    /// actor may no longer act as its target; true when it ended. The live
    /// read and the sweeper both decide this way.
    pub(super) async fn ended_for_lost_right(&self, session: &mut Session) -> Result<bool, Error> {
        if self.actor_still_allowed(session).await? {
            return Ok(false);
        }
        self.end(session, "the impersonating actor's right was revoked")
            .await?;
        Ok(true)
    }
}
