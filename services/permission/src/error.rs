//! The permission service's errors and their one mapping to the public codes.

use actas_shared::{ApiError, ErrorCode, principal::PrincipalKind};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field} is not a UUID")]
    InvalidId { field: &'static str },
    #[error("{field} is missing")]
    Missing { field: &'static str },
    #[error("email or password is wrong")]
    BadCredentials(PrincipalKind),
    #[error("principal not found")]
    PrincipalNotFound,
    #[error("profile not found")]
    ProfileNotFound,
    #[error("no sales channel has this access key")]
    UnknownAccessKey,
    #[error("no sales channel is served on this host")]
    UnknownDomain,
    #[error("not a policy scope")]
    InvalidScope,
    #[error("no sales channel or team of this scope")]
    ScopeNotFound,
    #[error("page must be 1 or more")]
    InvalidPage,
    #[error("limit must be from 1 to {max}")]
    InvalidLimit { max: i64 },
    /// The actor may not do this; the error says why (e.g. missing privileges).
    #[error("{}", .0.detail)]
    Denied(ApiError),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Password(#[from] crate::password::Error),
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        match error {
            Error::InvalidId { field } => {
                ApiError::new(ErrorCode::InvalidUuid, format!("{field} is not a valid UUID."))
            }
            Error::Missing { field } => {
                ApiError::new(ErrorCode::MissingParameter, format!("{field} is required."))
            }
            Error::BadCredentials(PrincipalKind::Customer) => ApiError::new(
                ErrorCode::CustomerBadCredentials,
                "Invalid username and/or password.",
            ),
            Error::BadCredentials(_) => ApiError::new(
                ErrorCode::AdminBadCredentials,
                "The user credentials were incorrect.",
            ),
            Error::PrincipalNotFound => {
                ApiError::new(ErrorCode::CustomerNotFound, "No principal has this id.")
            }
            Error::ProfileNotFound => ApiError::new(ErrorCode::CustomerNotFound, "No profile has this id."),
            Error::UnknownAccessKey => ApiError::new(
                ErrorCode::InvalidAccessKey,
                "The sw-access-key header does not name a sales channel.",
            ),
            Error::UnknownDomain => ApiError::new(
                ErrorCode::SalesChannelNotFound,
                "No sales channel is served on this domain.",
            ),
            Error::InvalidScope => ApiError::new(
                ErrorCode::InvalidPolicyScope,
                "A policy scope is sales_channel:<id> or team:<id>.",
            ),
            Error::ScopeNotFound => ApiError::new(
                ErrorCode::PolicyScopeNotFound,
                "No sales channel or team has this id.",
            ),
            Error::InvalidPage => ApiError::new(ErrorCode::InvalidPage, "page must be 1 or more."),
            Error::InvalidLimit { max } => {
                ApiError::new(ErrorCode::InvalidLimit, format!("limit must be from 1 to {max}."))
            }
            Error::Denied(error) => error,
            Error::Store(crate::store::Error::Database(source))
                if actas_shared::db::is_unstorable_text(&source) =>
            {
                tracing::debug!(error = %source, "text refused by the database");
                ApiError::unstorable_text()
            }
            Error::Store(source) => {
                tracing::error!(error = %source, source = ?std::error::Error::source(&source), "directory store failed");
                ApiError::unavailable()
            }
            Error::Password(source) => {
                tracing::error!(error = %source, "password hashing failed");
                ApiError::internal()
            }
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> tonic::Status {
        ApiError::from(error).into()
    }
}
