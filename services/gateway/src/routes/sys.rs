//! Operator API: operators sign in, and impersonate any admin or customer
//! (never another operator) through a one-time token exchanged at
//! `POST /api/public/auth/login/{token}`.

use actas_shared::{
    ErrorCode,
    ids::PrincipalId,
    principal::PrincipalKind,
    proto::{Action, IssueImpersonationTokenRequest, LoginRequest},
};
use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{BodyObject, Client, OperatorSession, Query, StatedReason, missing, parse_id},
    routes::coworkers::session_json,
};

/// `POST /api/sys/auth/login` {email, password}
pub async fn login(State(state): State<AppState>, body: BodyObject) -> Result<Json<Value>, HttpError> {
    let email = body.string("email")?;
    let password = body.password("password")?;
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

/// `GET /api/sys/users/impersonate?userId=…` with the reason in the
/// `X-Impersonation-Reason` header.
pub async fn impersonate(
    State(state): State<AppState>,
    operator: OperatorSession,
    client: Client,
    StatedReason(reason): StatedReason,
    Query(query): Query<ImpersonateQuery>,
) -> Result<Json<Value>, HttpError> {
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
    Ok(Json(json!({ "token": issued.token })))
}
