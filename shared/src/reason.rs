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

/// Whether `c` could forge a line or reorder text where the trail is shown
/// or exported: control characters (Cc), the Unicode line and paragraph
/// separators (Zl, Zp), and the bidirectional marks, embeddings, overrides
/// and isolates of Cf (a U+202E makes "gro.live" read "evil.org").
pub fn forges_lines(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}'
                | '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// The reason, trimmed; refused when it is too long or holds characters
/// that forge lines or reorder text ([`forges_lines`]), or when it is
/// `required` and blank.
pub fn check(reason: &str, required: bool) -> Result<&str, ReasonError> {
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(forges_lines) {
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
                    "A reason is at most {MAX_REASON_CHARS} characters of text, without control characters, line or paragraph separators, or bidirectional controls."
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

    #[test]
    fn separators_and_bidi_controls_are_refused_other_text_is_kept() {
        for forged in [
            "a\u{2028}b",
            "a\u{2029}b",
            "a\u{202E}b",
            "a\u{202A}b",
            "a\u{2066}b",
            "a\u{2069}b",
            "a\u{200F}b",
            "a\u{061C}b",
            "a\tb",
        ] {
            assert_eq!(check(forged, false), Err(ReasonError::Invalid), "{forged:?}");
        }
        for kept in [
            "Ticket ü-42",
            "طلب الدعم",
            "支持请求 #7",
            "zero\u{200B}width",
            "🎫 INC-9",
        ] {
            assert_eq!(check(kept, true), Ok(kept));
        }
    }
}
