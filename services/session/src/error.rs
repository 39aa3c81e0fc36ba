//! The session service's errors and their one mapping to the public codes.

use actas_shared::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unknown, expired or ended session token.
    #[error("no live session for this token")]
    Unauthorized,
    #[error("{field} is missing")]
    Missing { field: &'static str },
    #[error("{field} is not a UUID")]
    InvalidId { field: &'static str },
    #[error("invalid context payload: {0}")]
    InvalidPayload(String),
    #[error("invalid impersonation token")]
    InvalidToken,
    /// Unknown, used, or its session ended or expired.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("profile switch refused: {0}")]
    ProfileSwitch(&'static str),
    /// An answer from another actas service.
    #[error("{0}")]
    Upstream(ApiError),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The caller may not do this; the error says why.
    #[error("{}", .0.detail)]
    Denied(ApiError),
    #[error(transparent)]
    Reason(#[from] actas_shared::reason::ReasonError),
    /// An action reported for a session nobody else acts in.
    #[error("not an impersonated session")]
    NotImpersonating,
    #[error("invalid action record: {0}")]
    InvalidActionRecord(&'static str),
    /// One session reported more actions than its rate allows.
    #[error("too many action records")]
    ActionsTooFast { retry_after_secs: u64 },
    /// A team's roster asked by someone who does not administer the team.
    #[error("not a team administrator: {0}")]
    NotTeamAdministrator(&'static str),
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::Upstream(ApiError::from_status(&status))
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        match error {
            Error::Unauthorized => ApiError::unauthorized(),
            Error::Missing { field } => {
                ApiError::new(ErrorCode::MissingParameter, format!("{field} is required."))
            }
            Error::InvalidId { field } => {
                ApiError::new(ErrorCode::InvalidUuid, format!("{field} is not a valid UUID."))
            }
            Error::InvalidPayload(detail) => ApiError::new(ErrorCode::InvalidRequestBody, detail),
            Error::InvalidToken => ApiError::invalid_impersonation_token(),
            Error::InvalidRefreshToken => ApiError::new(
                ErrorCode::AdminBadCredentials,
                "The refresh token is invalid, was used already, or its session has ended.",
            ),
            Error::ProfileSwitch(detail) => ApiError::new(ErrorCode::ProfileSwitchForbidden, detail),
            Error::Upstream(api) | Error::Denied(api) => api,
            Error::Reason(error) => error.into(),
            Error::NotImpersonating => ApiError::new(
                ErrorCode::NotImpersonating,
                "Actions are recorded for impersonated sessions only; this session is its principal's own.",
            ),
            Error::InvalidActionRecord(detail) => {
                let mut detail = detail.to_owned();
                detail.replace_range(..1, &detail[..1].to_uppercase());
                ApiError::new(ErrorCode::InvalidActionRecord, format!("{detail}."))
            }
            Error::ActionsTooFast { retry_after_secs } => {
                let mut error = ApiError::new(
                    ErrorCode::TooManyRequests,
                    format!("This session reports too many actions; try again in {retry_after_secs} s."),
                );
                error.retry_after_secs = Some(retry_after_secs);
                error
            }
            Error::NotTeamAdministrator(detail) => ApiError::new(ErrorCode::ImpersonationNotAllowed, detail),
            Error::Store(crate::store::Error::Database(source))
                if actas_shared::db::is_unstorable_text(&source) =>
            {
                tracing::debug!(error = %source, "text refused by the database");
                ApiError::unstorable_text()
            }
            Error::Store(source) => {
                tracing::error!(error = %source, source = ?std::error::Error::source(&source), "session store failed");
                ApiError::unavailable()
            }
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> tonic::Status {
        ApiError::from(error).into()
    }
}
