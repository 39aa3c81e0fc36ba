//! Audit records over HTTP: operators query the whole trail; a person sees
//! who accessed their own account ("who accessed my account").

use actas_shared::{
    ErrorCode,
    ids::PrincipalId,
    proto::{AuditRecord, ListAuditRecordsRequest},
};
use axum::{
    Json,
    extract::{Query, State},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{CoworkerSession, OperatorSession, parse_id},
    routes::store::simple_id,
};

fn record_json(record: &AuditRecord) -> Value {
    json!({
        "id": simple_id(&record.id),
        "kind": record.kind,
        "action": record.action,
        "actorId": simple_id(&record.actor_id),
        "targetId": simple_id(&record.target_id),
        "audience": record.audience,
        "sessionId": simple_id(&record.session_id),
        "reason": record.reason,
        "clientIp": record.client_ip,
        "userAgent": record.user_agent,
        "occurredAt": chrono::DateTime::from_timestamp(record.occurred_at_unix, 0).map(|t| t.to_rfc3339()),
    })
}

async fn list(state: &AppState, request: ListAuditRecordsRequest) -> Result<Json<Value>, HttpError> {
    let records = state
        .sessions
        .clone()
        .list_audit_records(request)
        .await?
        .into_inner()
        .records;
    Ok(Json(
        json!({ "records": records.iter().map(record_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(rename = "actorId")]
    actor_id: Option<String>,
    #[serde(rename = "targetId")]
    target_id: Option<String>,
    /// Text, parsed here: a bad value gets the error envelope, not axum's plain text.
    limit: Option<String>,
}

/// `GET /api/sys/audit-records?actorId=&targetId=&limit=` (operators)
pub async fn records(
    State(state): State<AppState>,
    _operator: OperatorSession,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, HttpError> {
    let id = |text: Option<String>, field: &str| -> Result<String, HttpError> {
        match text.filter(|t| !t.is_empty()) {
            Some(text) => Ok(parse_id::<PrincipalId>(&text, field)?.to_string()),
            None => Ok(String::new()),
        }
    };
    list(
        &state,
        ListAuditRecordsRequest {
            actor_id: id(query.actor_id, "actorId")?,
            target_id: id(query.target_id, "targetId")?,
            sessions_only: false,
            limit: match query.limit.as_deref().map(str::trim) {
                None | Some("") => 0,
                Some(text) => text.parse().map_err(|_| {
                    HttpError::new(
                        ErrorCode::InvalidRequestBody,
                        "limit must be a whole number from 1 to 500.",
                    )
                })?,
            },
        },
    )
    .await
}

/// `GET /api/public/account/impersonations`: who acted as the signed-in person.
pub async fn my_impersonations(
    State(state): State<AppState>,
    session: CoworkerSession,
) -> Result<Json<Value>, HttpError> {
    // The list names other actors, their addresses and agents: it is the
    // person's own, not something an impersonator reads.
    if session.context.imitated {
        return Err(HttpError::new(
            ErrorCode::ForbiddenWhileImpersonating,
            "This is not available while impersonating.",
        ));
    }
    list(
        &state,
        ListAuditRecordsRequest {
            target_id: session.person_id.to_string(),
            sessions_only: true,
            ..Default::default()
        },
    )
    .await
}
