//! The stated reason of an impersonation start or a revocation: one rule
//! for every service that records one.

/// The longest reason kept: a ticket reference or a sentence, not a document.
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("a reason is required")]
    Required,
    #[error("the reason is too long or holds control characters")]
    Invalid,
}

/// The reason, trimmed; refused when it is too long or holds control
/// characters (they could forge lines in logs and exports of the audit
/// trail), or when it is `required` and blank.
pub fn check(reason: &str, required: bool) -> Result<&str, ReasonError> {
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(ReasonError::Invalid);
    }
    if required && reason.is_empty() {
        return Err(ReasonError::Required);
    }
    Ok(reason)
}

impl From<ReasonError> for crate::ApiError {
    fn from(error: ReasonError) -> Self {
        match error {
            ReasonError::Required => crate::ApiError::new(
                crate::ErrorCode::ReasonRequired,
                "Policy requires a reason (free text or a ticket reference) for every impersonation.",
            ),
            ReasonError::Invalid => crate::ApiError::new(
                crate::ErrorCode::InvalidReason,
                format!(
                    "A reason is at most {MAX_REASON_CHARS} characters of text, without control characters."
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_bounded_and_single_line() {
        assert_eq!(check("  INC-1  ", true), Ok("INC-1"));
        assert_eq!(check("", false), Ok(""));
        assert_eq!(check(" ", true), Err(ReasonError::Required));
        assert_eq!(check("a\nb", false), Err(ReasonError::Invalid));
        assert_eq!(check("a\u{7f}", false), Err(ReasonError::Invalid));
        assert_eq!(check(&"ü".repeat(500), true).map(str::len), Ok(1000));
        assert_eq!(check(&"x".repeat(501), false), Err(ReasonError::Invalid));
    }
}
