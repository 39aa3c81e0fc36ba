//! The live impersonations, for those who may end them: who acts as whom,
//! since when, where. A page at a time, by session id; ending one is
//! `POST …/impersonations/revoke` with its `sessionId`.

use actas_shared::{
    ErrorCode,
    ids::SessionId,
    proto::{Action, ListImpersonationsRequest},
};
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::HttpError,
    extract::{AdminSession, OperatorSession, Query, parse_id},
    names,
    openapi::{ActionName, Id, ShopwareId, errors},
    state::AppState,
    wire::simple_id,
};

/// One live impersonated session.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Impersonation {
    #[schema(value_type = Option<ShopwareId>)]
    pub session_id: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub actor_id: Option<String>,
    /// The actor's display name; null when the directory no longer knows it.
    pub actor_name: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    /// The sales channel acted in; null for a team member's impersonation.
    #[schema(value_type = Option<ShopwareId>)]
    pub sales_channel_id: Option<String>,
    /// The team of the member acted as; null for a customer's.
    pub team_name: Option<String>,
    #[schema(value_type = ActionName)]
    pub action: &'static str,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_seen_at: Option<String>,
    /// When it ends at the latest (its maximum lifetime).
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Under a read-only policy: the actor may look, nothing else.
    pub read_only: bool,
}

/// A page of live impersonations, by session id.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"impersonations": [{
    "sessionId": "018f8d3a5e0070008000000000005e01",
    "actorId": "018f8d3a5e007000800000000000f001",
    "actorName": "Ada Admin",
    "targetId": "018f8d3a5e007000800000000000c001",
    "targetName": "Carla Customer",
    "salesChannelId": "018f8d3a5e0070008000000000000e01",
    "teamName": null,
    "action": "imitate_customer",
    "startedAt": "2026-01-01T12:00:00+00:00",
    "lastSeenAt": "2026-01-01T12:03:00+00:00",
    "expiresAt": "2026-01-01T13:00:00+00:00",
    "readOnly": false,
}], "nextAfter": null})))]
pub struct ImpersonationList {
    #[schema(value_type = Vec<Impersonation>)]
    pub impersonations: Vec<Impersonation>,
    /// The `after` of the next page; null on the last.
    #[schema(value_type = Option<ShopwareId>)]
    pub next_after: Option<String>,
}

/// Which page. Read as text and parsed here: a bad value gets the error
/// envelope.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// The page after this session id (the previous page's `nextAfter`).
    #[param(value_type = Option<Id>)]
    after: Option<String>,
    /// At most this many, 1..=500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, default = 100)]
    limit: Option<String>,
}

const MAX_LIMIT: u32 = 500;

fn time(unix: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.to_rfc3339())
}

async fn list(
    state: &AppState,
    reader: String,
    query: LiveQuery,
) -> Result<Json<ImpersonationList>, HttpError> {
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(text) => parse_id::<SessionId>(text, "after")?.to_string(),
    };
    let limit = match query.limit.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                HttpError::new(
                    ErrorCode::InvalidLimit,
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}."),
                )
            })?,
    };
    let page = state
        .sessions
        .clone()
        .list_impersonations(ListImpersonationsRequest {
            reader_session_token: reader,
            after_session_id: after,
            limit,
        })
        .await?
        .into_inner();
    let people = names::principal_names(
        state,
        page.impersonations
            .iter()
            .flat_map(|live| [live.actor_id.as_str(), live.target_id.as_str()]),
    )
    .await;
    let teams = names::team_names(state, page.impersonations.iter().map(|live| live.profile_id)).await;
    let impersonations = page
        .impersonations
        .iter()
        .map(|live| Impersonation {
            session_id: simple_id(&live.session_id),
            actor_id: simple_id(&live.actor_id),
            actor_name: people.get(&live.actor_id).cloned(),
            target_id: simple_id(&live.target_id),
            target_name: people.get(&live.target_id).cloned(),
            sales_channel_id: simple_id(&live.sales_channel_id),
            team_name: teams.get(&live.profile_id).cloned(),
            action: Action::try_from(live.action).unwrap_or_default().as_str(),
            started_at: time(live.started_at_unix),
            last_seen_at: time(live.last_seen_at_unix),
            expires_at: time(live.expires_at_unix),
            read_only: live.read_only,
        })
        .collect();
    Ok(Json(ImpersonationList {
        impersonations,
        next_after: simple_id(&page.next_after_session_id),
    }))
}

errors!(AdminLiveImpersonationsErrors {
    InvalidUuid => "`after` is not a session id",
    InvalidLimit,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "no `impersonation:revoke`",
    ForbiddenWhileImpersonating,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/_action/impersonations",
    tag = "admin",
    operation_id = "listImpersonationsAsAdmin",
    summary = "The live impersonations (admins holding impersonation:revoke)",
    description = "Who acts as whom, since when, in which sales channel or team, by session id. Needs `impersonation:revoke`: whoever may end them may see them. End one with `POST /api/_action/impersonations/revoke` and its `sessionId`.",
    security(("adminBearer" = [])),
    params(LiveQuery),
    responses(
        (status = 200, description = "A page of live impersonations.", body = ImpersonationList),
        AdminLiveImpersonationsErrors,
    ),
)]
/// `GET /api/_action/impersonations?after=&limit=` (admins)
pub async fn by_admin(
    State(state): State<AppState>,
    admin: AdminSession,
    Query(query): Query<LiveQuery>,
) -> Result<Json<ImpersonationList>, HttpError> {
    list(&state, admin.token, query).await
}

errors!(OperatorLiveImpersonationsErrors {
    InvalidUuid => "`after` is not a session id",
    InvalidLimit,
    InvalidRequestParameter,
    Unauthorized,
    MissingPrivilege => "no `impersonation:revoke`",
    ForbiddenWhileImpersonating,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/sys/impersonations",
    tag = "operator",
    operation_id = "listImpersonationsAsOperator",
    summary = "The live impersonations (operators holding impersonation:revoke)",
    description = "Who acts as whom, since when, in which sales channel or team, by session id. Needs `impersonation:revoke`. End one with `POST /api/sys/impersonations/revoke` and its `sessionId`.",
    security(("operatorBearer" = [])),
    params(LiveQuery),
    responses(
        (status = 200, description = "A page of live impersonations.", body = ImpersonationList),
        OperatorLiveImpersonationsErrors,
    ),
)]
/// `GET /api/sys/impersonations?after=&limit=` (operators)
pub async fn by_operator(
    State(state): State<AppState>,
    operator: OperatorSession,
    Query(query): Query<LiveQuery>,
) -> Result<Json<ImpersonationList>, HttpError> {
    list(&state, operator.token, query).await
}
