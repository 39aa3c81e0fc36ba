//! "Who accessed my account" for the storefront's account page: one entry
//! per impersonation of the signed-in customer, built from their own audit
//! records (who, when, why; how and when it ended) and the action records
//! under it (what was done). The session service keeps both to the reader's
//! own (a customer reads only what was done as themself, and nothing while
//! impersonated); this module only shapes them for the page.

use std::collections::HashMap;

use actas_shared::proto::{AuditKind, ListActionRecordsRequest, ListAuditRecordsRequest};
use serde::Serialize;

use crate::{error::HttpError, names, state::AppState};

/// The most action records listed per page view: the page is a summary,
/// the trail holds the rest.
const ACTIONS: u32 = 500;

/// One impersonation of the reader, as the page shows it.
#[derive(Serialize, Debug, PartialEq)]
pub struct Access {
    pub session_id: String,
    /// The actor's display name; `None` when the directory no longer knows them.
    pub actor: Option<String>,
    pub started_at: i64,
    pub reason: String,
    /// The kind of the record that ended it (`impersonation_ended`,
    /// `impersonation_revoked`, `impersonation_expired`), or `ongoing`.
    pub ending: &'static str,
    /// Whole minutes from start to end; `None` while it lasts.
    pub minutes: Option<i64>,
    /// What was done, oldest first: `action · detail · outcome`.
    pub actions: Vec<String>,
}

/// The reader's accesses, newest first.
pub async fn of_reader(state: &AppState, reader_token: &str) -> Result<Vec<Access>, HttpError> {
    let mut sessions = state.sessions.clone();
    let records = sessions
        .list_audit_records(ListAuditRecordsRequest {
            reader_session_token: reader_token.to_owned(),
            sessions_only: true,
            ..Default::default()
        })
        .await?
        .into_inner()
        .records;
    let actions = sessions
        .list_action_records(ListActionRecordsRequest {
            reader_session_token: reader_token.to_owned(),
            limit: ACTIONS,
            ..Default::default()
        })
        .await?
        .into_inner()
        .records;
    let names = names::principal_names(state, records.iter().map(|record| record.actor_id.as_str())).await;

    let mut by_session: HashMap<&str, Access> = HashMap::new();
    let mut ends: HashMap<&str, (&'static str, i64)> = HashMap::new();
    for record in &records {
        match record.kind() {
            AuditKind::ImpersonationStarted => {
                by_session.insert(
                    &record.session_id,
                    Access {
                        session_id: record.session_id.clone(),
                        actor: names.get(&record.actor_id).cloned(),
                        started_at: record.occurred_at_unix,
                        reason: record.reason.clone(),
                        ending: "ongoing",
                        minutes: None,
                        actions: Vec::new(),
                    },
                );
            }
            kind @ (AuditKind::ImpersonationEnded
            | AuditKind::ImpersonationRevoked
            | AuditKind::ImpersonationExpired) => {
                ends.insert(&record.session_id, (kind.as_str(), record.occurred_at_unix));
            }
            _ => {}
        }
    }
    for (session, (kind, at)) in ends {
        if let Some(access) = by_session.get_mut(session) {
            access.ending = kind;
            access.minutes = Some((at - access.started_at).max(0) / 60);
        }
    }
    // The list comes newest first; each access reads as it happened.
    for action in actions.iter().rev() {
        if let Some(access) = by_session.get_mut(action.session_id.as_str()) {
            let line = [
                action.action.as_str(),
                action.detail.as_str(),
                action.outcome.as_str(),
            ]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
            access.actions.push(line);
        }
    }
    let mut accesses: Vec<Access> = by_session.into_values().collect();
    accesses.sort_by(|a, b| (b.started_at, &b.session_id).cmp(&(a.started_at, &a.session_id)));
    Ok(accesses)
}
