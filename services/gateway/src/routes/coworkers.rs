//! Public (coworker) API, Nexudus style: customers sign in for a bearer, list
//! and switch their profiles, and a team administrator impersonates a member
//! of the team through a one-time token.

use actas_shared::{
    ApiError, ErrorCode,
    principal::PrincipalKind,
    proto::{
        Action, ExchangeRequest, GetPrincipalRequest, GetProfileRequest, IssueImpersonationTokenRequest,
        ListProfilesRequest, LoginRequest, SessionToken, SwitchProfileRequest,
    },
};
use axum::{Json, extract::State};
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{BodyObject, Client, CoworkerSession, Path, StatedReason, forget_context, remember_context},
    routes::store::simple_id,
};

/// The session answer of every public sign-in: the bearer, its expiry, the
/// active profile, and who is acting when it is an impersonation.
pub async fn session_json(state: &AppState, issued: SessionToken) -> Result<Value, HttpError> {
    let context = issued.context.unwrap_or_default();
    let mut permission = state.permission.clone();
    let profile = if context.profile_id > 0 {
        let profile = permission
            .get_profile(GetProfileRequest {
                id: context.profile_id,
            })
            .await?
            .into_inner();
        json!({ "Id": profile.id, "FullName": profile.full_name, "TeamName": profile.team_name })
    } else {
        Value::Null
    };
    let acting = if context.imitated {
        let actor = permission
            .get_principal(GetPrincipalRequest {
                id: context.imitating_user_id.clone(),
            })
            .await?
            .into_inner();
        json!({ "id": simple_id(&actor.id), "name": actor.display_name, "kind": kind_name(actor.kind) })
    } else {
        Value::Null
    };
    Ok(json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": (context.expires_at_unix - chrono::Utc::now().timestamp()).max(0),
        "expires_at": chrono::DateTime::from_timestamp(context.expires_at_unix, 0).map(|t| t.to_rfc3339()),
        "user_id": simple_id(&context.principal_id),
        "user_kind": kind_name(context.principal_kind),
        "profile": profile,
        "impersonated": context.imitated,
        "acting": acting,
    }))
}

fn kind_name(kind: i32) -> &'static str {
    PrincipalKind::from_proto(kind).map_or("unknown", PrincipalKind::as_str)
}

/// `POST /api/public/auth/login` {email, password}
pub async fn login(State(state): State<AppState>, body: BodyObject) -> Result<Json<Value>, HttpError> {
    let email = body.string("email")?;
    let password = body.password("password")?;
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

/// `POST /api/public/auth/login/{token}`: exchanges a team or operator
/// impersonation token for a session as its target. The token travels in
/// the path: spans record the route template, never the path itself.
pub async fn exchange(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
) -> Result<Json<Value>, HttpError> {
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

/// `GET /api/public/coworkers/profiles`
pub async fn profiles(
    State(state): State<AppState>,
    session: CoworkerSession,
) -> Result<Json<Value>, HttpError> {
    let profiles = state
        .permission
        .clone()
        .list_profiles(ListProfilesRequest {
            person_id: session.person_id.to_string(),
        })
        .await?
        .into_inner()
        .profiles;
    let listed: Vec<Value> = profiles
        .iter()
        .map(|profile| {
            json!({
                "Id": profile.id,
                "FullName": profile.full_name,
                "TeamName": profile.team_name,
                "IsCurrent": profile.id == session.context.profile_id,
            })
        })
        .collect();
    Ok(Json(json!({ "Profiles": listed })))
}

/// `PUT /api/public/coworkers/profiles/current` {id}
pub async fn switch_profile(
    State(state): State<AppState>,
    session: CoworkerSession,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
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
    Ok(Json(json!({
        "Id": profile.id,
        "FullName": profile.full_name,
        "TeamName": profile.team_name,
        "IsCurrent": true,
    })))
}

/// `GET /api/public/coworkers/{coworkerId}/impersonate`
pub async fn impersonate(
    State(state): State<AppState>,
    session: CoworkerSession,
    client: Client,
    StatedReason(reason): StatedReason,
    Path(coworker): Path<String>,
) -> Result<Json<Value>, HttpError> {
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
    Ok(Json(json!({ "token": issued.token })))
}
