//! Revoking impersonations: an admin or operator holding
//! `impersonation:revoke` ends every live impersonated session of an actor,
//! of a target, or of both. Sessions live in the database, so the next
//! request at any gateway replica finds them ended.

use actas_shared::{
    ids::{PrincipalId, SessionId},
    proto,
};
use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{AdminSession, Body, BodyObject, Client, FromBody, OperatorSession, parse_id},
    openapi::{Id, errors},
    state::AppState,
};

/// Whose impersonations to end: at least one of actorId and targetId.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", examples(json!({
    "targetId": "018f8d3a5e007000800000000000c001",
    "reason": "INC-7 suspected account takeover",
})))]
pub struct RevokeImpersonationsRequest {
    /// End this actor's impersonations.
    #[schema(value_type = Option<Id>)]
    pub actor_id: Option<PrincipalId>,
    /// End the impersonations of this person.
    #[schema(value_type = Option<Id>)]
    pub target_id: Option<PrincipalId>,
    /// End this one impersonated session (a row of the live list); with
    /// actorId or targetId, only when it is theirs.
    #[schema(value_type = Option<Id>)]
    pub session_id: Option<SessionId>,
    /// Why; kept in each `impersonation_revoked` record.
    #[schema(value_type = Option<String>, max_length = 500)]
    pub reason: String,
}

impl FromBody for RevokeImpersonationsRequest {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        fn id<T: std::str::FromStr>(body: &BodyObject, field: &str) -> Result<Option<T>, HttpError> {
            match body.text_or_empty(field)?.trim() {
                "" => Ok(None),
                text => parse_id(text, field).map(Some),
            }
        }
        Ok(Self {
            actor_id: id(&body, "actorId")?,
            target_id: id(&body, "targetId")?,
            session_id: id(&body, "sessionId")?,
            reason: body.reason()?,
        })
    }
}

/// How many impersonations ended.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"revoked": 2})))]
pub struct Revoked {
    /// How many live impersonated sessions ended.
    #[schema(minimum = 0)]
    pub revoked: i64,
}

async fn revoke(
    state: &AppState,
    token: String,
    client: Client,
    request: RevokeImpersonationsRequest,
) -> Result<Json<Revoked>, HttpError> {
    fn id<T: ToString>(id: Option<T>) -> String {
        id.map(|id| id.to_string()).unwrap_or_default()
    }
    let revoked = state
        .sessions
        .clone()
        .revoke_impersonations(proto::RevokeImpersonationsRequest {
            revoker_session_token: token,
            actor_id: id(request.actor_id),
            target_id: id(request.target_id),
            session_id: id(request.session_id),
            reason: request.reason,
            client_ip: client.ip,
            user_agent: client.user_agent,
        })
        .await;
    // Which tokens the revoked sessions hold is not known here: this
    // gateway forgets every context, so its next requests all ask.
    state.contexts.clear();
    let revoked = revoked?.into_inner().revoked;
    Ok(Json(Revoked { revoked }))
}

errors!(RevokeImpersonationsErrors {
    MissingParameter => "none of actorId, targetId and sessionId",
    InvalidUuid,
    InvalidRequestBody => "malformed body",
    InvalidReason => "a bad reason",
    Unauthorized,
    MissingPrivilege => "no `impersonation:revoke`",
    ForbiddenWhileImpersonating,
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/api/_action/impersonations/revoke",
    tag = "admin",
    operation_id = "revokeImpersonations",
    summary = "Revoke impersonations (admin)",
    description = "Ends every live impersonated session of the actor and/or of the target (or the one `sessionId` names), each with an `impersonation_revoked` audit record (client IP, user agent, who revoked and why). Sessions live in the database, so the next request at any gateway replica finds them ended. Needs the privilege `impersonation:revoke`; an impersonated session cannot revoke.",
    security(("adminBearer" = [])),
    request_body = RevokeImpersonationsRequest,
    responses(
        (status = 200, description = "How many ended.", body = Revoked),
        RevokeImpersonationsErrors,
    ),
)]
/// `POST /api/_action/impersonations/revoke` {actorId?, targetId?, sessionId?, reason?} (admins)
pub async fn by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    client: Client,
    Body(request): Body<RevokeImpersonationsRequest>,
) -> Result<Json<Revoked>, HttpError> {
    revoke(&state, admin.token, client, request).await
}

errors!(RevokeImpersonationsAsOperatorErrors {
    MissingParameter => "none of actorId, targetId and sessionId",
    InvalidUuid,
    InvalidRequestBody => "malformed body",
    InvalidReason => "a bad reason",
    Unauthorized,
    MissingPrivilege => "no `impersonation:revoke`",
    ForbiddenWhileImpersonating,
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/api/sys/impersonations/revoke",
    tag = "operator",
    operation_id = "revokeImpersonationsAsOperator",
    summary = "Revoke impersonations (operator)",
    description = "Ends every live impersonated session of the actor and/or of the target (or the one `sessionId` names), each with an `impersonation_revoked` audit record (client IP, user agent, who revoked and why). Sessions live in the database, so the next request at any gateway replica finds them ended. Needs the privilege `impersonation:revoke`; an impersonated session cannot revoke.",
    security(("operatorBearer" = [])),
    request_body = RevokeImpersonationsRequest,
    responses(
        (status = 200, description = "How many ended.", body = Revoked),
        RevokeImpersonationsAsOperatorErrors,
    ),
)]
/// `POST /api/sys/impersonations/revoke` {actorId?, targetId?, sessionId?, reason?} (operators)
pub async fn by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    client: Client,
    Body(request): Body<RevokeImpersonationsRequest>,
) -> Result<Json<Revoked>, HttpError> {
    revoke(&state, operator.token, client, request).await
}
