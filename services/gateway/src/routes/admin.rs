//! Admin API: the OAuth password grant, the admin's own record, and the
//! login-as-customer token (Shopware's `/api/_proxy/generate-imitate-customer-token`).

use actas_shared::{
    ErrorCode,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    proto::{
        Action, GetIssuePolicyRequest, GetPrincipalRequest, IssueImpersonationTokenRequest, LoginRequest,
        RefreshSessionRequest, SearchCustomersRequest,
    },
};
use axum::{Json, extract::State, response::Response};
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{AdminSession, BodyObject, Client},
    routes::store::simple_id,
    ui::{Locale, Page},
};

/// `POST /api/oauth/token`: the password grant, and the refresh grant
/// (`grant_type=refresh_token`, as Shopware's administration and client
/// send it). Both answer a bearer and a single-use refresh token.
pub async fn oauth_token(State(state): State<AppState>, body: BodyObject) -> Result<Json<Value>, HttpError> {
    let grant_type = body.string("grant_type")?;
    let issued = match grant_type.as_str() {
        "password" => {
            let username = body.string("username")?;
            let password = body.password("password")?;
            state
                .sessions
                .clone()
                .login(LoginRequest {
                    kind: PrincipalKind::Admin.to_proto().into(),
                    email: username,
                    password,
                    sales_channel_id: String::new(),
                    previous_token: String::new(),
                    with_profile: false,
                    with_refresh_token: true,
                })
                .await?
        }
        "refresh_token" => {
            let refresh_token = body.string("refresh_token")?;
            state
                .sessions
                .clone()
                .refresh_session(RefreshSessionRequest { refresh_token })
                .await?
        }
        _ => {
            return Err(HttpError::new(
                ErrorCode::UnsupportedGrantType,
                "Only the password and refresh_token grants are supported.",
            ));
        }
    }
    .into_inner();
    let expires_in = issued
        .context
        .map(|context| context.expires_at_unix - chrono::Utc::now().timestamp())
        .unwrap_or_default()
        .max(0);
    Ok(Json(json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "access_token": issued.token,
        "refresh_token": issued.refresh_token,
    })))
}

/// `GET /api/_info/me`: the signed-in admin's own record.
pub async fn me(State(state): State<AppState>, admin: AdminSession) -> Result<Json<Value>, HttpError> {
    let mut permission = state.permission.clone();
    let mut sessions = state.sessions.clone();
    let (principal, policy) = tokio::try_join!(
        permission.get_principal(GetPrincipalRequest {
            id: admin.admin_id.to_string(),
        }),
        sessions.get_issue_policy(GetIssuePolicyRequest {}),
    )?;
    let (principal, policy) = (principal.into_inner(), policy.into_inner());
    Ok(Json(json!({
        "data": {
            "id": admin.admin_id.simple(),
            "email": principal.email,
            "username": principal.email,
            "name": principal.display_name,
            "active": principal.active,
            "privileges": principal.privileges,
            // What starting an impersonation needs, so pages ask for it up front.
            "impersonationPolicy": {
                "reasonRequired": policy.reason_required,
                "reasonMaxLength": policy.reason_max_chars,
            },
        }
    })))
}

/// `POST /api/_proxy/generate-imitate-customer-token` {customerId, salesChannelId, reason?}
pub async fn generate_imitate_customer_token(
    State(state): State<AppState>,
    admin: AdminSession,
    client: Client,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    state.limits.issue(&admin.admin_id.to_string())?;
    let customer: PrincipalId = body.id("customerId")?;
    let sales_channel: SalesChannelId = body.id("salesChannelId")?;
    let reason = body.reason()?;
    let issued = state
        .sessions
        .clone()
        .issue_impersonation_token(IssueImpersonationTokenRequest {
            actor_session_token: admin.token,
            target_id: customer.to_string(),
            sales_channel_id: sales_channel.to_string(),
            reason,
            action: Action::ImitateCustomer.into(),
            target_profile_id: 0,
            client_ip: client.ip,
            user_agent: client.user_agent,
        })
        .await?
        .into_inner();
    Ok(Json(json!({ "token": issued.token })))
}

/// Search results a page holds unless the request asks for fewer.
const DEFAULT_SEARCH_LIMIT: i64 = 25;

/// `POST /api/search/customer` {term?, page?, limit?}: customers by email
/// or name, with the sales channels each is bound to and their storefront
/// domains (what the admin page needs to offer "Log in as customer").
pub async fn search_customers(
    State(state): State<AppState>,
    admin: AdminSession,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    let term = body.text_or_empty("term")?;
    let page = body.optional_integer("page")?.unwrap_or(1);
    let limit = body.optional_integer("limit")?.unwrap_or(DEFAULT_SEARCH_LIMIT);
    let found = state
        .permission
        .clone()
        .search_customers(SearchCustomersRequest {
            actor_id: admin.admin_id.to_string(),
            term,
            page,
            limit,
        })
        .await?
        .into_inner();
    let channel = |id: &String| {
        let channel = found.sales_channels.iter().find(|channel| channel.id == *id);
        json!({
            "id": simple_id(id),
            "name": channel.map(|c| c.name.clone()),
            // One storefront is enough to land on; the first, in URL order.
            "domain": channel.and_then(|c| c.domain_urls.first().cloned()),
        })
    };
    let data: Vec<Value> = found
        .customers
        .iter()
        .map(|customer| {
            json!({
                "id": simple_id(&customer.id),
                "email": customer.email,
                "name": customer.display_name,
                "active": customer.active,
                "guest": customer.guest,
                "salesChannels": customer.sales_channel_ids.iter().map(channel).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({
        "total": found.total,
        "page": page,
        "limit": limit,
        "data": data,
    })))
}

/// `GET /admin`: the administration page (sign in, find a customer, log in
/// as them). Its script talks to the admin API above with the bearer kept
/// in memory only.
pub async fn page(locale: Locale) -> Response {
    Page {
        template: "admin.html",
        title_key: "admin.title",
        context: minijinja::context! {
            snippets_json => crate::ui::snippets(locale.lang).script_json(),
        },
    }
    .render(locale)
}
