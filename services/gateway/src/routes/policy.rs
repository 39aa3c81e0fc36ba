//! Impersonation policy per sales channel or team: on or off, read-write or
//! read-only. An admin or operator holding `impersonation:policy` reads and
//! sets it; the permission service checks the privilege and that the scope
//! exists. Live impersonations follow within the session service's
//! one-second re-check.

use actas_shared::{
    ids::SalesChannelId,
    proto::{GetImpersonationPolicyRequest, ImpersonationPolicy, SetImpersonationPolicyRequest},
};
use axum::{Json, extract::State};
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{AdminSession, BodyObject, OperatorSession, Path, missing},
};

/// The JSON of a policy; a sales channel's id in Shopware's form.
fn policy_json(policy: &ImpersonationPolicy) -> Value {
    let scope = match policy.scope.split_once(':') {
        Some(("sales_channel", id)) => id.parse::<SalesChannelId>().map_or_else(
            |_| policy.scope.clone(),
            |id| format!("sales_channel:{}", id.simple()),
        ),
        _ => policy.scope.clone(),
    };
    json!({
        "scope": scope,
        "enabled": policy.enabled,
        "readOnly": policy.read_only,
    })
}

async fn get(state: &AppState, actor_id: String, scope: String) -> Result<Json<Value>, HttpError> {
    let policy = state
        .permission
        .clone()
        .get_impersonation_policy(GetImpersonationPolicyRequest { actor_id, scope })
        .await?
        .into_inner();
    Ok(Json(policy_json(&policy)))
}

async fn set(
    state: &AppState,
    actor_id: String,
    scope: String,
    body: &BodyObject,
) -> Result<Json<Value>, HttpError> {
    // PUT replaces the policy: `enabled` is required, `readOnly` defaults to false.
    let enabled = body.optional_bool("enabled")?.ok_or_else(|| missing("enabled"))?;
    let read_only = body.optional_bool("readOnly")?.unwrap_or(false);
    let policy = state
        .permission
        .clone()
        .set_impersonation_policy(SetImpersonationPolicyRequest {
            actor_id,
            policy: Some(ImpersonationPolicy {
                scope,
                enabled,
                read_only,
            }),
        })
        .await?
        .into_inner();
    Ok(Json(policy_json(&policy)))
}

/// `GET /api/_action/impersonation-policies/{scope}` (admins)
pub async fn get_by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    Path(scope): Path<String>,
) -> Result<Json<Value>, HttpError> {
    get(&state, admin.admin_id.to_string(), scope).await
}

/// `PUT /api/_action/impersonation-policies/{scope}` {enabled, readOnly?} (admins)
pub async fn set_by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    Path(scope): Path<String>,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    set(&state, admin.admin_id.to_string(), scope, &body).await
}

/// `GET /api/sys/impersonation-policies/{scope}` (operators)
pub async fn get_by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    Path(scope): Path<String>,
) -> Result<Json<Value>, HttpError> {
    get(&state, operator.operator_id.to_string(), scope).await
}

/// `PUT /api/sys/impersonation-policies/{scope}` {enabled, readOnly?} (operators)
pub async fn set_by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    Path(scope): Path<String>,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    set(&state, operator.operator_id.to_string(), scope, &body).await
}
