//! Operator API: operators sign in, and impersonate any admin or customer
//! (never another operator) through a one-time token exchanged at
//! `POST /api/public/auth/login/{token}`.

use actas_shared::{
    ErrorCode,
    ids::PrincipalId,
    principal::PrincipalKind,
    proto::{Action, IssueImpersonationTokenRequest, LoginRequest, SearchUsersRequest},
};
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{Body, Client, OperatorSession, Query, StatedReason, missing, parse_id},
    openapi::{Id, ShopwareId, errors},
    public_session::{EmailPasswordRequest, PublicSession, session_json},
    state::AppState,
    wire::{OneTimeToken, SearchRequest, simple_id},
};

errors!(OperatorLoginErrors {
    InvalidRequestBody,
    MissingParameter,
    Unauthorized,
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/api/sys/auth/login",
    tag = "operator",
    operation_id = "operatorLogin",
    summary = "Operator sign-in",
    description = "A failed sign-in is a plain 401 `FRAMEWORK__UNAUTHORIZED` (no OAuth grant here).",
    security(()),
    request_body = EmailPasswordRequest,
    responses(
        (status = 200, description = "A public session.", body = PublicSession),
        OperatorLoginErrors,
    ),
)]
/// `POST /api/sys/auth/login` {email, password}
pub async fn login(
    State(state): State<AppState>,
    Body(EmailPasswordRequest { email, password }): Body<EmailPasswordRequest>,
) -> Result<Json<PublicSession>, HttpError> {
    let issued = state
        .sessions
        .clone()
        .login(LoginRequest {
            kind: PrincipalKind::Operator.to_proto().into(),
            email,
            password,
            sales_channel_id: String::new(),
            previous_token: String::new(),
            with_profile: false,
            with_refresh_token: false,
        })
        .await
        .map_err(|status| {
            let error = actas_shared::ApiError::from_status(&status);
            match error.code {
                // An operator sign-in is no OAuth grant: a failure is a plain 401.
                ErrorCode::AdminBadCredentials => {
                    HttpError::new(ErrorCode::Unauthorized, "The email or password is wrong.")
                }
                _ => HttpError(error),
            }
        })?
        .into_inner();
    Ok(Json(session_json(&state, issued).await?))
}

#[derive(Deserialize)]
pub struct ImpersonateQuery {
    #[serde(rename = "userId")]
    user_id: Option<String>,
    reason: Option<String>,
}

errors!(OperatorImpersonateErrors {
    MissingParameter,
    InvalidUuid => "an id is not a UUID (32 hex digits or the dashed form)",
    ReasonRequired,
    InvalidReason => "a bad reason, or a `reason` in the query string (use the header)",
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege,
    ImpersonationNotAllowed,
    ImpersonationChain,
    CustomerNotFound => "no such customer (or principal / profile)",
    TooManyRequests,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/sys/users/impersonate",
    tag = "operator",
    operation_id = "operatorImpersonate",
    summary = "An operator gets a token to act as any admin or customer",
    description = "Needs the privilege `sys_impersonate-users`; never another operator. Exchange the token at `POST /api/public/auth/login/{token}`.",
    security(("operatorBearer" = [])),
    params(
        ("userId" = Id, Query, description = "The target admin or customer.", example = "018f8d3a5e007000800000000000c001"),
        ("X-Impersonation-Reason" = Option<String>, Header, description = "Why this impersonation starts (UTF-8, at most 500 characters, no control characters); required when `ACTAS_REQUIRE_REASON` is on. Kept in the audit record. A header, not the query string: URLs end up in access logs. Text beyond Latin-1 (which browsers cannot send in a header) goes as an RFC 8187 value: `UTF-8''` and the percent-encoded UTF-8, e.g. `UTF-8''Pr%C3%BCfung`.")
    ),
    responses(
        (status = 200, description = "A one-time impersonation token (a signed JWT; single use, lives `ACTAS_TOKEN_TTL_SECS`, 120 s by default).", body = OneTimeToken),
        OperatorImpersonateErrors,
    ),
)]
/// `GET /api/sys/users/impersonate?userId=…` with the reason in the
/// `X-Impersonation-Reason` header.
pub async fn impersonate(
    State(state): State<AppState>,
    operator: OperatorSession,
    client: Client,
    StatedReason(reason): StatedReason,
    Query(query): Query<ImpersonateQuery>,
) -> Result<Json<OneTimeToken>, HttpError> {
    state.limits.issue(&operator.operator_id.to_string())?;
    // A reason in the URL would sit in every proxy's access log; refuse it
    // rather than quietly drop what the operator meant to record.
    if query.reason.is_some() {
        return Err(HttpError::new(
            ErrorCode::InvalidReason,
            "Send the reason in the X-Impersonation-Reason header, not in the query string.",
        ));
    }
    let user_id = query
        .user_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| missing("userId"))?;
    let user: PrincipalId = parse_id(&user_id, "userId")?;
    let issued = state
        .sessions
        .clone()
        .issue_impersonation_token(IssueImpersonationTokenRequest {
            actor_session_token: operator.token,
            target_id: user.to_string(),
            sales_channel_id: String::new(),
            reason,
            action: Action::ImpersonateUser.into(),
            target_profile_id: 0,
            client_ip: client.ip,
            user_agent: client.user_agent,
        })
        .await?
        .into_inner();
    Ok(Json(OneTimeToken { token: issued.token }))
}

/// One page of the users an operator may act as.
#[derive(Serialize, ToSchema)]
pub struct UserSearchResult {
    /// Matches on all pages.
    pub total: i64,
    pub page: i64,
    pub limit: i64,
    pub data: Vec<FoundUser>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FoundUser {
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    /// `admin` or `customer` (operators never act as operators).
    #[schema(examples("customer"))]
    pub kind: String,
    #[schema(format = Email)]
    pub email: String,
    pub name: String,
    pub active: bool,
    pub guest: bool,
}

errors!(SearchUsersErrors {
    InvalidRequestBody => "the body is not a JSON object or a field has the wrong type",
    InvalidPage => "page below 1",
    InvalidLimit => "limit outside 1..=100",
    Unauthorized,
    MissingPrivilege => "the operator lacks `sys_impersonate-users` (listed in `meta.missingPrivileges`)",
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/api/sys/search/user",
    tag = "operator",
    operation_id = "searchUsers",
    summary = "Search the users an operator may act as",
    description = "Admins and customers (never operators) whose email or name contains the term, ordered by name, a page at a time. Needs the privilege `sys_impersonate-users`.",
    security(("operatorBearer" = [])),
    request_body = SearchRequest,
    responses(
        (status = 200, description = "One page of users.", body = UserSearchResult),
        SearchUsersErrors,
    ),
)]
/// `POST /api/sys/search/user` {term?, page?, limit?}: the admins and
/// customers an operator may act as, by email or name.
pub async fn search_users(
    State(state): State<AppState>,
    operator: OperatorSession,
    Body(SearchRequest { term, page, limit }): Body<SearchRequest>,
) -> Result<Json<UserSearchResult>, HttpError> {
    let found = state
        .permission
        .clone()
        .search_users(SearchUsersRequest {
            actor_id: operator.operator_id.to_string(),
            term,
            page,
            limit,
        })
        .await?
        .into_inner();
    let data = found
        .users
        .iter()
        .map(|user| FoundUser {
            id: simple_id(&user.id),
            kind: PrincipalKind::from_proto(user.kind)
                .map_or("", PrincipalKind::as_str)
                .to_owned(),
            email: user.email.clone(),
            name: user.display_name.clone(),
            active: user.active,
            guest: user.guest,
        })
        .collect();
    Ok(Json(UserSearchResult {
        total: found.total,
        page,
        limit,
        data,
    }))
}

#[utoipa::path(
    get,
    path = "/operator",
    tag = "pages",
    operation_id = "operatorPage",
    summary = "The operator console (HTML)",
    description = "Sign in, find an admin or a customer, act as them with a stated reason (with the banner and Stop), and the audit trail, live impersonations and policies over `/api/sys/*`. Texts in en-GB or de-DE (`?lang=`, then the `actas-lang` cookie, then `Accept-Language`). The page's script keeps its bearers in memory only.",
    security(()),
    params(
        ("lang" = Option<crate::ui::Lang>, Query, description = "`en-GB` or `de-DE`; remembered in the `actas-lang` cookie.")
    ),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
    ),
)]
/// `GET /operator`: the operator console. Its script talks to the operator
/// API above with the bearers kept in memory only.
pub async fn page(locale: crate::ui::Locale) -> axum::response::Response {
    crate::ui::scripted_page("operator.html", "operator.title", locale)
}
