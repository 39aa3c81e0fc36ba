//! The token issuer's errors and their one mapping to the public codes.

use actas_shared::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid, expired, used, revoked, tampered or mismatched: one answer
    /// for all, so a caller learns nothing from which check failed.
    #[error("invalid impersonation token")]
    InvalidToken,
    #[error("{field} is missing")]
    Missing { field: &'static str },
    #[error("{field} is not a UUID")]
    InvalidId { field: &'static str },
    #[error("the actor's session is itself an impersonation")]
    Chain,
    #[error("the actor's session token is missing")]
    MissingCredential,
    /// An answer from another actas service (a denial, an invalid credential, …).
    #[error("{0}")]
    Upstream(ApiError),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("token signing failed")]
    Signing(#[source] jsonwebtoken::errors::Error),
    #[error("token id collision")]
    Collision,
    #[error(transparent)]
    Reason(#[from] actas_shared::reason::ReasonError),
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::Upstream(ApiError::from_status(&status))
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        match error {
            Error::InvalidToken => ApiError::invalid_impersonation_token(),
            Error::Missing { field } => {
                ApiError::new(ErrorCode::MissingParameter, format!("{field} is required."))
            }
            Error::InvalidId { field } => {
                ApiError::new(ErrorCode::InvalidUuid, format!("{field} is not a valid UUID."))
            }
            Error::Chain => ApiError::new(
                ErrorCode::ImpersonationChain,
                "An impersonated session cannot start another impersonation.",
            ),
            Error::MissingCredential => ApiError::unauthorized(),
            Error::Upstream(api) => api,
            Error::Store(source) => {
                tracing::error!(error = %source, source = ?std::error::Error::source(&source), "token store failed");
                ApiError::unavailable()
            }
            Error::Signing(source) => {
                tracing::error!(error = %source, "token signing failed");
                ApiError::internal()
            }
            Error::Reason(error) => error.into(),
            Error::Collision => {
                tracing::error!("token id collision");
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
