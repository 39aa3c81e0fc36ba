//! Action records: what was done on an impersonated session's behalf
//! ("what was done as me"). Internal services report what they did for a
//! session, the gateway each state-changing request it served; each record
//! keeps who acted as whom, so the audit views and the person's own list
//! show the actions under their impersonation. Append-only like the trail.

use actas_shared::ids::{ActionRecordId, PrincipalId, SessionId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRecord {
    pub id: ActionRecordId,
    pub session_id: SessionId,
    /// Who acted (the impersonator) and as whom.
    pub actor_id: PrincipalId,
    pub target_id: PrincipalId,
    pub action: String,
    pub detail: String,
    pub outcome: String,
    /// The service that reported it.
    pub reporter: String,
    pub occurred_at: i64,
    /// The W3C trace id of the reporting request; empty without tracing.
    pub trace_id: String,
}

/// Which action records to list; `None`: any.
#[derive(Clone, Debug, Default)]
pub struct ActionFilter {
    pub session_id: Option<SessionId>,
    pub actor_id: Option<PrincipalId>,
    pub target_id: Option<PrincipalId>,
    /// 0: the default page.
    pub limit: u32,
    pub offset: u32,
}

/// Action records a page holds unless asked otherwise, and at most.
pub const DEFAULT_ACTION_PAGE: u32 = 100;
pub const MAX_ACTION_PAGE: u32 = 500;
