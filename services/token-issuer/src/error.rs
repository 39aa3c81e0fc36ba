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
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("token signing failed")]
    Signing(#[source] jsonwebtoken::errors::Error),
    #[error("token id collision")]
    Collision,
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
            Error::Store(source) => {
                tracing::error!(error = %source, source = ?std::error::Error::source(&source), "token store failed");
                ApiError::unavailable()
            }
            Error::Signing(source) => {
                tracing::error!(error = %source, "token signing failed");
                ApiError::internal()
            }
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
