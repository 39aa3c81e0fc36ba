//! The answer of every public sign-in (a customer's or coworker's, an
//! operator's, an exchanged impersonation): the bearer, its expiry, the
//! active profile, and who is acting; and the credentials they sign in with.

use actas_shared::{
    principal::PrincipalKind,
    proto::{GetPrincipalRequest, GetProfileRequest, SessionToken},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{BodyObject, FromBody},
    openapi::ShopwareId,
    state::AppState,
    wire::simple_id,
};

/// A person's (or operator's) credentials.
#[derive(ToSchema)]
#[schema(examples(json!({"email": "tina@example.com", "password": "tina-demo-password"})))]
pub struct EmailPasswordRequest {
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

impl FromBody for EmailPasswordRequest {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        Ok(Self {
            email: body.string("email")?,
            password: body.password("password")?,
        })
    }
}

/// A profile (coworker): one person's membership of one team.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Profile {
    /// The profile (coworker) id.
    #[schema(examples(1002))]
    pub id: i64,
    pub full_name: String,
    pub team_name: String,
}

/// What kind of principal someone is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = PrincipalKind)]
pub enum Kind {
    Admin,
    Customer,
    Operator,
    Unknown,
}

/// Who is acting, in an impersonated session.
#[derive(Serialize, ToSchema)]
pub struct Acting {
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    pub name: String,
    pub kind: Kind,
}

/// A public (or operator) session.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "access_token": "Q2hhbmdlTWVJbURlbW9Pbmx5QmVhcmVyVG9rZW4",
    "token_type": "Bearer",
    "expires_in": 3600,
    "expires_at": "2026-01-01T13:00:00+00:00",
    "started_at": "2026-01-01T12:00:00+00:00",
    "user_id": "018f8d3a5e007000800000000000c006",
    "user_kind": "customer",
    "profile": {"Id": 1002, "FullName": "Max Mustermann", "TeamName": "Acme"},
    "impersonated": true,
    "acting": {"id": "018f8d3a5e007000800000000000c005", "name": "Tina Teamadmin", "kind": "customer"},
})))]
pub struct PublicSession {
    /// Use as `Authorization: Bearer …` (`publicBearer` for customers,
    /// `operatorBearer` for operators).
    pub access_token: String,
    #[schema(value_type = String, pattern = "^Bearer$")]
    pub token_type: &'static str,
    /// Seconds until the session expires.
    #[schema(minimum = 0)]
    pub expires_in: i64,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// When the session started (for an impersonation: since when someone
    /// acts as its principal); RFC 3339.
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub user_id: Option<String>,
    pub user_kind: Kind,
    /// The active profile, or null.
    pub profile: Option<Profile>,
    pub impersonated: bool,
    /// Who is acting when impersonated, else null.
    pub acting: Option<Acting>,
}

/// The session answer of every public sign-in: the bearer, its expiry, the
/// active profile, and who is acting when it is an impersonation.
pub async fn session_json(state: &AppState, issued: SessionToken) -> Result<PublicSession, HttpError> {
    let context = issued.context.unwrap_or_default();
    let mut permission = state.permission.clone();
    let profile = if context.profile_id > 0 {
        let profile = permission
            .get_profile(GetProfileRequest {
                id: context.profile_id,
            })
            .await?
            .into_inner();
        Some(Profile {
            id: profile.id,
            full_name: profile.full_name,
            team_name: profile.team_name,
        })
    } else {
        None
    };
    let acting = if context.imitated {
        let actor = permission
            .get_principal(GetPrincipalRequest {
                id: context.imitating_user_id.clone(),
            })
            .await?
            .into_inner();
        Some(Acting {
            id: simple_id(&actor.id),
            name: actor.display_name,
            kind: Kind::of(actor.kind),
        })
    } else {
        None
    };
    Ok(PublicSession {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: (context.expires_at_unix - chrono::Utc::now().timestamp()).max(0),
        expires_at: chrono::DateTime::from_timestamp(context.expires_at_unix, 0).map(|t| t.to_rfc3339()),
        started_at: chrono::DateTime::from_timestamp(context.created_at_unix, 0).map(|t| t.to_rfc3339()),
        user_id: simple_id(&context.principal_id),
        user_kind: Kind::of(context.principal_kind),
        profile,
        impersonated: context.imitated,
        acting,
    })
}

impl Kind {
    /// The kind of a principal as the proto carries it.
    pub fn of(kind: i32) -> Self {
        match PrincipalKind::from_proto(kind) {
            Some(PrincipalKind::Admin) => Kind::Admin,
            Some(PrincipalKind::Customer) => Kind::Customer,
            Some(PrincipalKind::Operator) => Kind::Operator,
            None => Kind::Unknown,
        }
    }
}
