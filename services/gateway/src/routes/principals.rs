//! Deactivating and reactivating principals: an admin or operator holding
//! `principal:deactivate` switches off an admin or customer they outrank,
//! and every session of it ends (its own, the impersonations it started and
//! those acting as it), on the record. Sessions live in the database, so
//! every gateway replica finds them ended within the second.

use actas_shared::{ids::PrincipalId, proto};
use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{AdminSession, Body, BodyObject, Client, FromBody, OperatorSession, Path, parse_id},
    openapi::{ShopwareId, errors},
    public_session::Kind,
    state::AppState,
    wire::simple_id,
};

/// Why a principal is switched off or on again; `{}` states no reason.
#[derive(ToSchema)]
#[schema(examples(json!({"reason": "left the company"})))]
pub struct PrincipalActivationRequest {
    /// Why; kept in the records.
    #[schema(value_type = Option<String>, max_length = 500)]
    pub reason: String,
}

impl FromBody for PrincipalActivationRequest {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        Ok(Self {
            reason: body.reason()?,
        })
    }
}

/// The principal as it is now, and the sessions ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "principal": {"id": "018f8d3a5e007000800000000000a001", "kind": "admin", "email": "admin@example.com", "active": false},
    "endedSessions": 3,
})))]
pub struct PrincipalActivation {
    pub principal: ActivatedPrincipal,
    /// Live sessions ended: the principal's own, the impersonations it
    /// started and those acting as it (0 on reactivation).
    #[schema(minimum = 0)]
    pub ended_sessions: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ActivatedPrincipal {
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    pub kind: Kind,
    pub email: String,
    pub active: bool,
}

/// What a change answers.
fn answer(activation: proto::PrincipalActivation) -> Json<PrincipalActivation> {
    let principal = activation.principal.unwrap_or_default();
    Json(PrincipalActivation {
        principal: ActivatedPrincipal {
            id: simple_id(&principal.id),
            kind: Kind::of(principal.kind),
            email: principal.email,
            active: principal.active,
        },
        ended_sessions: activation.ended_sessions,
    })
}

async fn change(
    state: &AppState,
    token: String,
    principal: &str,
    client: Client,
    PrincipalActivationRequest { reason }: PrincipalActivationRequest,
    active: bool,
) -> Result<Json<PrincipalActivation>, HttpError> {
    let principal = parse_id::<PrincipalId>(principal, "principalId")?;
    let request = proto::PrincipalActivationRequest {
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

errors!(DeactivatePrincipalAsAdminErrors {
    InvalidUuid => "principalId is not a valid UUID",
    InvalidRequestBody => "the body is not a JSON object or form",
    InvalidReason,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "missing privilege: principal:deactivate",
    DeactivationNotAllowed,
    ForbiddenWhileImpersonating => "an impersonated session cannot deactivate anyone",
    CustomerNotFound,
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/api/_action/principals/{principalId}/deactivate",
    tag = "admin",
    operation_id = "deactivatePrincipalAsAdmin",
    summary = "Deactivate a principal (admin)",
    description = "Deactivates an admin or customer: it can no longer sign in, and every live session of it ends at once, at every gateway replica within the second: its own sessions, the impersonations it started and those acting as it. One `principal_deactivated` audit record names who did it and why; each impersonation ended gets its `impersonation_revoked` record. Needs the privilege `principal:deactivate` and a rank above the principal's (it holds no right the actor lacks, and not exactly the actor's); nobody changes themself; an impersonated session cannot.",
    security(("adminBearer" = [])),
    params(
        ("principalId" = String, Path, description = "The principal, in either UUID form.")
    ),
    request_body = PrincipalActivationRequest,
    responses(
        (status = 200, description = "The principal as it is now, and the sessions ended.", body = PrincipalActivation),
        DeactivatePrincipalAsAdminErrors,
    ),
)]
/// `POST /api/_action/principals/{principalId}/deactivate` {reason?} (admins)
pub async fn deactivate_by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    client: Client,
    Path(principal): Path<String>,
    Body(request): Body<PrincipalActivationRequest>,
) -> Result<Json<PrincipalActivation>, HttpError> {
    change(&state, admin.token, &principal, client, request, false).await
}

errors!(ReactivatePrincipalAsAdminErrors {
    InvalidUuid => "principalId is not a valid UUID",
    InvalidRequestBody => "the body is not a JSON object or form",
    InvalidReason,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "missing privilege: principal:deactivate",
    DeactivationNotAllowed,
    ForbiddenWhileImpersonating => "an impersonated session cannot deactivate anyone",
    CustomerNotFound,
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/api/_action/principals/{principalId}/reactivate",
    tag = "admin",
    operation_id = "reactivatePrincipalAsAdmin",
    summary = "Reactivate a principal (admin)",
    description = "Lets a deactivated principal sign in again, with a `principal_reactivated` audit record. Needs the privilege `principal:deactivate` and a rank above the principal's (it holds no right the actor lacks, and not exactly the actor's); nobody changes themself; an impersonated session cannot.",
    security(("adminBearer" = [])),
    params(
        ("principalId" = String, Path, description = "The principal, in either UUID form.")
    ),
    request_body = PrincipalActivationRequest,
    responses(
        (status = 200, description = "The principal as it is now, and the sessions ended.", body = PrincipalActivation),
        ReactivatePrincipalAsAdminErrors,
    ),
)]
/// `POST /api/_action/principals/{principalId}/reactivate` {reason?} (admins)
pub async fn reactivate_by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    client: Client,
    Path(principal): Path<String>,
    Body(request): Body<PrincipalActivationRequest>,
) -> Result<Json<PrincipalActivation>, HttpError> {
    change(&state, admin.token, &principal, client, request, true).await
}

errors!(DeactivatePrincipalAsOperatorErrors {
    InvalidUuid => "principalId is not a valid UUID",
    InvalidRequestBody => "the body is not a JSON object or form",
    InvalidReason,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "missing privilege: principal:deactivate",
    DeactivationNotAllowed,
    ForbiddenWhileImpersonating => "an impersonated session cannot deactivate anyone",
    CustomerNotFound,
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/api/sys/principals/{principalId}/deactivate",
    tag = "operator",
    operation_id = "deactivatePrincipalAsOperator",
    summary = "Deactivate a principal (operator)",
    description = "Deactivates an admin or customer: it can no longer sign in, and every live session of it ends at once, at every gateway replica within the second: its own sessions, the impersonations it started and those acting as it. One `principal_deactivated` audit record names who did it and why; each impersonation ended gets its `impersonation_revoked` record. Needs the privilege `principal:deactivate` and a rank above the principal's (it holds no right the actor lacks, and not exactly the actor's); nobody changes themself; an impersonated session cannot.",
    security(("operatorBearer" = [])),
    params(
        ("principalId" = String, Path, description = "The principal, in either UUID form.")
    ),
    request_body = PrincipalActivationRequest,
    responses(
        (status = 200, description = "The principal as it is now, and the sessions ended.", body = PrincipalActivation),
        DeactivatePrincipalAsOperatorErrors,
    ),
)]
/// `POST /api/sys/principals/{principalId}/deactivate` {reason?} (operators)
pub async fn deactivate_by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    client: Client,
    Path(principal): Path<String>,
    Body(request): Body<PrincipalActivationRequest>,
) -> Result<Json<PrincipalActivation>, HttpError> {
    change(&state, operator.token, &principal, client, request, false).await
}

errors!(ReactivatePrincipalAsOperatorErrors {
    InvalidUuid => "principalId is not a valid UUID",
    InvalidRequestBody => "the body is not a JSON object or form",
    InvalidReason,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "missing privilege: principal:deactivate",
    DeactivationNotAllowed,
    ForbiddenWhileImpersonating => "an impersonated session cannot deactivate anyone",
    CustomerNotFound,
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/api/sys/principals/{principalId}/reactivate",
    tag = "operator",
    operation_id = "reactivatePrincipalAsOperator",
    summary = "Reactivate a principal (operator)",
    description = "Lets a deactivated principal sign in again, with a `principal_reactivated` audit record. Needs the privilege `principal:deactivate` and a rank above the principal's (it holds no right the actor lacks, and not exactly the actor's); nobody changes themself; an impersonated session cannot.",
    security(("operatorBearer" = [])),
    params(
        ("principalId" = String, Path, description = "The principal, in either UUID form.")
    ),
    request_body = PrincipalActivationRequest,
    responses(
        (status = 200, description = "The principal as it is now, and the sessions ended.", body = PrincipalActivation),
        ReactivatePrincipalAsOperatorErrors,
    ),
)]
/// `POST /api/sys/principals/{principalId}/reactivate` {reason?} (operators)
pub async fn reactivate_by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    client: Client,
    Path(principal): Path<String>,
    Body(request): Body<PrincipalActivationRequest>,
) -> Result<Json<PrincipalActivation>, HttpError> {
    change(&state, operator.token, &principal, client, request, true).await
}
