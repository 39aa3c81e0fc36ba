//! Recording what was done on an impersonated session's behalf, and
//! reading it back under the trail's own rule.

use std::{num::NonZeroU32, sync::Arc};

use actas_shared::{
    db::now_millis,
    ids::{ActionRecordId, SessionId},
    principal::PrincipalKind,
};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};

use super::{AUDIT_IMPERSONATIONS, SessionManager};
use crate::{
    actions::{ActionFilter, ActionRecord},
    error::Error,
};

/// An action reported for the session behind `token`.
#[derive(Debug)]
pub struct ReportedAction {
    pub token: String,
    pub action: String,
    pub detail: String,
    pub outcome: String,
    /// Who reports: the caller's verified name under mutual TLS.
    pub reporter: String,
}

/// Longest action name, detail, outcome and reporter name, in characters.
pub const MAX_ACTION_CHARS: usize = 100;
pub const MAX_DETAIL_CHARS: usize = 500;
pub const MAX_OUTCOME_CHARS: usize = 32;
const MAX_REPORTER_CHARS: usize = 64;

/// A name of the trail's: letters, digits and `._:/{} -`, so a name reads
/// the same in every view and forges nothing there.
fn is_name(text: &str, max: usize) -> bool {
    text.chars().count() <= max
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/{} -".contains(c))
}

/// Checks a report's sizes and characters; the reason refused, if any.
fn check(report: &ReportedAction) -> Result<(), Error> {
    if report.action.trim().is_empty() || !is_name(&report.action, MAX_ACTION_CHARS) {
        return Err(Error::InvalidActionRecord(
            "action must be 1 to 100 letters, digits or ._:/{} - characters",
        ));
    }
    if report.detail.chars().count() > MAX_DETAIL_CHARS
        || report.detail.chars().any(actas_shared::reason::forges_lines)
    {
        return Err(Error::InvalidActionRecord(
            "detail must be at most 500 characters of text, without control characters",
        ));
    }
    if !is_name(&report.outcome, MAX_OUTCOME_CHARS) {
        return Err(Error::InvalidActionRecord(
            "outcome must be at most 32 letters, digits or ._:/{} - characters",
        ));
    }
    if !is_name(&report.reporter, MAX_REPORTER_CHARS) {
        return Err(Error::InvalidActionRecord(
            "reporter must be at most 64 letters, digits or ._:/{} - characters",
        ));
    }
    Ok(())
}

/// Reports one session may make per minute (per replica); a flood from one
/// session is refused with a time to try again.
pub struct ActionLimit(DefaultKeyedRateLimiter<SessionId>);

impl ActionLimit {
    /// `None` when `per_minute` is 0 (off).
    pub fn per_minute(per_minute: u32) -> Option<Arc<ActionLimit>> {
        let limit = NonZeroU32::new(per_minute)?;
        Some(Arc::new(ActionLimit(RateLimiter::keyed(Quota::per_minute(
            limit,
        )))))
    }

    fn check(&self, session: SessionId) -> Result<(), Error> {
        // Idle sessions' counters go: the map holds recent reporters only.
        if self.0.len() > 10_000 {
            self.0.retain_recent();
        }
        self.0.check_key(&session).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            metrics::counter!("actas_rate_limited_total", "limit" => "action_record").increment(1);
            Error::ActionsTooFast {
                retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
            }
        })
    }
}

impl SessionManager {
    pub(super) async fn append_action(&self, report: ReportedAction) -> Result<ActionRecord, Error> {
        check(&report)?;
        let session = self.live_session(&report.token).await?;
        // Only an impersonation has someone acting as another: anything
        // else done by a session is its principal's own.
        let Some(actor) = session.imitating_user_id else {
            return Err(Error::NotImpersonating);
        };
        if let Some(limit) = &self.action_limit {
            limit.check(session.id)?;
        }
        let record = ActionRecord {
            id: ActionRecordId::new_random(),
            session_id: session.id,
            actor_id: actor,
            target_id: session.principal_id,
            action: report.action.trim().to_owned(),
            detail: report.detail,
            outcome: report.outcome,
            reporter: match report.reporter.as_str() {
                "" => "unverified".to_owned(),
                name => name.to_owned(),
            },
            occurred_at: now_millis(),
            trace_id: actas_shared::telemetry::current_trace_id(),
        };
        self.store.append_action(&record).await?;
        metrics::counter!("actas_action_records_total").increment(1);
        Ok(record)
    }

    pub(super) async fn read_actions(
        &self,
        reader_token: &str,
        mut filter: ActionFilter,
    ) -> Result<Vec<ActionRecord>, Error> {
        // The audit trail's rule: a reader of their own, never while acting
        // as another; a customer reads what was done as themself.
        let reader = self
            .own_session(reader_token, "This is not available while impersonating.")
            .await?;
        match reader.principal_kind {
            PrincipalKind::Customer => {
                filter.target_id = Some(reader.principal_id);
                filter.actor_id = None;
            }
            PrincipalKind::Admin | PrincipalKind::Operator => {
                self.require_privilege(reader.principal_id, AUDIT_IMPERSONATIONS)
                    .await?;
            }
        }
        Ok(self.store.action_records(&filter).await?)
    }
}
