//! Sessions and audit records.

use actas_shared::{
    ids::{AuditRecordId, PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
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
    /// [`crate::sessions::TOUCH_INTERVAL`]); its start until then.
    pub last_seen_at: i64,
    /// Impersonated sessions under a read-only policy: they may only look.
    pub read_only: bool,
}

impl Session {
    pub fn is_live(&self, now: i64) -> bool {
        self.ended_at.is_none() && now < self.expires_at
    }
}

/// What happened, in the words the audit trail uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    /// An admin's impersonated session of a customer began.
    ImpersonationStarted,
    /// It ended: logout, or replaced by the customer's own login.
    ImpersonationEnded,
    /// Someone with `impersonation:revoke` ended it.
    ImpersonationRevoked,
    /// It reached its hard maximum lifetime.
    ImpersonationExpired,
    /// A one-time token was granted (recorded before it exists).
    TokenIssued,
    /// The granted token could not be stored, so it never existed: closes
    /// its `token_issued` record (the caller got no token).
    TokenIssueFailed,
    /// A validly signed token was presented but not honoured: spent,
    /// unknown, or with a binding that did not match.
    TokenRedeemFailed,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::ImpersonationStarted => "impersonation_started",
            AuditKind::ImpersonationEnded => "impersonation_ended",
            AuditKind::ImpersonationRevoked => "impersonation_revoked",
            AuditKind::ImpersonationExpired => "impersonation_expired",
            AuditKind::TokenIssued => "token_issued",
            AuditKind::TokenIssueFailed => "token_issue_failed",
            AuditKind::TokenRedeemFailed => "token_redeem_failed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: AuditRecordId,
    pub kind: String,
    /// The action of the grant: `imitate_customer`, `impersonate_team_member`, `impersonate_user`.
    pub action: String,
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
}
