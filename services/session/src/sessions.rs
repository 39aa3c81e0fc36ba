//! The session service's domain: logins, starting an impersonation (the
//! one-time token's issue and its exchange for a marked session), contexts,
//! logout, and the audit trail. It orchestrates: the permission service
//! decides and the token issuer signs and redeems, and neither calls back.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actas_shared::{
    ApiError, ErrorCode,
    audience::Audience,
    cache::TtlCache,
    db::now_millis,
    grpc::calls::{PermissionCalls, TokenCalls},
    ids::{AuditRecordId, PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
    proto::{self, Action, redeem_token_response::Outcome},
    secret::{hash_token, random_token},
};
use async_trait::async_trait;
use serde_json::{Map, Value};

mod actions;
mod context;
mod guests;
mod live;
mod refresh;
mod team;

pub use actions::{ActionLimit, ReportedAction};
pub use live::LiveImpersonations;
pub use team::{TeamMember, TeamRoster};

use crate::{
    actions::{ActionFilter, ActionRecord},
    error::Error,
    guests::{GuestContext, IssuedGuest},
    model::{AuditFilter, AuditKind, AuditRecord, Ending, Session, SpentToken},
    store::{Revocation, SessionStore, Whose},
};

/// What the session service does; the gRPC adapter and tests call this.
#[async_trait]
pub trait Sessions: Send + Sync + 'static {
    async fn login(&self, request: Login) -> Result<Issued, Error>;
    /// Grants a one-time impersonation token: the actor's own session,
    /// the permission service's decision, the `token_issued` record, then
    /// the token issuer signs and stores it.
    async fn issue_token(&self, request: IssueToken) -> Result<IssuedToken, Error>;
    /// Whether every impersonation start must state a reason.
    fn reason_required(&self) -> bool;
    async fn imitate_customer(&self, request: ImitateCustomer) -> Result<Issued, Error>;
    async fn context(&self, token: &str) -> Result<Session, Error>;
    /// The context behind a Store API token: a live session's, or a guest's.
    async fn store_context(&self, token: &str) -> Result<StoreContext, Error>;
    /// Sets known keys of a session's or a guest's context payload.
    async fn update_context(&self, token: &str, changes: Map<String, Value>) -> Result<StoreContext, Error>;
    /// A new guest context on a sales channel: nobody behind it.
    async fn start_guest(&self, channel: SalesChannelId) -> Result<IssuedGuest, Error>;
    /// Rotates an own session's credentials for its single-use refresh
    /// token (the OAuth refresh grant).
    async fn refresh(&self, refresh_token: &str) -> Result<Issued, Error>;
    /// Exchanges a team or operator token (the token alone) for a new,
    /// marked session of its target.
    async fn exchange(&self, request: Exchange) -> Result<Issued, Error>;
    /// Switches the active profile among the session person's own profiles.
    async fn switch_profile(&self, token: &str, profile_id: i64) -> Result<Session, Error>;
    async fn logout(&self, token: &str) -> Result<(), Error>;
    /// Audit records, newest first: what the reader (their own session
    /// token) may see: any record with `impersonation:audit`, a customer's
    /// own session records otherwise.
    async fn audit_records(&self, reader_token: &str, filter: AuditFilter)
    -> Result<Vec<AuditRecord>, Error>;
    /// Ends the live impersonated sessions of an actor and/or of a target;
    /// returns how many ended.
    async fn revoke_impersonations(&self, request: Revoke) -> Result<i64, Error>;
    /// Deactivates (`active: false`) or reactivates a principal, on the
    /// record; deactivating ends every session of it. The principal as it
    /// is now, and how many sessions ended.
    async fn set_principal_active(
        &self,
        request: Activation,
        active: bool,
    ) -> Result<(proto::Principal, i64), Error>;
    /// Appends an action done on a live impersonated session's behalf.
    async fn record_action(&self, report: ReportedAction) -> Result<ActionRecord, Error>;
    /// Action records, newest first, under the audit trail's reading rule.
    async fn action_records(
        &self,
        reader_token: &str,
        filter: ActionFilter,
    ) -> Result<Vec<ActionRecord>, Error>;
    /// The team of a team administrator's own session profile, with what
    /// the administrator may do to each member.
    async fn team_members(&self, token: &str) -> Result<TeamRoster, Error>;
    /// A page of the live impersonated sessions after `after`, for a
    /// reader (their own session token) holding `impersonation:revoke`.
    async fn live_impersonations(
        &self,
        reader_token: &str,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<LiveImpersonations, Error>;
}

#[derive(Debug)]
pub struct Activation {
    /// The actor's own session token, verified here.
    pub actor_token: String,
    pub principal: PrincipalId,
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
}

/// Whom an impersonation is for.
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

impl Target {
    /// The action that reaches this kind of target.
    pub fn action(self) -> Action {
        match self {
            Target::Customer { .. } => Action::ImitateCustomer,
            Target::Profile(_) => Action::ImpersonateTeamMember,
            Target::User(_) => Action::ImpersonateUser,
        }
    }
}

#[derive(Debug)]
pub struct IssueToken {
    /// The actor's own session token, verified here.
    pub actor_token: String,
    pub target: Target,
    /// The actor's stated reason (may be empty unless required).
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
}

/// A one-time token, shown once to the actor who asked.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: i64,
}

/// The privilege that lets an admin or operator revoke impersonations.
pub const REVOKE_IMPERSONATIONS: &str = "impersonation:revoke";
/// The privilege that lets an admin or operator read the audit trail.
pub const AUDIT_IMPERSONATIONS: &str = "impersonation:audit";

#[derive(Debug)]
pub struct Revoke {
    /// The revoker's own session token, verified here.
    pub revoker_token: String,
    pub actor: Option<PrincipalId>,
    pub target: Option<PrincipalId>,
    /// Only this impersonated session.
    pub session: Option<SessionId>,
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
}

#[derive(Debug)]
pub struct Login {
    pub kind: PrincipalKind,
    pub email: String,
    pub password: String,
    pub sales_channel: Option<SalesChannelId>,
    pub previous_token: Option<String>,
    /// Public (coworker) API: the session starts on the person's first profile.
    pub with_profile: bool,
    /// Admins (OAuth password grant): hand out a refresh token too.
    pub with_refresh_token: bool,
}

#[derive(Debug)]
pub struct Exchange {
    pub token: String,
    pub client_ip: String,
    pub user_agent: String,
}

#[derive(Debug)]
pub struct ImitateCustomer {
    pub token: String,
    /// The customer and the admin the client names; `None`: the token's own
    /// (Shopware 6.7 deprecates sending them, 6.8 takes them from the token).
    /// Given, they must match the token.
    pub customer: Option<PrincipalId>,
    pub user: Option<PrincipalId>,
    /// `None`: the sales channel the token was issued for.
    pub sales_channel: Option<SalesChannelId>,
    pub client_ip: String,
    pub user_agent: String,
}

/// A new session and the token its client holds (shown once, stored hashed).
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub session: Session,
    /// Logins that asked for one, and refreshes: single use, stored hashed.
    pub refresh_token: Option<String>,
}

/// What a Store API token stands for.
#[derive(Debug)]
pub enum StoreContext {
    Session(Session),
    Guest(GuestContext),
}

#[derive(Clone, Debug)]
pub struct Lifetimes {
    pub admin: Duration,
    /// Refreshes never carry an admin session past this since its login.
    pub admin_max: Duration,
    pub customer: Duration,
    /// Hard maximum of an impersonated session; nothing extends it.
    pub impersonation: Duration,
    /// An impersonated session unused this long ends.
    pub impersonation_idle: Duration,
}

/// How stale a session's `last_seen_at` may get before a read writes it: at
/// most one write per session per interval (reads stay reads), at the price
/// of an idle session ending up to one interval early.
pub fn touch_interval(idle: Duration) -> Duration {
    (idle / 4).min(Duration::from_secs(60))
}

/// [`Sessions`] over a [`SessionStore`], asking the permission service and
/// the token issuer. Clones share their caches (the server and the sweeper).
#[derive(Clone)]
pub struct SessionManager {
    store: Arc<dyn SessionStore>,
    permission: Arc<dyn PermissionCalls>,
    tokens: Arc<dyn TokenCalls>,
    lifetimes: Lifetimes,
    /// Every impersonation start must state a reason (`ACTAS_REQUIRE_REASON`).
    reason_required: bool,
    /// When each impersonated session's actor was last found still allowed.
    rechecked: Arc<Mutex<HashMap<SessionId, Instant>>>,
    /// Sessions by token hash, read within the last [`RECHECK_INTERVAL`]:
    /// the hot context read skips the database. Changes made here update or
    /// drop their entry at once; another replica's are seen when it
    /// expires, so nothing is trusted longer than a positive re-check is.
    cache: Arc<TtlCache<String, Session>>,
    /// Principals found active within the last [`RECHECK_INTERVAL`]: a
    /// principal's own session is served only while the principal is
    /// active, so a deactivation ends them within it however it came about
    /// (a deactivation whose revocation failed half-way or raced a login, a
    /// directory changed by hand). One lookup per principal per interval.
    active: Arc<TtlCache<PrincipalId, ()>>,
    /// Action reports per session and minute (`ACTAS_ACTION_LIMIT_PER_MINUTE`).
    action_limit: Option<Arc<ActionLimit>>,
}

/// How long a positive re-check of an impersonating actor's right stands,
/// and how long a session read is served from memory. Half of the second
/// promised for revocation: the gateway may keep the answer for as long
/// again (`actas_gateway::app::CONTEXT_TTL`). A context read costs at most
/// one decision per session per interval.
pub const RECHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Action reports one session may make per minute unless configured: a
/// page of clicks is a few, a runaway loop is refused.
pub const DEFAULT_ACTION_LIMIT_PER_MINUTE: u32 = 120;

/// Sessions kept in memory per replica at most (a few MiB).
const SESSION_CACHE_CAPACITY: usize = 50_000;

impl SessionManager {
    /// The person's first profile (by id), if they hold any.
    async fn first_profile(&self, person: PrincipalId) -> Result<Option<i64>, Error> {
        let profiles = self
            .permission
            .list_profiles(proto::ListProfilesRequest {
                person_id: person.to_string(),
                team_id: 0,
            })
            .await?
            .profiles;
        Ok(profiles.first().map(|profile| profile.id))
    }

    pub fn new(
        store: Arc<dyn SessionStore>,
        permission: Arc<dyn PermissionCalls>,
        tokens: Arc<dyn TokenCalls>,
        lifetimes: Lifetimes,
    ) -> Self {
        Self {
            store,
            permission,
            tokens,
            lifetimes,
            reason_required: false,
            rechecked: Arc::new(Mutex::new(HashMap::new())),
            cache: Arc::new(TtlCache::new("session", RECHECK_INTERVAL, SESSION_CACHE_CAPACITY)),
            active: Arc::new(TtlCache::new(
                "active_principal",
                RECHECK_INTERVAL,
                SESSION_CACHE_CAPACITY,
            )),
            action_limit: ActionLimit::per_minute(DEFAULT_ACTION_LIMIT_PER_MINUTE),
        }
    }

    /// Action reports one session may make per minute; 0: unlimited.
    pub fn action_limit_per_minute(mut self, per_minute: u32) -> Self {
        self.action_limit = ActionLimit::per_minute(per_minute);
        self
    }

    /// Whether `actor` may act as `target`, as the permission service
    /// decides it from the directory.
    async fn decide(&self, actor: PrincipalId, target: Target) -> Result<proto::Decision, Error> {
        let (target_id, sales_channel_id, target_profile_id) = match target {
            Target::Customer {
                customer,
                sales_channel,
            } => (customer.to_string(), sales_channel.to_string(), 0),
            Target::Profile(profile) => (String::new(), String::new(), profile),
            Target::User(user) => (user.to_string(), String::new(), 0),
        };
        Ok(self
            .permission
            .authorize(proto::AuthorizeRequest {
                actor_id: actor.to_string(),
                action: target.action().into(),
                target_id,
                sales_channel_id,
                target_profile_id,
            })
            .await?)
    }

    /// Every impersonation start must state a reason (`ACTAS_REQUIRE_REASON`).
    pub fn require_reason(mut self, required: bool) -> Self {
        self.reason_required = required;
        self
    }

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
    fn mark_rechecked(&self, session: SessionId, asked_at: Instant) -> Result<(), Error> {
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

    async fn live_session(&self, token: &str) -> Result<Session, Error> {
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
    async fn principal_active(&self, principal: PrincipalId) -> Result<bool, Error> {
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

    /// Remembers an impersonation just started: the decision that allowed
    /// it, asked at `decided_at`, stands as its actor's re-check, and the
    /// session is cached, so the first read costs no query and no second
    /// decision (a start is followed by a context read in every flow).
    fn remember_started(&self, session: &Session, decided_at: Instant) {
        // Only a shortcut: when it cannot be noted, the first read decides again.
        let _ = self.mark_rechecked(session.id, decided_at);
        self.cache.put(session.token_hash.clone(), session.clone());
    }

    /// A live session that is the principal's own, not an impersonation;
    /// an impersonated one is refused with `detail`.
    async fn own_session(&self, token: &str, detail: &str) -> Result<Session, Error> {
        let session = self.live_session(token).await?;
        if session.imitating_user_id.is_some() {
            return Err(Error::Denied(ApiError::new(
                actas_shared::ErrorCode::ForbiddenWhileImpersonating,
                detail,
            )));
        }
        Ok(session)
    }

    /// The principal is active and holds `privilege`, says the permission service.
    async fn require_privilege(&self, principal: PrincipalId, privilege: &str) -> Result<(), Error> {
        let holder = self
            .permission
            .get_principal(proto::GetPrincipalRequest {
                id: principal.to_string(),
            })
            .await?;
        if !holder.active || !holder.privileges.iter().any(|held| held == privilege) {
            return Err(Error::Denied(ApiError::missing_privileges(vec![
                privilege.to_owned(),
            ])));
        }
        Ok(())
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
    async fn ended_for_lost_right(&self, session: &mut Session) -> Result<bool, Error> {
        if self.actor_still_allowed(session).await? {
            return Ok(false);
        }
        self.end(session, "the impersonating actor's right was revoked")
            .await?;
        Ok(true)
    }

    /// Ends an impersonated session that reached its hard maximum.
    async fn expire(&self, session: &Session) -> Result<bool, Error> {
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
    async fn end(&self, session: &Session, reason: &str) -> Result<(), Error> {
        self.end_as(session, AuditKind::ImpersonationEnded, reason, ("", ""))
            .await
            .map(|_| ())
    }

    /// Ends `session` with a record of `kind` naming the client that ended
    /// it; false when it had already ended.
    async fn end_as(
        &self,
        session: &Session,
        kind: AuditKind,
        reason: &str,
        client: (&str, &str),
    ) -> Result<bool, Error> {
        self.end_at(session, kind, reason, client, now_millis()).await
    }

    /// [`Self::end_as`] at `now` (an expiry is dated when it happened).
    async fn end_at(
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
}

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

/// The permission service's refusal, as the caller sees it.
fn denial(decision: &proto::Decision) -> ApiError {
    let code = ErrorCode::parse(&decision.code).unwrap_or(ErrorCode::ImpersonationNotAllowed);
    ApiError {
        code,
        detail: decision.reason.clone(),
        missing_privileges: decision.missing_privileges.clone(),
        retry_after_secs: None,
    }
}

fn idle_reason(idle: Duration) -> String {
    format!("unused for longer than {} s", idle.as_secs())
}

fn lifetime_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl Sessions for SessionManager {
    async fn team_members(&self, token: &str) -> Result<TeamRoster, Error> {
        self.roster(token).await
    }

    async fn live_impersonations(
        &self,
        reader_token: &str,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<LiveImpersonations, Error> {
        self.live(reader_token, after, limit).await
    }

    async fn record_action(&self, report: ReportedAction) -> Result<ActionRecord, Error> {
        self.append_action(report).await
    }

    async fn action_records(
        &self,
        reader_token: &str,
        filter: ActionFilter,
    ) -> Result<Vec<ActionRecord>, Error> {
        self.read_actions(reader_token, filter).await
    }

    #[tracing::instrument(skip_all, fields(kind = %request.kind))]
    async fn login(&self, request: Login) -> Result<Issued, Error> {
        let principal = self
            .permission
            .authenticate(proto::AuthenticateRequest {
                kind: request.kind.to_proto().into(),
                email: request.email,
                password: request.password,
                sales_channel_id: request.sales_channel.map(|c| c.to_string()).unwrap_or_default(),
            })
            .await?
            .principal
            .ok_or_else(|| Error::Upstream(ApiError::internal()))?;
        let principal_id: PrincipalId = principal
            .id
            .parse()
            .map_err(|_| Error::Upstream(ApiError::internal()))?;
        // Authenticated just now, so active: the first reads skip the lookup.
        self.active.put(principal_id, ());

        // The context the client held is replaced: an imitation in it ends;
        // a guest's choices carry over.
        let mut guest = None;
        if let Some(previous) = request.previous_token.filter(|t| !t.is_empty()) {
            if let Ok(previous) = self.live_session(&previous).await {
                self.end(&previous, "replaced by login").await?;
            } else {
                guest = self.guest_on(&previous, request.sales_channel).await?;
            }
        }
        // Restore the customer's latest context payload, never its mark: the
        // new session is the customer's own, whoever wrote the payload.
        let latest = self
            .store
            .latest_payload(principal_id, request.sales_channel)
            .await?;
        let payload = guests::overlay(latest.as_deref(), guest.as_ref().map(|g| g.payload.as_str()));
        let lifetime = match request.kind {
            PrincipalKind::Customer => self.lifetimes.customer,
            PrincipalKind::Admin | PrincipalKind::Operator => self.lifetimes.admin,
        };
        let profile_id = if request.with_profile {
            self.first_profile(principal_id).await?
        } else {
            None
        };
        let token = random_token();
        let now = now_millis();
        let session = Session {
            id: SessionId::new_random(),
            token_hash: hash_token(&token),
            principal_id,
            principal_kind: request.kind,
            sales_channel_id: request.sales_channel,
            imitating_user_id: None,
            profile_id,
            grant_action: None,
            payload,
            created_at: now,
            expires_at: now.saturating_add(lifetime_ms(lifetime)),
            ended_at: None,
            last_seen_at: now,
            read_only: false,
        };
        self.store.insert(&session).await?;
        // Only now: a login that failed leaves the visitor their guest context.
        if let Some(guest) = &guest {
            self.end_guest(guest).await?;
        }
        let refresh_token = if request.with_refresh_token {
            let refresh = random_token();
            self.store
                .grant_refresh(session.id, &hash_token(&refresh))
                .await?;
            Some(refresh)
        } else {
            None
        };
        tracing::info!(session = %session.id, principal = %principal_id, "logged in");
        Ok(Issued {
            token,
            session,
            refresh_token,
        })
    }

    #[tracing::instrument(skip_all, fields(target = ?request.target))]
    async fn issue_token(&self, request: IssueToken) -> Result<IssuedToken, Error> {
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

    fn reason_required(&self) -> bool {
        self.reason_required
    }

    #[tracing::instrument(skip_all, fields(customer = ?request.customer, user = ?request.user))]
    async fn imitate_customer(&self, request: ImitateCustomer) -> Result<Issued, Error> {
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

    async fn context(&self, token: &str) -> Result<Session, Error> {
        let mut session = self.live_session(token).await?;
        // The actor's right is checked while the session lives, not only at
        // its start: revoke the privilege or disable the actor and it ends.
        if self.ended_for_lost_right(&mut session).await? {
            return Err(Error::Unauthorized);
        }
        Ok(session)
    }

    async fn store_context(&self, token: &str) -> Result<StoreContext, Error> {
        match self.context(token).await {
            Ok(session) => Ok(StoreContext::Session(session)),
            Err(Error::Unauthorized) => Ok(StoreContext::Guest(self.guest(token).await?)),
            Err(error) => Err(error),
        }
    }

    async fn update_context(&self, token: &str, changes: Map<String, Value>) -> Result<StoreContext, Error> {
        let mut session = match self.store_context(token).await? {
            StoreContext::Session(session) => session,
            StoreContext::Guest(guest) => return self.update_guest(guest, changes).await,
        };
        if session.read_only {
            return Err(Error::Denied(ApiError::new(
                actas_shared::ErrorCode::ReadOnlyImpersonation,
                "This impersonation is read-only: the context cannot be changed.",
            )));
        }
        session.payload = self
            .apply_changes(session.sales_channel_id, &session.payload, changes)
            .await?;
        self.store.update_payload(session.id, &session.payload).await?;
        self.cache.forget(&session.token_hash);
        Ok(StoreContext::Session(session))
    }

    async fn start_guest(&self, channel: SalesChannelId) -> Result<IssuedGuest, Error> {
        self.open_guest(channel).await
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Issued, Error> {
        self.rotate(refresh_token).await
    }

    #[tracing::instrument(skip_all)]
    async fn exchange(&self, request: Exchange) -> Result<Issued, Error> {
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

    async fn switch_profile(&self, token: &str, profile_id: i64) -> Result<Session, Error> {
        let mut session = self.live_session(token).await?;
        // A team impersonation was granted for one profile: it stays there,
        // or it would reach the person's other teams.
        if session.grant_action.as_deref() == Some(Action::ImpersonateTeamMember.as_str())
            && session.profile_id != Some(profile_id)
        {
            return Err(Error::ProfileSwitch(
                "An impersonated team session stays on the profile it was granted for.",
            ));
        }
        // Nobody's profile and someone else's get one answer: the switch
        // must not tell which profile ids exist.
        const NOT_YOURS: &str = "Only your own profiles can be switched to.";
        let profile = match self
            .permission
            .get_profile(proto::GetProfileRequest { id: profile_id })
            .await
        {
            Ok(profile) => profile,
            Err(status) if status.code() == tonic::Code::NotFound => {
                return Err(Error::ProfileSwitch(NOT_YOURS));
            }
            Err(status) => return Err(status.into()),
        };
        if profile.person_id != session.principal_id.to_string() {
            return Err(Error::ProfileSwitch(NOT_YOURS));
        }
        self.store.update_profile(session.id, profile_id).await?;
        self.cache.forget(&session.token_hash);
        session.profile_id = Some(profile_id);
        Ok(session)
    }

    async fn logout(&self, token: &str) -> Result<(), Error> {
        let session = self.live_session(token).await?;
        self.end(&session, "logout").await
    }

    async fn audit_records(
        &self,
        reader_token: &str,
        mut filter: AuditFilter,
    ) -> Result<Vec<AuditRecord>, Error> {
        // Every read is someone's: no caller reads the trail on a bare
        // promise. Someone acting as another reads nothing in their name:
        // the list names other actors, their addresses and agents.
        let reader = self
            .own_session(reader_token, "This is not available while impersonating.")
            .await?;
        match reader.principal_kind {
            PrincipalKind::Customer => {
                filter.target_id = Some(reader.principal_id);
                filter.actor_id = None;
                filter.sessions_only = true;
            }
            PrincipalKind::Admin | PrincipalKind::Operator => {
                self.require_privilege(reader.principal_id, AUDIT_IMPERSONATIONS)
                    .await?;
            }
        }
        Ok(self.store.audit_records(&filter).await?)
    }

    #[tracing::instrument(skip_all, fields(actor = ?request.actor, target = ?request.target))]
    async fn revoke_impersonations(&self, request: Revoke) -> Result<i64, Error> {
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

    async fn set_principal_active(
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
