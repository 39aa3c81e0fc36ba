//! Sessions and audit records.

use actas_shared::{
    ids::{AuditRecordId, PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
    proto::Action,
};

/// The server-side record behind a token a client holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub token_hash: String,
    pub principal_id: PrincipalId,
    pub principal_kind: PrincipalKind,
    pub sales_channel_id: Option<SalesChannelId>,
    /// Who is acting for the principal: set only on impersonated sessions.
    pub imitating_user_id: Option<PrincipalId>,
    /// Coworker sessions: the active profile.
    pub profile_id: Option<i64>,
    /// Impersonated sessions: the action of the grant that started them.
    pub grant_action: Option<String>,
    /// The restorable context, a JSON object.
    pub payload: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    /// When it was last used, as far as the store knows (coarse, see
    /// [`crate::sessions::touch_interval`]); its start until then.
    pub last_seen_at: i64,
    /// Impersonated sessions under a read-only policy: they may only look.
    pub read_only: bool,
}

impl Session {
    pub fn is_live(&self, now: i64) -> bool {
        self.ended_at.is_none() && now < self.expires_at
    }
}

/// What happened, in the words the audit trail uses (one type for proto,
/// Rust and SQL: `actas_shared::audit`).
pub use actas_shared::proto::AuditKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: AuditRecordId,
    pub kind: AuditKind,
    /// The action of the grant.
    pub action: Action,
    pub actor_id: PrincipalId,
    pub target_id: PrincipalId,
    pub audience: String,
    pub session_id: Option<SessionId>,
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
    pub occurred_at: i64,
    /// The W3C trace id of the request that caused it; empty without tracing.
    pub trace_id: String,
}

/// A token exchanged for a session, kept until it expires: single use that
/// does not rest on the token store alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpentToken {
    /// SHA-256 of the token's `jti`, hex.
    pub token_id_hash: String,
    /// When the token expires (unix milliseconds).
    pub expires_at: i64,
}

/// How an impersonated session ended, for its record.
#[derive(Clone, Copy, Debug)]
pub struct Ending<'a> {
    /// Ended, revoked or expired.
    pub kind: AuditKind,
    pub reason: &'a str,
    /// The client that ended it (empty for the sweeper).
    pub client_ip: &'a str,
    pub user_agent: &'a str,
    pub at: i64,
    pub trace_id: &'a str,
}

impl AuditRecord {
    /// The record of an impersonated session's end: its actor, target,
    /// grant and channel, with how it ended; `None` for a session that is
    /// no impersonation (its end is not on the trail).
    pub fn of_ending(session: &Session, ending: Ending<'_>) -> Option<AuditRecord> {
        let actor = session.imitating_user_id?;
        Some(AuditRecord {
            id: AuditRecordId::new_random(),
            kind: ending.kind,
            action: session
                .grant_action
                .as_deref()
                .and_then(Action::parse)
                .unwrap_or(Action::Unspecified),
            actor_id: actor,
            target_id: session.principal_id,
            audience: session
                .sales_channel_id
                .map(|c| c.to_string())
                .unwrap_or_default(),
            session_id: Some(session.id),
            reason: ending.reason.to_owned(),
            client_ip: ending.client_ip.to_owned(),
            user_agent: ending.user_agent.to_owned(),
            occurred_at: ending.at,
            trace_id: ending.trace_id.to_owned(),
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<PrincipalId>,
    pub target_id: Option<PrincipalId>,
    pub limit: u32,
    /// Only records of impersonated sessions, not token events.
    pub sessions_only: bool,
    /// Occurred at or after, before (unix milliseconds).
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Records to skip, newest first.
    pub offset: u32,
    /// Only records of this kind.
    pub kind: Option<AuditKind>,
}
