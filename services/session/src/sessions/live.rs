//! The live impersonations, as those who may end them see them: a page of
//! the open impersonated sessions at a time, by session id.

use actas_shared::{db::now_millis, ids::SessionId, principal::PrincipalKind};

use super::{REVOKE_IMPERSONATIONS, SessionManager};
use crate::{error::Error, model::Session};

/// A page when the reader names no size, and the most one page holds.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 500;

/// One page of live impersonations and where the next one starts.
#[derive(Debug)]
pub struct LiveImpersonations {
    pub sessions: Vec<Session>,
    /// The last session id of a full page; `None` on the last page.
    pub next_after: Option<SessionId>,
}

impl SessionManager {
    pub(super) async fn live(
        &self,
        reader_token: &str,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<LiveImpersonations, Error> {
        // Reading who acts as whom is for those who may end it, in their
        // own name: the list names actors, targets and where they act.
        let reader = self
            .own_session(
                reader_token,
                "An impersonated session cannot list impersonations.",
            )
            .await?;
        if !matches!(
            reader.principal_kind,
            PrincipalKind::Admin | PrincipalKind::Operator
        ) {
            return Err(Error::Unauthorized);
        }
        self.require_privilege(reader.principal_id, REVOKE_IMPERSONATIONS)
            .await?;
        let limit = match limit {
            0 => DEFAULT_PAGE,
            limit => limit.min(MAX_PAGE),
        };
        // The sweeper's cursor over the open impersonations, read one past
        // the page so a full last page does not promise a next one.
        let mut sessions = self
            .store
            .open_impersonations_after(after, now_millis(), i64::from(limit) + 1)
            .await?;
        let more = sessions.len() > limit as usize;
        sessions.truncate(limit as usize);
        let next_after = more.then(|| sessions.last().map(|s| s.id)).flatten();
        Ok(LiveImpersonations { sessions, next_after })
    }
}
