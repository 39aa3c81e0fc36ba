//! Reading the audit trail, in the reader's own name.

use actas_shared::principal::PrincipalKind;

use crate::{
    error::Error,
    model::{AuditFilter, AuditRecord},
};

use super::{AUDIT_IMPERSONATIONS, SessionManager};

impl SessionManager {
    pub(super) async fn read_trail(
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
}
