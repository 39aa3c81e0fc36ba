//! What an audit record says happened, in one spelling: the proto enum
//! (`actas.v1.AuditKind`) is the type; these are its words in SQL and in
//! the HTTP answers.

use crate::proto::AuditKind;

impl AuditKind {
    /// The word stored in SQL and shown to readers; empty for unspecified.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::TokenIssued => "token_issued",
            AuditKind::TokenIssueFailed => "token_issue_failed",
            AuditKind::TokenRedeemFailed => "token_redeem_failed",
            AuditKind::ImpersonationStarted => "impersonation_started",
            AuditKind::ImpersonationEnded => "impersonation_ended",
            AuditKind::ImpersonationRevoked => "impersonation_revoked",
            AuditKind::ImpersonationExpired => "impersonation_expired",
            AuditKind::PrincipalDeactivated => "principal_deactivated",
            AuditKind::PrincipalReactivated => "principal_reactivated",
            AuditKind::Unspecified => "",
        }
    }

    /// The kind a stored word names; `None` for anything else.
    pub fn parse(text: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Every kind a record can have.
    pub const ALL: [AuditKind; 9] = [
        AuditKind::TokenIssued,
        AuditKind::TokenIssueFailed,
        AuditKind::TokenRedeemFailed,
        AuditKind::ImpersonationStarted,
        AuditKind::ImpersonationEnded,
        AuditKind::ImpersonationRevoked,
        AuditKind::ImpersonationExpired,
        AuditKind::PrincipalDeactivated,
        AuditKind::PrincipalReactivated,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_word() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
            assert!(!kind.as_str().is_empty());
        }
        assert_eq!(AuditKind::parse(""), None);
        assert_eq!(AuditKind::parse("impersonation"), None);
    }
}
