//! Revoking impersonations: an admin or operator holding
//! `impersonation:revoke` ends every live impersonated session of an actor,
//! of a target, or of both. Sessions live in the database, so the next
//! request at any gateway replica finds them ended.

use actas_shared::{ids::PrincipalId, proto::RevokeImpersonationsRequest};
use axum::{Json, extract::State};
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{AdminSession, BodyObject, Client, OperatorSession, parse_id},
};

async fn revoke(
    state: &AppState,
    token: String,
    client: Client,
    body: &BodyObject,
) -> Result<Json<Value>, HttpError> {
    let id = |field: &str| -> Result<String, HttpError> {
        match body.text_or_empty(field)?.trim() {
            "" => Ok(String::new()),
            text => Ok(parse_id::<PrincipalId>(text, field)?.to_string()),
        }
    };
    let revoked = state
        .sessions
        .clone()
        .revoke_impersonations(RevokeImpersonationsRequest {
            revoker_session_token: token,
            actor_id: id("actorId")?,
            target_id: id("targetId")?,
            reason: body.reason()?,
            client_ip: client.ip,
            user_agent: client.user_agent,
        })
        .await;
    // Which tokens the revoked sessions hold is not known here: this
    // gateway forgets every context, so its next requests all ask.
    state.contexts.clear();
    let revoked = revoked?.into_inner().revoked;
    Ok(Json(json!({ "revoked": revoked })))
}

/// `POST /api/_action/impersonations/revoke` {actorId?, targetId?, reason?} (admins)
pub async fn by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    client: Client,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    revoke(&state, admin.token, client, &body).await
}

/// `POST /api/sys/impersonations/revoke` {actorId?, targetId?, reason?} (operators)
pub async fn by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    client: Client,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    revoke(&state, operator.token, client, &body).await
}
