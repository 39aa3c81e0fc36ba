//! Audit records over HTTP: operators and admins query the trail; a person
//! sees who accessed their own account ("who accessed my account") and
//! decides whether their team administrators may act as them.

use actas_shared::{
    ErrorCode,
    ids::PrincipalId,
    proto::{AuditKind, AuditRecord, ListAuditRecordsRequest, TeamImpersonationConsent},
};
use std::collections::HashMap;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::HttpError,
    extract::{AdminSession, Body, BodyObject, CoworkerSession, FromBody, OperatorSession, Query, parse_id},
    names,
    openapi::{ActionName, Id, ShopwareId, errors, string_enum},
    state::AppState,
    wire::simple_id,
};

/// One record of the audit trail.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditRecord)]
pub struct AuditRecordAnswer {
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    /// `token_issued` (written before the token exists), `token_issue_failed`
    /// (its grant could not be stored: no token was handed out),
    /// `token_redeem_failed` (a validly signed token refused: spent, unknown
    /// or mismatched), the impersonated session's `impersonation_started`,
    /// `impersonation_ended` (logout, stop, idle, lost right),
    /// `impersonation_revoked`, `impersonation_expired` (its maximum
    /// lifetime), and `principal_deactivated`, `principal_reactivated`.
    /// "Who accessed my account" lists the session kinds only.
    #[schema(value_type = AuditKindName)]
    pub kind: &'static str,
    #[schema(value_type = ActionName)]
    pub action: &'static str,
    #[schema(value_type = Option<ShopwareId>)]
    pub actor_id: Option<String>,
    /// The actor's display name now (the trail keeps ids); null when the
    /// directory no longer knows it.
    pub actor_name: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub target_id: Option<String>,
    /// The target's display name now; null when unknown.
    pub target_name: Option<String>,
    /// The sales channel id as stored (dashed form), or empty when the
    /// impersonation names none.
    pub audience: String,
    #[schema(value_type = Option<ShopwareId>)]
    pub session_id: Option<String>,
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
    /// The W3C trace id of the request that caused the record (32 hex
    /// digits); null when that request was not traced.
    pub trace_id: Option<String>,
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
}

/// The kinds of audit record, from [`AuditKind`] itself.
pub struct AuditKindName;

impl utoipa::PartialSchema for AuditKindName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_enum(AuditKind::ALL.iter().map(|kind| kind.as_str()))
    }
}

impl ToSchema for AuditKindName {
    fn name() -> std::borrow::Cow<'static, str> {
        "AuditKind".into()
    }
}

/// Audit records, newest first.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"records": [{
    "id": "018f8d3a5e0070008000000000ad0001",
    "kind": "impersonation_started",
    "action": "impersonate_team_member",
    "actorId": "018f8d3a5e007000800000000000c005",
    "actorName": "Tina Teamadmin",
    "targetId": "018f8d3a5e007000800000000000c006",
    "targetName": "Max Member",
    "audience": "",
    "sessionId": "018f8d3a5e0070008000000000005e01",
    "reason": "",
    "clientIp": "127.0.0.1",
    "userAgent": "curl/8.5.0",
    "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
    "occurredAt": "2026-01-01T12:00:00+00:00",
}], "page": 1, "limit": 100})))]
pub struct AuditRecordList {
    #[schema(value_type = Vec<AuditRecordAnswer>)]
    pub records: Vec<AuditRecordAnswer>,
    /// The page answered (trail queries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Records per page (trail queries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

fn record_json(record: &AuditRecord, names: &HashMap<String, String>) -> AuditRecordAnswer {
    AuditRecordAnswer {
        id: simple_id(&record.id),
        kind: record.kind().as_str(),
        action: record.action().as_str(),
        actor_id: simple_id(&record.actor_id),
        actor_name: names.get(&record.actor_id).cloned(),
        target_id: simple_id(&record.target_id),
        target_name: names.get(&record.target_id).cloned(),
        audience: record.audience.clone(),
        session_id: simple_id(&record.session_id),
        reason: record.reason.clone(),
        client_ip: record.client_ip.clone(),
        user_agent: record.user_agent.clone(),
        // Null when the request behind it was not traced.
        trace_id: Some(record.trace_id.clone()).filter(|id| !id.is_empty()),
        occurred_at: chrono::DateTime::from_timestamp(record.occurred_at_unix, 0).map(|t| t.to_rfc3339()),
    }
}

async fn list(state: &AppState, request: ListAuditRecordsRequest) -> Result<AuditRecordList, HttpError> {
    let records = state
        .sessions
        .clone()
        .list_audit_records(request)
        .await?
        .into_inner()
        .records;
    let names = names::principal_names(
        state,
        records
            .iter()
            .flat_map(|record| [record.actor_id.as_str(), record.target_id.as_str()]),
    )
    .await;
    Ok(AuditRecordList {
        records: records.iter().map(|record| record_json(record, &names)).collect(),
        page: None,
        limit: None,
    })
}

/// A query of the audit trail. Every value is read as text and parsed
/// here: a bad one gets the error envelope, not axum's plain text.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only records of this actor (empty: any).
    #[serde(rename = "actorId")]
    #[param(value_type = Option<Id>, example = "018f8d3a5e007000800000000000f001")]
    actor_id: Option<String>,
    /// Only records of this target (empty: any).
    #[serde(rename = "targetId")]
    #[param(value_type = Option<Id>, example = "018f8d3a5e007000800000000000c001")]
    target_id: Option<String>,
    /// Only records of this kind (empty: any).
    #[param(value_type = Option<AuditKindName>)]
    kind: Option<String>,
    /// Records at or after this time (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Records before this time (RFC 3339).
    #[param(format = DateTime)]
    until: Option<String>,
    /// Records per page, 1..=500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, default = 100)]
    limit: Option<String>,
    /// 1-based page of `limit` records, newest first.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000, default = 1)]
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
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => AuditKind::Unspecified,
            Some(text) => AuditKind::parse(text).ok_or_else(|| {
                HttpError::new(
                    ErrorCode::InvalidRequestParameter,
                    format!(
                        "kind must be one of: {}.",
                        AuditKind::ALL.map(|kind| kind.as_str()).join(", ")
                    ),
                )
            })?,
        };
        let request = ListAuditRecordsRequest {
            actor_id: id(self.actor_id, "actorId")?,
            target_id: id(self.target_id, "targetId")?,
            sessions_only: false,
            limit,
            reader_session_token: reader,
            since_unix_ms: time(self.since, "since")?,
            until_unix_ms: time(self.until, "until")?,
            offset: (page - 1).saturating_mul(limit),
            kind: kind.into(),
        };
        Ok((request, page, limit))
    }
}

async fn query(
    state: &AppState,
    reader: String,
    query: AuditQuery,
) -> Result<Json<AuditRecordList>, HttpError> {
    let (request, page, limit) = query.request(reader)?;
    let list = list(state, request).await?;
    Ok(Json(AuditRecordList {
        page: Some(page),
        limit: Some(limit),
        ..list
    }))
}

errors!(ListAuditRecordsErrors {
    InvalidUuid,
    InvalidRequestBody => "`since`/`until` not RFC 3339",
    InvalidLimit,
    InvalidPage,
    InvalidRequestParameter => "an unknown `kind`",
    Unauthorized,
    MissingPrivilege => "no `impersonation:audit`",
    ForbiddenWhileImpersonating,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/sys/audit-records",
    tag = "operator",
    operation_id = "listAuditRecords",
    summary = "Query the audit trail",
    description = "Needs `impersonation:audit`; the reader's session is verified by the session service. The answer also carries `page` and `limit`.",
    security(("operatorBearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit records, newest first.", body = AuditRecordList),
        ListAuditRecordsErrors,
    ),
)]
/// `GET /api/sys/audit-records?actorId=&targetId=&since=&until=&limit=&page=` (operators)
pub async fn records(
    State(state): State<AppState>,
    operator: OperatorSession,
    Query(audit): Query<AuditQuery>,
) -> Result<Json<AuditRecordList>, HttpError> {
    query(&state, operator.token, audit).await
}

errors!(AdminAuditRecordsErrors {
    InvalidUuid,
    InvalidRequestBody => "`since`/`until` not RFC 3339",
    InvalidLimit,
    InvalidPage,
    InvalidRequestParameter => "an unknown `kind`",
    Unauthorized,
    MissingPrivilege => "no `impersonation:audit`",
    ForbiddenWhileImpersonating,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/_action/audit-records",
    tag = "admin",
    operation_id = "adminAuditRecords",
    summary = "The audit trail (admins holding impersonation:audit)",
    description = "Needs `impersonation:audit`; the reader's session is verified by the session service. The answer also carries `page` and `limit`.",
    security(("adminBearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit records, newest first.", body = AuditRecordList),
        AdminAuditRecordsErrors,
    ),
)]
/// `GET /api/_action/audit-records?…` (admins holding `impersonation:audit`)
pub async fn records_for_admins(
    State(state): State<AppState>,
    admin: AdminSession,
    Query(audit): Query<AuditQuery>,
) -> Result<Json<AuditRecordList>, HttpError> {
    query(&state, admin.token, audit).await
}

errors!(MyImpersonationsErrors {
    Unauthorized,
    ForbiddenWhileImpersonating,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/public/account/impersonations",
    tag = "public",
    operation_id = "myImpersonations",
    summary = "Who acted as the signed-in person (their audit records)",
    security(("publicBearer" = [])),
    responses(
        (status = 200, description = "The audit records of impersonations of the signed-in person.", body = AuditRecordList),
        MyImpersonationsErrors,
    ),
)]
/// `GET /api/public/account/impersonations`: who acted as the signed-in person.
pub async fn my_impersonations(
    State(state): State<AppState>,
    session: CoworkerSession,
) -> Result<Json<AuditRecordList>, HttpError> {
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
    .map(Json)
}

/// Whether a person's team administrators may act as them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"teamAdmins": true})))]
pub struct ImpersonationConsent {
    /// Whether the person's team administrators may act as them.
    pub team_admins: bool,
}

impl FromBody for ImpersonationConsent {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        Ok(Self {
            team_admins: body
                .optional_bool("teamAdmins")?
                .ok_or_else(|| crate::extract::missing("teamAdmins"))?,
        })
    }
}

errors!(GetImpersonationConsentErrors {
    Unauthorized,
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    get,
    path = "/api/public/account/impersonation-consent",
    tag = "public",
    operation_id = "getImpersonationConsent",
    summary = "Whether my team administrators may act as me",
    security(("publicBearer" = [])),
    responses(
        (status = 200, description = "The person's choice (default: allowed).", body = ImpersonationConsent),
        GetImpersonationConsentErrors,
    ),
)]
/// `GET /api/public/account/impersonation-consent`: whether the signed-in
/// person's team administrators may act as them.
pub async fn consent(
    State(state): State<AppState>,
    session: CoworkerSession,
) -> Result<Json<ImpersonationConsent>, HttpError> {
    let consent = state
        .permission
        .clone()
        .get_team_impersonation_consent(TeamImpersonationConsent {
            person_id: session.person_id.to_string(),
            team_admins_allowed: false,
        })
        .await?
        .into_inner();
    Ok(Json(ImpersonationConsent {
        team_admins: consent.team_admins_allowed,
    }))
}

errors!(SetImpersonationConsentErrors {
    MissingParameter => "no `teamAdmins`",
    InvalidRequestBody => "not a boolean or not a JSON object",
    Unauthorized,
    ForbiddenWhileImpersonating => "the bearer is an impersonation",
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    put,
    path = "/api/public/account/impersonation-consent",
    tag = "public",
    operation_id = "setImpersonationConsent",
    summary = "Decide whether my team administrators may act as me",
    description = "The person's own session only: an impersonated session cannot change it. Operators are not affected by it.",
    security(("publicBearer" = [])),
    request_body = ImpersonationConsent,
    responses(
        (status = 200, description = "The choice now in force.", body = ImpersonationConsent),
        SetImpersonationConsentErrors,
    ),
)]
/// `PUT /api/public/account/impersonation-consent` {teamAdmins: bool}: the
/// person's own choice; never from an impersonated session (a sensitive
/// action, see [`crate::guard::SENSITIVE`]).
pub async fn set_consent(
    State(state): State<AppState>,
    session: CoworkerSession,
    Body(ImpersonationConsent { team_admins: allowed }): Body<ImpersonationConsent>,
) -> Result<Json<ImpersonationConsent>, HttpError> {
    let consent = state
        .permission
        .clone()
        .set_team_impersonation_consent(TeamImpersonationConsent {
            person_id: session.person_id.to_string(),
            team_admins_allowed: allowed,
        })
        .await?
        .into_inner();
    Ok(Json(ImpersonationConsent {
        team_admins: consent.team_admins_allowed,
    }))
}
