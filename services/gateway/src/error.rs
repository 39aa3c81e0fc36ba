//! The one place public error codes become HTTP: status and Shopware's
//! envelope `{"errors":[{"status","code","title","detail"}]}`.

use actas_shared::{ApiError, ErrorCode};
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl HttpError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self(ApiError::new(code, detail))
    }
}

/// The HTTP status of each public code.
pub fn http_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthorized
        | ErrorCode::CustomerBadCredentials
        | ErrorCode::InvalidAccessKey
        | ErrorCode::ImpersonationTokenRejected => StatusCode::UNAUTHORIZED,
        // OAuth 2.0 (RFC 6749 §5.2) answers a bad password grant with 400.
        ErrorCode::AdminBadCredentials | ErrorCode::UnsupportedGrantType => StatusCode::BAD_REQUEST,
        ErrorCode::MissingPrivilege
        | ErrorCode::CustomerInactive
        | ErrorCode::CustomerIsGuest
        | ErrorCode::CustomerNotLoggedIn
        | ErrorCode::CustomerNotInSalesChannel
        | ErrorCode::ImpersonationChain
        | ErrorCode::ImpersonationNotAllowed
        | ErrorCode::ImpersonationDisabled
        | ErrorCode::ImpersonationOptedOut
        | ErrorCode::ProfileSwitchForbidden
        | ErrorCode::ForbiddenWhileImpersonating
        | ErrorCode::CrossSiteRequest
        | ErrorCode::DeactivationNotAllowed
        | ErrorCode::NotImpersonating
        | ErrorCode::ReadOnlyImpersonation => StatusCode::FORBIDDEN,
        ErrorCode::CustomerNotFound
        | ErrorCode::SalesChannelNotFound
        | ErrorCode::PolicyScopeNotFound
        | ErrorCode::RouteNotFound => StatusCode::NOT_FOUND,
        ErrorCode::InvalidImpersonationToken
        | ErrorCode::InvalidUuid
        | ErrorCode::MissingParameter
        | ErrorCode::InvalidRequestBody
        | ErrorCode::InvalidRequestParameter
        | ErrorCode::InvalidPage
        | ErrorCode::InvalidLimit
        | ErrorCode::ReasonRequired
        | ErrorCode::InvalidReason
        | ErrorCode::InvalidPolicyScope
        | ErrorCode::InvalidActionRecord => StatusCode::BAD_REQUEST,
        ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        Self(error)
    }
}

impl From<tonic::Status> for HttpError {
    fn from(status: tonic::Status) -> Self {
        Self(ApiError::from_status(&status))
    }
}

/// Shopware's error envelope; every error answer has exactly one error.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    #[schema(min_items = 1)]
    pub errors: Vec<ErrorObject>,
}

/// One error of the envelope.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorObject {
    /// The HTTP status, as a string.
    #[schema(examples("403"))]
    pub status: String,
    #[schema(value_type = ErrorCodes)]
    pub code: &'static str,
    /// The status's reason phrase.
    #[schema(examples("Forbidden"))]
    pub title: &'static str,
    /// A human-readable explanation; never echoes a token.
    pub detail: String,
    /// Only with `FRAMEWORK__MISSING_PRIVILEGE_ERROR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<ErrorMeta>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorMeta {
    pub parameters: MissingPrivileges,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"missingPrivileges": ["api_proxy_login-as-customer"]})))]
pub struct MissingPrivileges {
    pub missing_privileges: Vec<String>,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = http_status(self.0.code);
        let error = ErrorObject {
            status: status.as_str().to_owned(),
            code: self.0.code.as_str(),
            title: status.canonical_reason().unwrap_or("Error"),
            detail: self.0.detail,
            meta: (!self.0.missing_privileges.is_empty()).then_some(ErrorMeta {
                parameters: MissingPrivileges {
                    missing_privileges: self.0.missing_privileges,
                },
            }),
        };
        let mut response = (status, Json(ErrorEnvelope { errors: vec![error] })).into_response();
        if let Some(secs) = self.0.retry_after_secs {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// `components.schemas.ErrorCode`: every stable code, from [`ErrorCode::ALL`].
pub struct ErrorCodes;

impl utoipa::PartialSchema for ErrorCodes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("The stable error codes (see README's error table)."))
            .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCodes {
    fn name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_client_error_code_maps_to_a_server_error() {
        for &code in ErrorCode::ALL {
            let status = http_status(code);
            let server_side = matches!(code, ErrorCode::Unavailable | ErrorCode::Internal);
            assert_eq!(status.is_server_error(), server_side, "{code}");
        }
    }
}
