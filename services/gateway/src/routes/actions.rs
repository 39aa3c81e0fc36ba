//! What was done as someone ("what was done as me"): the action records of
//! impersonated sessions, reported by internal services and by this
//! gateway for every state-changing request it served under one. Admins and
//! operators holding `impersonation:audit` read any; a person reads those
//! done as themself. Each names its session, the `sessionId` of the
//! impersonation's audit records.

use actas_shared::{
    ErrorCode,
    ids::{PrincipalId, SessionId},
    proto::{self, ListActionRecordsRequest},
};
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::HttpError,
    extract::{AdminSession, CoworkerSession, OperatorSession, Query, parse_id},
    openapi::{Id, ShopwareId, errors},
    state::AppState,
    wire::simple_id,
};

/// One thing done on an impersonated session's behalf.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ActionRecord)]
pub struct ActionRecordAnswer {
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    /// The impersonated session (the `sessionId` of its audit records).
    #[schema(value_type = Option<ShopwareId>)]
    pub session_id: Option<String>,
    /// Who acted, and as whom.
    #[schema(value_type = Option<ShopwareId>)]
    pub actor_id: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub target_id: Option<String>,
    /// What was done: the gateway's are `METHOD /route/{template}`.
    #[schema(examples("PATCH /store-api/context"))]
    pub action: String,
    pub detail: String,
    /// How it went: the gateway's are the HTTP status.
    #[schema(examples("200"))]
    pub outcome: String,
    /// The service that reported it (`gateway` for requests served here).
    pub reporter: String,
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
    /// The W3C trace id of the reporting request; null without tracing.
    pub trace_id: Option<String>,
}

/// Action records, newest first.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"records": [{
    "id": "018f8d3a5e0070008000000000ac0001",
    "sessionId": "018f8d3a5e0070008000000000005e01",
    "actorId": "018f8d3a5e0070008000000000000a01",
    "targetId": "018f8d3a5e007000800000000000c001",
    "action": "PATCH /store-api/context",
    "detail": "",
    "outcome": "200",
    "reporter": "gateway",
    "occurredAt": "2026-01-01T12:00:05+00:00",
    "traceId": null,
}], "page": 1, "limit": 100})))]
pub struct ActionRecordList {
    pub records: Vec<ActionRecordAnswer>,
    pub page: u32,
    pub limit: u32,
}

/// A query of the action records.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionQuery {
    /// Only the actions of this impersonated session.
    #[serde(rename = "sessionId")]
    #[param(value_type = Option<Id>)]
    session_id: Option<String>,
    /// Only those of this actor (ignored for a person's own list).
    #[serde(rename = "actorId")]
    #[param(value_type = Option<Id>)]
    actor_id: Option<String>,
    /// Only those done as this person (a person's own list: always themself).
    #[serde(rename = "targetId")]
    #[param(value_type = Option<Id>)]
    target_id: Option<String>,
    /// Records per page, 1..=500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, default = 100)]
    limit: Option<String>,
    /// 1-based page of `limit` records, newest first.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000, default = 1)]
    page: Option<String>,
}

/// Largest page, and the page unless asked otherwise.
const MAX_LIMIT: u32 = 500;
const DEFAULT_LIMIT: u32 = 100;

fn whole(
    text: Option<String>,
    default: u32,
    max: u32,
    code: ErrorCode,
    what: &str,
) -> Result<u32, HttpError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| HttpError::new(code, format!("{what} must be a whole number from 1 to {max}."))),
    }
}

fn optional<T: std::str::FromStr + ToString>(text: Option<String>, field: &str) -> Result<String, HttpError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(text) => Ok(parse_id::<T>(text, field)?.to_string()),
    }
}

fn answer(record: proto::ActionRecord) -> ActionRecordAnswer {
    ActionRecordAnswer {
        id: simple_id(&record.id),
        session_id: simple_id(&record.session_id),
        actor_id: simple_id(&record.actor_id),
        target_id: simple_id(&record.target_id),
        action: record.action,
        detail: record.detail,
        outcome: record.outcome,
        reporter: record.reporter,
        occurred_at: chrono::DateTime::from_timestamp_millis(record.occurred_at_unix_ms)
            .map(|t| t.to_rfc3339()),
        trace_id: Some(record.trace_id).filter(|id| !id.is_empty()),
    }
}

async fn list(
    state: &AppState,
    reader: String,
    query: ActionQuery,
) -> Result<Json<ActionRecordList>, HttpError> {
    let limit = whole(
        query.limit,
        DEFAULT_LIMIT,
        MAX_LIMIT,
        ErrorCode::InvalidLimit,
        "limit",
    )?;
    let page = whole(query.page, 1, 1_000_000, ErrorCode::InvalidPage, "page")?;
    let records = state
        .sessions
        .clone()
        .list_action_records(ListActionRecordsRequest {
            reader_session_token: reader,
            session_id: optional::<SessionId>(query.session_id, "sessionId")?,
            actor_id: optional::<PrincipalId>(query.actor_id, "actorId")?,
            target_id: optional::<PrincipalId>(query.target_id, "targetId")?,
            limit,
            offset: (page - 1).saturating_mul(limit),
        })
        .await?
        .into_inner()
        .records;
    Ok(Json(ActionRecordList {
        records: records.into_iter().map(answer).collect(),
        page,
        limit,
    }))
}

errors!(ListActionRecordsErrors {
    InvalidUuid,
    InvalidLimit,
    InvalidPage,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "no `impersonation:audit`",
    ForbiddenWhileImpersonating,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/sys/action-records",
    tag = "operator",
    operation_id = "listActionRecords",
    summary = "What was done on impersonated sessions' behalf",
    description = "Needs `impersonation:audit`. Each record names its impersonated session (`sessionId`, as in the audit records), who acted and as whom.",
    security(("operatorBearer" = [])),
    params(ActionQuery),
    responses(
        (status = 200, description = "Action records, newest first.", body = ActionRecordList),
        ListActionRecordsErrors,
    ),
)]
/// `GET /api/sys/action-records?sessionId=&actorId=&targetId=&limit=&page=` (operators)
pub async fn records(
    State(state): State<AppState>,
    operator: OperatorSession,
    Query(query): Query<ActionQuery>,
) -> Result<Json<ActionRecordList>, HttpError> {
    list(&state, operator.token, query).await
}

#[utoipa::path(
    get,
    path = "/api/_action/action-records",
    tag = "admin",
    operation_id = "adminActionRecords",
    summary = "What was done on impersonated sessions' behalf",
    description = "Needs `impersonation:audit`. Each record names its impersonated session (`sessionId`, as in the audit records), who acted and as whom.",
    security(("adminBearer" = [])),
    params(ActionQuery),
    responses(
        (status = 200, description = "Action records, newest first.", body = ActionRecordList),
        ListActionRecordsErrors,
    ),
)]
/// `GET /api/_action/action-records?…` (admins holding `impersonation:audit`)
pub async fn records_for_admins(
    State(state): State<AppState>,
    admin: AdminSession,
    Query(query): Query<ActionQuery>,
) -> Result<Json<ActionRecordList>, HttpError> {
    list(&state, admin.token, query).await
}

errors!(MyActionRecordsErrors {
    InvalidUuid,
    InvalidLimit,
    InvalidPage,
    InvalidRequestParameter,
    Unauthorized,
    ForbiddenWhileImpersonating,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/public/account/impersonations/actions",
    tag = "public",
    operation_id = "myActionRecords",
    summary = "What was done as the signed-in person",
    description = "The actions of the impersonations of the signed-in person (`sessionId` names one, as in their audit records). Not while impersonating.",
    security(("publicBearer" = [])),
    params(ActionQuery),
    responses(
        (status = 200, description = "Action records, newest first.", body = ActionRecordList),
        MyActionRecordsErrors,
    ),
)]
/// `GET /api/public/account/impersonations/actions?sessionId=…`: what was
/// done as the signed-in person; the session service keeps it to them.
pub async fn my_records(
    State(state): State<AppState>,
    session: CoworkerSession,
    Query(query): Query<ActionQuery>,
) -> Result<Json<ActionRecordList>, HttpError> {
    list(&state, session.token, query).await
}
