//! Audit records over HTTP: operators and admins query the trail; a person
//! sees who accessed their own account ("who accessed my account") and
//! decides whether their team administrators may act as them.

use actas_shared::{
    ErrorCode,
    ids::PrincipalId,
    proto::{AuditRecord, ListAuditRecordsRequest, TeamImpersonationConsent},
};
use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{AdminSession, BodyObject, CoworkerSession, OperatorSession, Query, parse_id},
    routes::store::simple_id,
};

fn record_json(record: &AuditRecord) -> Value {
    json!({
        "id": simple_id(&record.id),
        "kind": record.kind().as_str(),
        "action": record.action().as_str(),
        "actorId": simple_id(&record.actor_id),
        "targetId": simple_id(&record.target_id),
        "audience": record.audience,
        "sessionId": simple_id(&record.session_id),
        "reason": record.reason,
        "clientIp": record.client_ip,
        "userAgent": record.user_agent,
        // Null when the request behind it was not traced.
        "traceId": Some(&record.trace_id).filter(|id| !id.is_empty()),
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
    /// RFC 3339 times; records at or after `since`, before `until`.
    since: Option<String>,
    until: Option<String>,
    /// Text, parsed here: a bad value gets the error envelope, not axum's plain text.
    limit: Option<String>,
    page: Option<String>,
}

/// The largest page of audit records.
const MAX_AUDIT_LIMIT: u32 = 500;
const DEFAULT_AUDIT_LIMIT: u32 = 100;

impl AuditQuery {
    /// The request of this query, read by `reader`; `(request, page, limit)`.
    fn request(self, reader: String) -> Result<(ListAuditRecordsRequest, u32, u32), HttpError> {
        let id = |text: Option<String>, field: &str| -> Result<String, HttpError> {
            match text.filter(|t| !t.is_empty()) {
                Some(text) => Ok(parse_id::<PrincipalId>(&text, field)?.to_string()),
                None => Ok(String::new()),
            }
        };
        let time = |text: Option<String>, field: &str| -> Result<i64, HttpError> {
            match text.as_deref().map(str::trim) {
                None | Some("") => Ok(0),
                Some(text) => chrono::DateTime::parse_from_rfc3339(text)
                    .map(|time| time.timestamp_millis())
                    .map_err(|_| {
                        HttpError::new(
                            ErrorCode::InvalidRequestBody,
                            format!("{field} must be an RFC 3339 time, e.g. 2026-11-23T08:00:00Z."),
                        )
                    }),
            }
        };
        let number = |text: Option<String>, default: u32, max: u32, code: ErrorCode, what: &str| match text
            .as_deref()
            .map(str::trim)
        {
            None | Some("") => Ok(default),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    HttpError::new(code, format!("{what} must be a whole number from 1 to {max}."))
                }),
        };
        let limit = number(
            self.limit,
            DEFAULT_AUDIT_LIMIT,
            MAX_AUDIT_LIMIT,
            ErrorCode::InvalidLimit,
            "limit",
        )?;
        let page = number(self.page, 1, 1_000_000, ErrorCode::InvalidPage, "page")?;
        let request = ListAuditRecordsRequest {
            actor_id: id(self.actor_id, "actorId")?,
            target_id: id(self.target_id, "targetId")?,
            sessions_only: false,
            limit,
            reader_session_token: reader,
            since_unix_ms: time(self.since, "since")?,
            until_unix_ms: time(self.until, "until")?,
            offset: (page - 1).saturating_mul(limit),
        };
        Ok((request, page, limit))
    }
}

async fn query(state: &AppState, reader: String, query: AuditQuery) -> Result<Json<Value>, HttpError> {
    let (request, page, limit) = query.request(reader)?;
    let Json(mut body) = list(state, request).await?;
    body["page"] = json!(page);
    body["limit"] = json!(limit);
    Ok(Json(body))
}

/// `GET /api/sys/audit-records?actorId=&targetId=&since=&until=&limit=&page=` (operators)
pub async fn records(
    State(state): State<AppState>,
    operator: OperatorSession,
    Query(audit): Query<AuditQuery>,
) -> Result<Json<Value>, HttpError> {
    query(&state, operator.token, audit).await
}

/// `GET /api/_action/audit-records?…` (admins holding `impersonation:audit`)
pub async fn records_for_admins(
    State(state): State<AppState>,
    admin: AdminSession,
    Query(audit): Query<AuditQuery>,
) -> Result<Json<Value>, HttpError> {
    query(&state, admin.token, audit).await
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
            reader_session_token: session.token,
            ..Default::default()
        },
    )
    .await
}

/// `GET /api/public/account/impersonation-consent`: whether the signed-in
/// person's team administrators may act as them.
pub async fn consent(
    State(state): State<AppState>,
    session: CoworkerSession,
) -> Result<Json<Value>, HttpError> {
    let consent = state
        .permission
        .clone()
        .get_team_impersonation_consent(TeamImpersonationConsent {
            person_id: session.person_id.to_string(),
            team_admins_allowed: false,
        })
        .await?
        .into_inner();
    Ok(Json(json!({ "teamAdmins": consent.team_admins_allowed })))
}

/// `PUT /api/public/account/impersonation-consent` {teamAdmins: bool}: the
/// person's own choice; never from an impersonated session (a sensitive
/// action, see [`crate::guard::SENSITIVE`]).
pub async fn set_consent(
    State(state): State<AppState>,
    session: CoworkerSession,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    let allowed = body
        .optional_bool("teamAdmins")?
        .ok_or_else(|| crate::extract::missing("teamAdmins"))?;
    let consent = state
        .permission
        .clone()
        .set_team_impersonation_consent(TeamImpersonationConsent {
            person_id: session.person_id.to_string(),
            team_admins_allowed: allowed,
        })
        .await?
        .into_inner();
    Ok(Json(json!({ "teamAdmins": consent.team_admins_allowed })))
}
