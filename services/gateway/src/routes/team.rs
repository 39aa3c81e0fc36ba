//! A team administrator's team page: the members, their roles, and per
//! member whether "Impersonate account" is open to the administrator now.

use actas_shared::{
    ErrorCode,
    proto::{GetIssuePolicyRequest, ListTeamMembersRequest},
};
use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{error::HttpError, extract::CoworkerSession, openapi::errors, state::AppState};

/// A member's role in the team.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TeamRole {
    Member,
    Admin,
    Owner,
}

impl TeamRole {
    fn parse(role: &str) -> Option<TeamRole> {
        match role {
            "member" => Some(TeamRole::Member),
            "admin" => Some(TeamRole::Admin),
            "owner" => Some(TeamRole::Owner),
            _ => None,
        }
    }
}

/// Why impersonating a member is refused: what issuing a token would answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Denial {
    #[schema(value_type = crate::error::ErrorCodes)]
    pub code: &'static str,
    pub detail: String,
}

/// One member of the team, as its administrator sees them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TeamMember {
    /// The member's profile (coworker) id: what
    /// `GET /api/public/coworkers/{coworkerId}/impersonate` takes.
    pub id: i64,
    pub full_name: String,
    pub role: TeamRole,
    /// This profile is the caller's own person.
    pub is_you: bool,
    /// Whether the caller may impersonate this member now.
    pub can_impersonate: bool,
    /// When not, why; else null.
    pub denial: Option<Denial>,
}

/// The team of the session's profile.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(examples(json!({
    "TeamId": 1,
    "TeamName": "Acme",
    "ReasonRequired": false,
    "ReasonMaxLength": 500,
    "Members": [
        {"Id": 1001, "FullName": "Tina Teamadmin", "Role": "admin", "IsYou": true, "CanImpersonate": false,
         "Denial": {"Code": "ACTAS__IMPERSONATION_NOT_ALLOWED", "Detail": "A team administrator may only impersonate plain members of the team."}},
        {"Id": 1002, "FullName": "Max Mustermann", "Role": "member", "IsYou": false, "CanImpersonate": true, "Denial": null},
    ],
})))]
pub struct Team {
    pub team_id: i64,
    pub team_name: String,
    /// `ACTAS_REQUIRE_REASON`: every impersonation must state a reason
    /// (`X-Impersonation-Reason`).
    pub reason_required: bool,
    /// The longest reason accepted, in characters.
    pub reason_max_length: u32,
    /// By profile id.
    pub members: Vec<TeamMember>,
}

errors!(TeamErrors {
    Unauthorized,
    ForbiddenWhileImpersonating,
    ImpersonationNotAllowed => "the session's profile does not administer its team (or the session is on no profile)",
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/public/coworkers/team",
    tag = "public",
    operation_id = "listTeamMembers",
    summary = "The members of the team the session's profile administers, and whom the caller may impersonate",
    description = "For a team's admins and owner, on their own session. Each member says whether `GET /api/public/coworkers/{coworkerId}/impersonate` would be allowed now and, when not, the code and reason it would answer (another administrator, the owner, opted out, policy off).",
    security(("publicBearer" = [])),
    responses(
        (status = 200, description = "The team.", body = Team),
        TeamErrors,
    ),
)]
/// `GET /api/public/coworkers/team`
pub async fn members(
    State(state): State<AppState>,
    session: CoworkerSession,
) -> Result<Json<Team>, HttpError> {
    let mut sessions = state.sessions.clone();
    let mut policy = state.sessions.clone();
    let (roster, policy) = tokio::try_join!(
        sessions.list_team_members(ListTeamMembersRequest {
            token: session.token.clone(),
        }),
        policy.get_issue_policy(GetIssuePolicyRequest {}),
    )?;
    let (roster, policy) = (roster.into_inner(), policy.into_inner());
    let person = session.person_id.to_string();
    let members = roster
        .members
        .into_iter()
        .filter_map(|member| {
            let profile = member.profile?;
            let denial = (!member.may_impersonate).then(|| Denial {
                code: ErrorCode::parse(&member.code)
                    .unwrap_or(ErrorCode::ImpersonationNotAllowed)
                    .as_str(),
                detail: member.reason,
            });
            Some(TeamMember {
                id: profile.id,
                is_you: profile.person_id == person,
                // An unknown role is shown as the least one.
                role: TeamRole::parse(&profile.role).unwrap_or(TeamRole::Member),
                full_name: profile.full_name,
                can_impersonate: member.may_impersonate,
                denial,
            })
        })
        .collect();
    Ok(Json(Team {
        team_id: roster.team_id,
        team_name: roster.team_name,
        reason_required: policy.reason_required,
        reason_max_length: policy.reason_max_chars,
        members,
    }))
}
