//! The session service's domain: logins, starting an impersonation (the
//! one-time token's issue and its exchange for a marked session), contexts,
//! logout, and the audit trail. It orchestrates: the permission service
//! decides and the token issuer signs and redeems, and neither calls back.
//!
//! Here: the [`Sessions`] trait, its [`SessionManager`], and what several
//! jobs share. The jobs, one module each: `sign_in`, `start` (issue, redeem,
//! the one start path), `recheck` (reading a live session), `end` (every
//! ending, on the record), `context` and `guests` (storefront contexts),
//! `refresh`, `team`, `live`, `trail` and `actions` (what the record says).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actas_shared::{
    ApiError, ErrorCode,
    cache::TtlCache,
    grpc::calls::{PermissionCalls, TokenCalls},
    ids::{PrincipalId, SalesChannelId, SessionId},
    proto::{self},
};
use async_trait::async_trait;
use serde_json::{Map, Value};

mod actions;
mod context;
mod end;
mod guests;
mod live;
mod recheck;
mod refresh;
mod requests;
mod sign_in;
mod start;
mod team;
mod trail;

pub use actions::{ActionLimit, ReportedAction};
pub use live::LiveImpersonations;
pub use recheck::touch_interval;
pub use requests::{
    Activation, Exchange, ImitateCustomer, IssueToken, Issued, IssuedToken, Login, Revoke, StoreContext,
    Target,
};
pub use team::{TeamMember, TeamRoster};

use crate::{
    actions::{ActionFilter, ActionRecord},
    error::Error,
    guests::IssuedGuest,
    model::{AuditFilter, AuditRecord, Session},
    store::SessionStore,
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

/// The privilege that lets an admin or operator revoke impersonations.
pub const REVOKE_IMPERSONATIONS: &str = "impersonation:revoke";
/// The privilege that lets an admin or operator read the audit trail.
pub const AUDIT_IMPERSONATIONS: &str = "impersonation:audit";

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
/// again (`actas_gateway::state::CONTEXT_TTL`). A context read costs at most
/// one decision per session per interval.
pub const RECHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Action reports one session may make per minute unless configured: a
/// page of clicks is a few, a runaway loop is refused.
pub const DEFAULT_ACTION_LIMIT_PER_MINUTE: u32 = 120;

/// Sessions kept in memory per replica at most (a few MiB).
const SESSION_CACHE_CAPACITY: usize = 50_000;

impl SessionManager {
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

    async fn login(&self, request: Login) -> Result<Issued, Error> {
        self.sign_in(request).await
    }

    async fn issue_token(&self, request: IssueToken) -> Result<IssuedToken, Error> {
        self.issue(request).await
    }

    fn reason_required(&self) -> bool {
        self.reason_required
    }

    async fn imitate_customer(&self, request: ImitateCustomer) -> Result<Issued, Error> {
        self.imitate(request).await
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
        self.change_context(token, changes).await
    }

    async fn start_guest(&self, channel: SalesChannelId) -> Result<IssuedGuest, Error> {
        self.open_guest(channel).await
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Issued, Error> {
        self.rotate(refresh_token).await
    }

    async fn exchange(&self, request: Exchange) -> Result<Issued, Error> {
        self.exchange_token(request).await
    }

    async fn switch_profile(&self, token: &str, profile_id: i64) -> Result<Session, Error> {
        self.switch_to_profile(token, profile_id).await
    }

    async fn logout(&self, token: &str) -> Result<(), Error> {
        let session = self.live_session(token).await?;
        self.end(&session, "logout").await
    }

    async fn audit_records(
        &self,
        reader_token: &str,
        filter: AuditFilter,
    ) -> Result<Vec<AuditRecord>, Error> {
        self.read_trail(reader_token, filter).await
    }

    async fn revoke_impersonations(&self, request: Revoke) -> Result<i64, Error> {
        self.revoke(request).await
    }

    async fn set_principal_active(
        &self,
        request: Activation,
        active: bool,
    ) -> Result<(proto::Principal, i64), Error> {
        self.set_active(request, active).await
    }
}
