//! The public error vocabulary: stable codes clients can rely on, how they
//! travel over gRPC, and which gRPC code each one maps to.
//!
//! Each service keeps its own `thiserror` enum and converts it into an
//! [`ApiError`] in one place; the gateway maps [`ErrorCode`] to HTTP in one
//! place. Details are written for clients: never a token, a password or an
//! internal error chain.

use std::fmt;

use tonic::{Code, Status, metadata::MetadataValue};

/// Metadata key carrying the stable error code on a failed gRPC call.
const CODE_KEY: &str = "actas-error-code";
/// Metadata key carrying the missing privileges, comma separated.
const PRIVILEGES_KEY: &str = "actas-missing-privileges";
/// Metadata key carrying when to try again, in seconds (a rate limit's).
const RETRY_AFTER_KEY: &str = "actas-retry-after-secs";

macro_rules! error_codes {
    ($($variant:ident => ($text:literal, $grpc:ident)),+ $(,)?) => {
        /// A stable, documented error code. The text never changes once shipped.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant),+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The stable text of the code, as clients see it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text),+
                }
            }

            /// The gRPC status code this error travels with.
            pub fn grpc_code(self) -> Code {
                match self {
                    $(ErrorCode::$variant => Code::$grpc),+
                }
            }

            pub fn parse(text: &str) -> Option<ErrorCode> {
                match text {
                    $($text => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    Unauthorized => ("FRAMEWORK__UNAUTHORIZED", Unauthenticated),
    CustomerBadCredentials => ("CHECKOUT__CUSTOMER_AUTH_BAD_CREDENTIALS", Unauthenticated),
    AdminBadCredentials => ("FRAMEWORK__INVALID_GRANT", Unauthenticated),
    UnsupportedGrantType => ("FRAMEWORK__UNSUPPORTED_GRANT_TYPE", InvalidArgument),
    InvalidAccessKey => ("FRAMEWORK__INVALID_SALES_CHANNEL_ACCESS_KEY", Unauthenticated),
    MissingPrivilege => ("FRAMEWORK__MISSING_PRIVILEGE_ERROR", PermissionDenied),
    CustomerInactive => ("CHECKOUT__CUSTOMER_IS_INACTIVE", PermissionDenied),
    CustomerIsGuest => ("CHECKOUT__CUSTOMER_IS_GUEST", PermissionDenied),
    CustomerNotLoggedIn => ("CHECKOUT__CUSTOMER_NOT_LOGGED_IN", PermissionDenied),
    CustomerNotInSalesChannel => ("CHECKOUT__CUSTOMER_NOT_BOUND_TO_SALES_CHANNEL", PermissionDenied),
    ImpersonationChain => ("ACTAS__IMPERSONATION_CHAIN_FORBIDDEN", PermissionDenied),
    ImpersonationNotAllowed => ("ACTAS__IMPERSONATION_NOT_ALLOWED", PermissionDenied),
    ImpersonationDisabled => ("ACTAS__IMPERSONATION_DISABLED", PermissionDenied),
    ImpersonationOptedOut => ("ACTAS__IMPERSONATION_OPTED_OUT", PermissionDenied),
    CustomerNotFound => ("CHECKOUT__CUSTOMER_NOT_FOUND", NotFound),
    SalesChannelNotFound => ("FRAMEWORK__SALES_CHANNEL_NOT_FOUND", NotFound),
    InvalidImpersonationToken => ("CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN", InvalidArgument),
    ImpersonationTokenRejected => ("ACTAS__IMPERSONATION_TOKEN_INVALID", Unauthenticated),
    ProfileSwitchForbidden => ("ACTAS__PROFILE_SWITCH_FORBIDDEN", PermissionDenied),
    ForbiddenWhileImpersonating => ("ACTAS__FORBIDDEN_WHILE_IMPERSONATING", PermissionDenied),
    CrossSiteRequest => ("ACTAS__CROSS_SITE_REQUEST", PermissionDenied),
    DeactivationNotAllowed => ("ACTAS__DEACTIVATION_NOT_ALLOWED", PermissionDenied),
    NotImpersonating => ("ACTAS__NOT_IMPERSONATING", FailedPrecondition),
    InvalidActionRecord => ("ACTAS__INVALID_ACTION_RECORD", InvalidArgument),
    InvalidUuid => ("FRAMEWORK__INVALID_UUID", InvalidArgument),
    MissingParameter => ("FRAMEWORK__MISSING_REQUEST_PARAMETER", InvalidArgument),
    InvalidRequestBody => ("FRAMEWORK__INVALID_REQUEST_BODY", InvalidArgument),
    InvalidRequestParameter => ("FRAMEWORK__INVALID_REQUEST_PARAMETER", InvalidArgument),
    RequestTimeout => ("FRAMEWORK__REQUEST_TIMEOUT", DeadlineExceeded),
    InvalidPage => ("FRAMEWORK__INVALID_PAGE_QUERY", InvalidArgument),
    InvalidLimit => ("FRAMEWORK__INVALID_LIMIT_QUERY", InvalidArgument),
    ReasonRequired => ("ACTAS__REASON_REQUIRED", InvalidArgument),
    TooManyRequests => ("FRAMEWORK__TOO_MANY_REQUESTS", ResourceExhausted),
    InvalidReason => ("ACTAS__INVALID_REASON", InvalidArgument),
    ReadOnlyImpersonation => ("ACTAS__READ_ONLY_IMPERSONATION", PermissionDenied),
    InvalidPolicyScope => ("ACTAS__INVALID_POLICY_SCOPE", InvalidArgument),
    PolicyScopeNotFound => ("ACTAS__POLICY_SCOPE_NOT_FOUND", NotFound),
    RouteNotFound => ("FRAMEWORK__ROUTE_NOT_FOUND", NotFound),
    MethodNotAllowed => ("FRAMEWORK__METHOD_NOT_ALLOWED", Unimplemented),
    Unavailable => ("FRAMEWORK__SERVICE_UNAVAILABLE", Unavailable),
    Internal => ("FRAMEWORK__INTERNAL_ERROR", Internal),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as a client may see it: a stable code and a detail written for
/// people. Built deliberately; never from an internal error's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    /// For [`ErrorCode::MissingPrivilege`]: the privileges the caller lacks.
    pub missing_privileges: Vec<String>,
    /// For [`ErrorCode::TooManyRequests`]: when to try again (HTTP `Retry-After`).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            missing_privileges: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn missing_privileges(privileges: Vec<String>) -> Self {
        Self {
            code: ErrorCode::MissingPrivilege,
            detail: format!("Missing privilege: {}", privileges.join(", ")),
            missing_privileges: privileges,
            retry_after_secs: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "The credential is missing, invalid or expired.",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::Unavailable,
            "A backend is unavailable; try again later.",
        )
    }

    /// Text the database refused for its characters: the client's mistake.
    pub fn unstorable_text() -> Self {
        Self::new(
            ErrorCode::InvalidRequestBody,
            "A text field holds characters that cannot be stored.",
        )
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "An internal error occurred.")
    }

    pub fn invalid_impersonation_token() -> Self {
        Self::new(
            ErrorCode::InvalidImpersonationToken,
            "The login-as-customer token is invalid, expired, already used or does not match.",
        )
    }

    /// Turns a status received from another actas service back into the
    /// error it carried. Transport failures become `Unavailable`.
    pub fn from_status(status: &Status) -> Self {
        let metadata = status.metadata();
        let code = metadata
            .get(CODE_KEY)
            .and_then(|value| value.to_str().ok())
            .and_then(ErrorCode::parse);
        match code {
            Some(code) => {
                let missing_privileges = metadata
                    .get(PRIVILEGES_KEY)
                    .and_then(|value| value.to_str().ok())
                    .map(|list| {
                        list.split(',')
                            .filter(|p| !p.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                Self {
                    code,
                    detail: status.message().to_owned(),
                    missing_privileges,
                    retry_after_secs: metadata
                        .get(RETRY_AFTER_KEY)
                        .and_then(|value| value.to_str().ok())
                        .and_then(|secs| secs.parse().ok()),
                }
            }
            None => match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => Self::unavailable(),
                Code::Unauthenticated => Self::unauthorized(),
                _ => Self::internal(),
            },
        }
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Status {
        let mut status = Status::new(error.code.grpc_code(), error.detail);
        let metadata = status.metadata_mut();
        metadata.insert(CODE_KEY, MetadataValue::from_static(error.code.as_str()));
        if !error.missing_privileges.is_empty()
            && let Ok(value) = MetadataValue::try_from(error.missing_privileges.join(","))
        {
            metadata.insert(PRIVILEGES_KEY, value);
        }
        if let Some(secs) = error.retry_after_secs {
            metadata.insert(RETRY_AFTER_KEY, MetadataValue::from(secs));
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_survives_a_grpc_round_trip() {
        for &code in ErrorCode::ALL {
            let sent = ApiError::new(code, "detail");
            let received = ApiError::from_status(&Status::from(sent.clone()));
            assert_eq!(received, sent);
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn missing_privileges_travel_with_the_status() {
        let sent = ApiError::missing_privileges(vec!["api_proxy_login-as-customer".into()]);
        let received = ApiError::from_status(&Status::from(sent.clone()));
        assert_eq!(received.missing_privileges, ["api_proxy_login-as-customer"]);
    }

    #[test]
    fn foreign_statuses_map_to_transport_errors() {
        let unavailable = ApiError::from_status(&Status::unavailable("connection refused"));
        assert_eq!(unavailable.code, ErrorCode::Unavailable);
        let other = ApiError::from_status(&Status::internal("db password is hunter2"));
        assert_eq!(other.code, ErrorCode::Internal);
        assert!(!other.detail.contains("hunter2"));
    }
}
