//! Public (coworker) API, Nexudus style: customers sign in for a bearer, list
//! and switch their profiles, and a team administrator impersonates a member
//! of the team through a one-time token.

use actas_shared::{
    ApiError, ErrorCode,
    principal::PrincipalKind,
    proto::{
        Action, ExchangeRequest, GetProfileRequest, IssueImpersonationTokenRequest, ListProfilesRequest,
        LoginRequest, LogoutRequest, SwitchProfileRequest,
    },
};
use axum::{Json, extract::State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{
        BearerSession, Body, BodyObject, Client, CoworkerSession, FromBody, Path, StatedReason,
        forget_context, remember_context,
    },
    openapi::errors,
    public_session::{EmailPasswordRequest, Profile, PublicSession, session_json},
    state::AppState,
    wire::OneTimeToken,
};

/// A profile, and whether the session is on it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(examples(json!({"Id": 2002, "FullName": "Max Mustermann", "TeamName": "Globex", "IsCurrent": true})))]
pub struct ProfileListItem {
    #[serde(flatten)]
    pub profile: Profile,
    pub is_current: bool,
}

/// The signed-in person's profiles.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(examples(json!({"Profiles": [
    {"Id": 1002, "FullName": "Max Mustermann", "TeamName": "Acme", "IsCurrent": true},
    {"Id": 2002, "FullName": "Max Mustermann", "TeamName": "Globex", "IsCurrent": false},
]})))]
pub struct ProfileList {
    pub profiles: Vec<ProfileListItem>,
}

errors!(PublicLoginErrors {
    InvalidRequestBody,
    MissingParameter,
    CustomerBadCredentials,
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/api/public/auth/login",
    tag = "public",
    operation_id = "publicLogin",
    summary = "Customer (coworker) sign-in for a public bearer",
    security(()),
    request_body = EmailPasswordRequest,
    responses(
        (status = 200, description = "A public session.", body = PublicSession),
        PublicLoginErrors,
    ),
)]
/// `POST /api/public/auth/login` {email, password}
pub async fn login(
    State(state): State<AppState>,
    Body(EmailPasswordRequest { email, password }): Body<EmailPasswordRequest>,
) -> Result<Json<PublicSession>, HttpError> {
    let issued = state
        .sessions
        .clone()
        .login(LoginRequest {
            kind: PrincipalKind::Customer.to_proto().into(),
            email,
            password,
            sales_channel_id: String::new(),
            previous_token: String::new(),
            with_profile: true,
            with_refresh_token: false,
        })
        .await?
        .into_inner();
    Ok(Json(session_json(&state, issued).await?))
}

errors!(PublicExchangeTokenErrors {
    InvalidRequestParameter,
    ImpersonationTokenRejected,
    ImpersonationNotAllowed,
    ImpersonationChain,
    MissingPrivilege,
    TooManyRequests => "this client address redeemed more than `ACTAS_REDEEM_LIMIT_PER_MINUTE` tokens in a minute (per gateway replica); `Retry-After` says when to try again",
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/api/public/auth/login/{token}",
    tag = "public",
    operation_id = "publicExchangeToken",
    summary = "Exchange a team or operator impersonation token for a session as its target",
    description = "The token comes from `GET /api/public/coworkers/{coworkerId}/impersonate` or `GET /api/sys/users/impersonate`. It is single use; the actor's right is checked again here (403). The answer has `impersonated: true` and `acting` = who. An audit record is written first: when it cannot be, no session is created (503).",
    security(()),
    params(
        ("token" = String, Path, description = "The one-time impersonation token.", example = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl")
    ),
    responses(
        (status = 200, description = "A public session.", body = PublicSession),
        PublicExchangeTokenErrors,
    ),
)]
/// `POST /api/public/auth/login/{token}`: exchanges a team or operator
/// impersonation token for a session as its target. The token travels in
/// the path: spans record the route template, never the path itself.
pub async fn exchange(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
) -> Result<Json<PublicSession>, HttpError> {
    state.limits.redeem(&client.ip)?;
    let issued = state
        .sessions
        .clone()
        .exchange(ExchangeRequest {
            token,
            client_ip: client.ip,
            user_agent: client.user_agent,
        })
        .await
        .map_err(|status| match ApiError::from_status(&status).code {
            // On this API a bad token is a failed sign-in: 401, one code for all.
            ErrorCode::InvalidImpersonationToken | ErrorCode::MissingParameter => HttpError::new(
                ErrorCode::ImpersonationTokenRejected,
                "The token is invalid, expired, already used or revoked.",
            ),
            _ => HttpError::from(status),
        })?
        .into_inner();
    if let Some(context) = &issued.context {
        remember_context(&state, &issued.token, context);
    }
    Ok(Json(session_json(&state, issued).await?))
}

errors!(PublicLogoutErrors {
    Unauthorized,
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/api/public/auth/logout",
    tag = "public",
    operation_id = "publicLogout",
    summary = "End this public session only",
    description = "Ends the session of the bearer and nothing else: a customer's or an operator's own session, or an impersonation exchanged at `POST /api/public/auth/login/{token}` (of a customer or an admin). An impersonated session ends (its audit record says so) and the actor's own session goes on, so a portal or the operator console returns to it. The bearer answers 401 afterwards. A storefront's or the Store API's session ends at their own logout, and an admin's own session (OAuth) when it expires: both answer 401 here.",
    security(("publicBearer" = []), ("operatorBearer" = [])),
    responses(
        (status = 204, description = "The session has ended."),
        PublicLogoutErrors,
    ),
)]
/// `POST /api/public/auth/logout`
pub async fn logout(
    State(state): State<AppState>,
    session: BearerSession,
) -> Result<axum::http::StatusCode, HttpError> {
    let ended = state
        .sessions
        .clone()
        .logout(LogoutRequest {
            token: session.token.clone(),
        })
        .await;
    forget_context(&state, &session.token);
    ended?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

errors!(ListProfilesErrors {
    Unauthorized,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/public/coworkers/profiles",
    tag = "public",
    operation_id = "listProfiles",
    summary = "List the signed-in person's profiles",
    security(("publicBearer" = [])),
    responses(
        (status = 200, description = "The profiles.", body = ProfileList),
        ListProfilesErrors,
    ),
)]
/// `GET /api/public/coworkers/profiles`
pub async fn profiles(
    State(state): State<AppState>,
    session: CoworkerSession,
) -> Result<Json<ProfileList>, HttpError> {
    let profiles = state
        .permission
        .clone()
        .list_profiles(ListProfilesRequest {
            person_id: session.person_id.to_string(),
            team_id: 0,
        })
        .await?
        .into_inner()
        .profiles;
    let profiles = profiles
        .into_iter()
        .map(|profile| ProfileListItem {
            is_current: profile.id == session.context.profile_id,
            profile: Profile {
                id: profile.id,
                full_name: profile.full_name,
                team_name: profile.team_name,
            },
        })
        .collect();
    Ok(Json(ProfileList { profiles }))
}

/// The profile to switch to: a positive integer, or a string of one.
#[derive(ToSchema)]
#[schema(as = SwitchProfileRequest, examples(json!({"id": 2002})))]
pub struct SwitchProfile {
    #[schema(value_type = ProfileIdInput)]
    pub id: i64,
}

/// A profile id as a request may send it: a positive integer, or a string of one.
pub struct ProfileIdInput;

impl utoipa::PartialSchema for ProfileIdInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^\s*\+?[0-9]+\s*$")),
            )
            .into()
    }
}

impl ToSchema for ProfileIdInput {}

impl FromBody for SwitchProfile {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        let id = match body.0.get("id") {
            None | Some(Value::Null) => return Err(crate::extract::missing("id")),
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) => text.trim().parse().ok(),
            Some(_) => None,
        }
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            HttpError::new(
                ErrorCode::InvalidRequestBody,
                "id must be a profile id (a number).",
            )
        })?;
        Ok(Self { id })
    }
}

errors!(SwitchProfileErrors {
    InvalidRequestBody,
    MissingParameter,
    Unauthorized,
    ProfileSwitchForbidden,
    Internal,
    Unavailable,
});
#[utoipa::path(
    put,
    path = "/api/public/coworkers/profiles/current",
    tag = "public",
    operation_id = "switchProfile",
    summary = "Switch the session to another of the person's own profiles",
    description = "No impersonation: only the person's own profiles. An impersonated team session stays on the profile it was granted for (403).",
    security(("publicBearer" = [])),
    request_body = SwitchProfile,
    responses(
        (status = 200, description = "The profile now current.", body = ProfileListItem),
        SwitchProfileErrors,
    ),
)]
/// `PUT /api/public/coworkers/profiles/current` {id}
pub async fn switch_profile(
    State(state): State<AppState>,
    session: CoworkerSession,
    Body(SwitchProfile { id }): Body<SwitchProfile>,
) -> Result<Json<ProfileListItem>, HttpError> {
    let switched = state
        .sessions
        .clone()
        .switch_profile(SwitchProfileRequest {
            token: session.token.clone(),
            profile_id: id,
        })
        .await;
    forget_context(&state, &session.token);
    let context = switched?.into_inner();
    let profile = state
        .permission
        .clone()
        .get_profile(GetProfileRequest {
            id: context.profile_id,
        })
        .await?
        .into_inner();
    Ok(Json(ProfileListItem {
        profile: Profile {
            id: profile.id,
            full_name: profile.full_name,
            team_name: profile.team_name,
        },
        is_current: true,
    }))
}

errors!(ImpersonateCoworkerErrors {
    ReasonRequired,
    InvalidReason => "a bad reason",
    InvalidRequestParameter,
    Unauthorized,
    ImpersonationNotAllowed,
    ImpersonationChain,
    ImpersonationDisabled => "switched off for this team",
    ImpersonationOptedOut,
    CustomerNotFound => "no such customer (or principal / profile)",
    TooManyRequests,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/public/coworkers/{coworkerId}/impersonate",
    tag = "public",
    operation_id = "impersonateCoworker",
    summary = "A team administrator gets a token to act as a member of the team",
    description = "Nexudus style. The caller must administer (admin or owner) the team in which the profile is a plain member. Exchange the token at `POST /api/public/auth/login/{token}`. A coworker id that is not a positive integer names nobody: 404, not 400.",
    security(("publicBearer" = [])),
    params(
        ("coworkerId" = String, Path, description = "The target's profile id (a positive integer).", example = "1002", pattern = "^[0-9]+$"),
        ("X-Impersonation-Reason" = Option<String>, Header, description = "Why this impersonation starts (UTF-8, at most 500 characters, no control characters); required when `ACTAS_REQUIRE_REASON` is on. Kept in the audit record. A header, not the query string: URLs end up in access logs. Text beyond Latin-1 (which browsers cannot send in a header) goes as an RFC 8187 value: `UTF-8''` and the percent-encoded UTF-8, e.g. `UTF-8''Pr%C3%BCfung`.")
    ),
    responses(
        (status = 200, description = "A one-time impersonation token (a signed JWT; single use, lives `ACTAS_TOKEN_TTL_SECS`, 120 s by default).", body = OneTimeToken),
        ImpersonateCoworkerErrors,
    ),
)]
/// `GET /api/public/coworkers/{coworkerId}/impersonate`
pub async fn impersonate(
    State(state): State<AppState>,
    session: CoworkerSession,
    client: Client,
    StatedReason(reason): StatedReason,
    Path(coworker): Path<String>,
) -> Result<Json<OneTimeToken>, HttpError> {
    // A coworker id is a positive number; anything else names nobody.
    state.limits.issue(&session.person_id.to_string())?;
    let Some(profile_id) = coworker.parse::<i64>().ok().filter(|id| *id > 0) else {
        return Err(HttpError::new(
            ErrorCode::CustomerNotFound,
            "No customer has this id.",
        ));
    };
    let issued = state
        .sessions
        .clone()
        .issue_impersonation_token(IssueImpersonationTokenRequest {
            actor_session_token: session.token,
            target_id: String::new(),
            sales_channel_id: String::new(),
            reason,
            action: Action::ImpersonateTeamMember.into(),
            target_profile_id: profile_id,
            client_ip: client.ip,
            user_agent: client.user_agent,
        })
        .await?
        .into_inner();
    Ok(Json(OneTimeToken { token: issued.token }))
}
