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
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{AdminSession, Body, BodyObject, FromBody, OperatorSession, Path, missing},
    openapi::errors,
    state::AppState,
};

/// How impersonation goes in one sales channel or team. Without a policy:
/// on, read-write.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ImpersonationPolicy, examples(json!({
    "scope": "sales_channel:018f8d3a5e0070008000000000000e01",
    "enabled": true,
    "readOnly": true,
})))]
pub struct Policy {
    /// `sales_channel:<id>` (Shopware's id form) or `team:<id>`.
    #[schema(examples("sales_channel:018f8d3a5e0070008000000000000e01"))]
    pub scope: String,
    /// Whether impersonations may start (and live ones go on) there.
    pub enabled: bool,
    /// Whether impersonated sessions there may only look: every change but
    /// ending the impersonation is refused (403 `ACTAS__READ_ONLY_IMPERSONATION`).
    pub read_only: bool,
}

/// A policy to put in place of the current one.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", examples(json!({"enabled": true, "readOnly": true})))]
pub struct ImpersonationPolicyChange {
    pub enabled: bool,
    #[schema(value_type = Option<bool>, default = false)]
    pub read_only: bool,
}

impl FromBody for ImpersonationPolicyChange {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        // PUT replaces the policy: `enabled` is required, `readOnly` defaults to false.
        Ok(Self {
            enabled: body.optional_bool("enabled")?.ok_or_else(|| missing("enabled"))?,
            read_only: body.optional_bool("readOnly")?.unwrap_or(false),
        })
    }
}

/// The answer of a policy; a sales channel's id in Shopware's form.
fn policy_json(policy: &ImpersonationPolicy) -> Policy {
    let scope = match policy.scope.split_once(':') {
        Some(("sales_channel", id)) => id.parse::<SalesChannelId>().map_or_else(
            |_| policy.scope.clone(),
            |id| format!("sales_channel:{}", id.simple()),
        ),
        _ => policy.scope.clone(),
    };
    Policy {
        scope,
        enabled: policy.enabled,
        read_only: policy.read_only,
    }
}

async fn get(state: &AppState, actor_id: String, scope: String) -> Result<Json<Policy>, HttpError> {
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
    change: ImpersonationPolicyChange,
) -> Result<Json<Policy>, HttpError> {
    let ImpersonationPolicyChange { enabled, read_only } = change;
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

errors!(GetImpersonationPolicyAsAdminErrors {
    InvalidPolicyScope,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "no `impersonation:policy`",
    ForbiddenWhileImpersonating,
    PolicyScopeNotFound,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/_action/impersonation-policies/{scope}",
    tag = "admin",
    operation_id = "getImpersonationPolicyAsAdmin",
    summary = "Read the impersonation policy of a sales channel or team",
    description = "For admins holding `impersonation:policy`.",
    security(("adminBearer" = [])),
    params(
        ("scope" = String, Path, description = "`sales_channel:<id>` (either UUID form) or `team:<id>`.")
    ),
    responses(
        (status = 200, description = "The policy in force (on, read-write when none was set).", body = Policy),
        GetImpersonationPolicyAsAdminErrors,
    ),
)]
/// `GET /api/_action/impersonation-policies/{scope}` (admins)
pub async fn get_by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    Path(scope): Path<String>,
) -> Result<Json<Policy>, HttpError> {
    get(&state, admin.admin_id.to_string(), scope).await
}

errors!(SetImpersonationPolicyAsAdminErrors {
    InvalidPolicyScope,
    MissingParameter => "no `enabled`",
    InvalidRequestBody => "not a JSON object or form, or a flag that is not true or false",
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "no `impersonation:policy`",
    ForbiddenWhileImpersonating,
    PolicyScopeNotFound,
    Unavailable,
});
#[utoipa::path(
    put,
    path = "/api/_action/impersonation-policies/{scope}",
    tag = "admin",
    operation_id = "setImpersonationPolicyAsAdmin",
    summary = "Set the impersonation policy of a sales channel or team",
    description = "For admins holding `impersonation:policy`. Replaces the policy (`readOnly` defaults to false). Switched off, no impersonation starts there and live ones end; read-only, impersonated sessions there may look and end themselves, nothing else. Live impersonations follow within about a second.",
    security(("adminBearer" = [])),
    params(
        ("scope" = String, Path, description = "`sales_channel:<id>` (either UUID form) or `team:<id>`.")
    ),
    request_body = ImpersonationPolicyChange,
    responses(
        (status = 200, description = "The policy now in force.", body = Policy),
        SetImpersonationPolicyAsAdminErrors,
    ),
)]
/// `PUT /api/_action/impersonation-policies/{scope}` {enabled, readOnly?} (admins)
pub async fn set_by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    Path(scope): Path<String>,
    Body(change): Body<ImpersonationPolicyChange>,
) -> Result<Json<Policy>, HttpError> {
    set(&state, admin.admin_id.to_string(), scope, change).await
}

errors!(GetImpersonationPolicyAsOperatorErrors {
    InvalidPolicyScope,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "no `impersonation:policy`",
    ForbiddenWhileImpersonating,
    PolicyScopeNotFound,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/sys/impersonation-policies/{scope}",
    tag = "operator",
    operation_id = "getImpersonationPolicyAsOperator",
    summary = "Read the impersonation policy of a sales channel or team",
    description = "For operators holding `impersonation:policy`.",
    security(("operatorBearer" = [])),
    params(
        ("scope" = String, Path, description = "`sales_channel:<id>` (either UUID form) or `team:<id>`.")
    ),
    responses(
        (status = 200, description = "The policy in force (on, read-write when none was set).", body = Policy),
        GetImpersonationPolicyAsOperatorErrors,
    ),
)]
/// `GET /api/sys/impersonation-policies/{scope}` (operators)
pub async fn get_by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    Path(scope): Path<String>,
) -> Result<Json<Policy>, HttpError> {
    get(&state, operator.operator_id.to_string(), scope).await
}

errors!(SetImpersonationPolicyAsOperatorErrors {
    InvalidPolicyScope,
    MissingParameter => "no `enabled`",
    InvalidRequestBody => "not a JSON object or form, or a flag that is not true or false",
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "no `impersonation:policy`",
    ForbiddenWhileImpersonating,
    PolicyScopeNotFound,
    Unavailable,
});
#[utoipa::path(
    put,
    path = "/api/sys/impersonation-policies/{scope}",
    tag = "operator",
    operation_id = "setImpersonationPolicyAsOperator",
    summary = "Set the impersonation policy of a sales channel or team",
    description = "For operators holding `impersonation:policy`. Replaces the policy (`readOnly` defaults to false). Switched off, no impersonation starts there and live ones end; read-only, impersonated sessions there may look and end themselves, nothing else. Live impersonations follow within about a second.",
    security(("operatorBearer" = [])),
    params(
        ("scope" = String, Path, description = "`sales_channel:<id>` (either UUID form) or `team:<id>`.")
    ),
    request_body = ImpersonationPolicyChange,
    responses(
        (status = 200, description = "The policy now in force.", body = Policy),
        SetImpersonationPolicyAsOperatorErrors,
    ),
)]
/// `PUT /api/sys/impersonation-policies/{scope}` {enabled, readOnly?} (operators)
pub async fn set_by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    Path(scope): Path<String>,
    Body(change): Body<ImpersonationPolicyChange>,
) -> Result<Json<Policy>, HttpError> {
    set(&state, operator.operator_id.to_string(), scope, change).await
}
