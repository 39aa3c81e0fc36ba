//! Deactivating and reactivating principals: an admin or operator holding
//! `principal:deactivate` switches off an admin or customer they outrank,
//! and every session of it ends (its own, the impersonations it started and
//! those acting as it), on the record. Sessions live in the database, so
//! every gateway replica finds them ended within the second.

use actas_shared::{
    ids::PrincipalId,
    principal::PrincipalKind,
    proto::{PrincipalActivation, PrincipalActivationRequest},
};
use axum::{Json, extract::State};
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{AdminSession, BodyObject, Client, OperatorSession, Path, parse_id},
};

/// What a change answers: the principal as it is now, and the sessions ended.
fn answer(activation: PrincipalActivation) -> Json<Value> {
    let principal = activation.principal.unwrap_or_default();
    let id: Option<PrincipalId> = principal.id.parse().ok();
    Json(json!({
        "principal": {
            "id": id.map(|id| id.simple()),
            "kind": PrincipalKind::from_proto(principal.kind).map(PrincipalKind::as_str),
            "email": principal.email,
            "active": principal.active,
        },
        "endedSessions": activation.ended_sessions,
    }))
}

async fn change(
    state: &AppState,
    token: String,
    principal: &str,
    client: Client,
    body: BodyObject,
    active: bool,
) -> Result<Json<Value>, HttpError> {
    let principal = parse_id::<PrincipalId>(principal, "principalId")?;
    let reason = body.reason()?;
    let request = PrincipalActivationRequest {
        actor_session_token: token,
        principal_id: principal.to_string(),
        reason,
        client_ip: client.ip,
        user_agent: client.user_agent,
    };
    let mut sessions = state.sessions.clone();
    let changed = if active {
        sessions.reactivate_principal(request).await
    } else {
        sessions.deactivate_principal(request).await
    };
    // Which tokens the ended sessions hold is not known here: this gateway
    // forgets every context, so its next requests all ask.
    state.contexts.clear();
    Ok(answer(changed?.into_inner()))
}

/// `POST /api/_action/principals/{principalId}/deactivate` {reason?} (admins)
pub async fn deactivate_by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    client: Client,
    Path(principal): Path<String>,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    change(&state, admin.token, &principal, client, body, false).await
}

/// `POST /api/_action/principals/{principalId}/reactivate` {reason?} (admins)
pub async fn reactivate_by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    client: Client,
    Path(principal): Path<String>,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    change(&state, admin.token, &principal, client, body, true).await
}

/// `POST /api/sys/principals/{principalId}/deactivate` {reason?} (operators)
pub async fn deactivate_by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    client: Client,
    Path(principal): Path<String>,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    change(&state, operator.token, &principal, client, body, false).await
}

/// `POST /api/sys/principals/{principalId}/reactivate` {reason?} (operators)
pub async fn reactivate_by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    client: Client,
    Path(principal): Path<String>,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    change(&state, operator.token, &principal, client, body, true).await
}
