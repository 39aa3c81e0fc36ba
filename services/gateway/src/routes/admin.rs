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
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{AdminSession, Body, BodyObject, Client, FromBody},
    openapi::{Id, ShopwareId, errors},
    state::AppState,
    ui::Locale,
    wire::{OneTimeToken, SearchRequest, simple_id},
};

/// The grants `POST /api/oauth/token` takes.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum GrantType {
    Password,
    RefreshToken,
}

/// The password grant needs `username` and `password`; the refresh grant needs `refresh_token`.
#[derive(ToSchema)]
#[schema(examples(json!({
    "grant_type": "password",
    "client_id": "administration",
    "username": "admin@example.com",
    "password": "admin-demo-password",
})))]
pub struct OAuthTokenRequest {
    #[schema(inline)]
    pub grant_type: GrantType,
    /// Accepted and ignored.
    #[schema(examples("administration"))]
    pub client_id: Option<String>,
    /// The admin's email.
    #[schema(examples("admin@example.com"))]
    pub username: Option<String>,
    #[schema(format = Password)]
    pub password: Option<String>,
    /// The refresh token of the latest answer (single use).
    pub refresh_token: Option<String>,
}

impl FromBody for OAuthTokenRequest {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        let grant_type = match body.string("grant_type")?.as_str() {
            "password" => GrantType::Password,
            "refresh_token" => GrantType::RefreshToken,
            _ => {
                return Err(HttpError::new(
                    ErrorCode::UnsupportedGrantType,
                    "Only the password and refresh_token grants are supported.",
                ));
            }
        };
        // Each grant reads only its own fields, and needs them.
        let (username, password, refresh_token) = match grant_type {
            GrantType::Password => (
                Some(body.string("username")?),
                Some(body.password("password")?),
                None,
            ),
            GrantType::RefreshToken => (None, None, Some(body.string("refresh_token")?)),
        };
        Ok(Self {
            grant_type,
            client_id: None,
            username,
            password,
            refresh_token,
        })
    }
}

/// An admin bearer and its refresh token (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "token_type": "Bearer",
    "expires_in": 3600,
    "access_token": "Q2hhbmdlTWVJbURlbW9Pbmx5QmVhcmVyVG9rZW4",
    "refresh_token": "UmVmcmVzaFRva2VuRXhhbXBsZU9ubHlPbmNl",
})))]
pub struct OAuthToken {
    #[schema(value_type = String, pattern = "^Bearer$")]
    pub token_type: &'static str,
    /// Seconds until the bearer expires.
    #[schema(minimum = 0)]
    pub expires_in: i64,
    /// Use as `Authorization: Bearer …` (scheme `adminBearer`).
    pub access_token: String,
    /// Single use: `grant_type=refresh_token` answers a new bearer and a new
    /// refresh token for the same session, and the old ones stop working.
    /// It ends with the session.
    pub refresh_token: String,
}

errors!(AdminOauthTokenErrors {
    InvalidRequestBody,
    MissingParameter,
    UnsupportedGrantType,
    AdminBadCredentials,
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/api/oauth/token",
    tag = "admin",
    operation_id = "adminOauthToken",
    summary = "Admin sign-in and refresh (OAuth 2.0 password and refresh_token grants)",
    description = "`grant_type=password` signs in; `grant_type=refresh_token` rotates the bearer and the refresh token of the same session (single use; an ended, expired or impersonated session refreshes nothing). A session is refreshed up to `ACTAS_ADMIN_SESSION_MAX_SECS` after its sign-in. Failures answer 400 as RFC 6749 §5.2 asks (not 401).",
    security(()),
    request_body = OAuthTokenRequest,
    responses(
        (status = 200, description = "An admin bearer token and its refresh token.", body = OAuthToken),
        AdminOauthTokenErrors,
    ),
)]
/// `POST /api/oauth/token`: the password grant, and the refresh grant
/// (`grant_type=refresh_token`, as Shopware's administration and client
/// send it). Both answer a bearer and a single-use refresh token.
pub async fn oauth_token(
    State(state): State<AppState>,
    Body(request): Body<OAuthTokenRequest>,
) -> Result<Json<OAuthToken>, HttpError> {
    let issued = match request.grant_type {
        GrantType::Password => {
            state
                .sessions
                .clone()
                .login(LoginRequest {
                    kind: PrincipalKind::Admin.to_proto().into(),
                    email: request.username.unwrap_or_default(),
                    password: request.password.unwrap_or_default(),
                    sales_channel_id: String::new(),
                    previous_token: String::new(),
                    with_profile: false,
                    with_refresh_token: true,
                })
                .await?
        }
        GrantType::RefreshToken => {
            state
                .sessions
                .clone()
                .refresh_session(RefreshSessionRequest {
                    refresh_token: request.refresh_token.unwrap_or_default(),
                })
                .await?
        }
    }
    .into_inner();
    let expires_in = issued
        .context
        .map(|context| context.expires_at_unix - chrono::Utc::now().timestamp())
        .unwrap_or_default()
        .max(0);
    Ok(Json(OAuthToken {
        token_type: "Bearer",
        expires_in,
        access_token: issued.token,
        refresh_token: issued.refresh_token,
    }))
}

/// The signed-in admin, as Shopware's `/api/_info/me` answers it.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"data": {
    "id": "018f8d3a5e0070008000000000000a01",
    "email": "admin@example.com",
    "username": "admin@example.com",
    "name": "Demo Admin",
    "active": true,
    "privileges": ["api_proxy_login-as-customer"],
    "impersonationPolicy": {"reasonRequired": false, "reasonMaxLength": 500},
}})))]
pub struct AdminMe {
    pub data: AdminRecord,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminRecord {
    #[schema(value_type = ShopwareId)]
    pub id: String,
    #[schema(format = Email)]
    pub email: String,
    /// The email, as Shopware.
    pub username: String,
    pub name: String,
    pub active: bool,
    pub privileges: Vec<String>,
    pub impersonation_policy: IssuePolicy,
}

/// What starting an impersonation needs (the token issuer's policy).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuePolicy {
    /// `ACTAS_REQUIRE_REASON`: every start must state a reason.
    pub reason_required: bool,
    /// The longest reason accepted, in characters.
    pub reason_max_length: u32,
}

errors!(AdminMeErrors {
    Unauthorized,
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/api/_info/me",
    tag = "admin",
    operation_id = "adminMe",
    summary = "The signed-in admin's own record",
    security(("adminBearer" = [])),
    responses(
        (status = 200, description = "The admin.", body = AdminMe),
        AdminMeErrors,
    ),
)]
/// `GET /api/_info/me`: the signed-in admin's own record.
pub async fn me(State(state): State<AppState>, admin: AdminSession) -> Result<Json<AdminMe>, HttpError> {
    let mut permission = state.permission.clone();
    let mut sessions = state.sessions.clone();
    let (principal, policy) = tokio::try_join!(
        permission.get_principal(GetPrincipalRequest {
            id: admin.admin_id.to_string(),
        }),
        sessions.get_issue_policy(GetIssuePolicyRequest {}),
    )?;
    let (principal, policy) = (principal.into_inner(), policy.into_inner());
    Ok(Json(AdminMe {
        data: AdminRecord {
            id: admin.admin_id.simple(),
            username: principal.email.clone(),
            email: principal.email,
            name: principal.display_name,
            active: principal.active,
            privileges: principal.privileges,
            // What starting an impersonation needs, so pages ask for it up front.
            impersonation_policy: IssuePolicy {
                reason_required: policy.reason_required,
                reason_max_length: policy.reason_max_chars,
            },
        },
    }))
}

/// The customer to log in as, and where.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", examples(json!({
    "customerId": "018f8d3a5e007000800000000000c001",
    "salesChannelId": "018f8d3a5e0070008000000000000e01",
    "reason": "Ticket 4711: checkout fails",
})))]
pub struct GenerateImitateCustomerTokenRequest {
    #[schema(value_type = Id)]
    pub customer_id: PrincipalId,
    #[schema(value_type = Id)]
    pub sales_channel_id: SalesChannelId,
    /// Why (free text or a ticket reference; at most 500 characters, no
    /// control characters); required when `ACTAS_REQUIRE_REASON` is on.
    /// Kept in the audit record.
    #[schema(value_type = Option<String>)]
    pub reason: String,
}

impl FromBody for GenerateImitateCustomerTokenRequest {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        Ok(Self {
            customer_id: body.id("customerId")?,
            sales_channel_id: body.id("salesChannelId")?,
            reason: body.reason()?,
        })
    }
}

errors!(GenerateImitateCustomerTokenErrors {
    InvalidRequestBody,
    MissingParameter,
    InvalidUuid => "an id is not a UUID (32 hex digits or the dashed form)",
    ReasonRequired => "`reason` missing or blank while `ACTAS_REQUIRE_REASON` is on",
    InvalidReason => "longer than 500 characters or with control characters",
    Unauthorized,
    MissingPrivilege,
    CustomerInactive,
    CustomerIsGuest,
    CustomerNotInSalesChannel,
    ImpersonationNotAllowed,
    ImpersonationChain,
    ImpersonationDisabled,
    CustomerNotFound => "no such customer (or principal / profile)",
    SalesChannelNotFound,
    TooManyRequests,
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/api/_proxy/generate-imitate-customer-token",
    tag = "admin",
    operation_id = "generateImitateCustomerToken",
    summary = "Generate a login-as-customer token",
    description = "Shopware's `/api/_proxy/generate-imitate-customer-token`. The admin needs the privilege `api_proxy_login-as-customer`; the token is exchanged at `POST /store-api/account/login/imitate-customer` or `POST /account/login/imitate-customer`.",
    security(("adminBearer" = [])),
    request_body = GenerateImitateCustomerTokenRequest,
    responses(
        (status = 200, description = "A one-time impersonation token (a signed JWT; single use, lives `ACTAS_TOKEN_TTL_SECS`, 120 s by default).", body = OneTimeToken),
        GenerateImitateCustomerTokenErrors,
    ),
)]
/// `POST /api/_proxy/generate-imitate-customer-token` {customerId, salesChannelId, reason?}
pub async fn generate_imitate_customer_token(
    State(state): State<AppState>,
    admin: AdminSession,
    client: Client,
    Body(request): Body<GenerateImitateCustomerTokenRequest>,
) -> Result<Json<OneTimeToken>, HttpError> {
    state.limits.issue(&admin.admin_id.to_string())?;
    let GenerateImitateCustomerTokenRequest {
        customer_id: customer,
        sales_channel_id: sales_channel,
        reason,
    } = request;
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
    Ok(Json(OneTimeToken { token: issued.token }))
}

/// One page of customers.
#[derive(Serialize, ToSchema)]
pub struct CustomerSearchResult {
    /// Matches on all pages.
    pub total: i64,
    pub page: i64,
    pub limit: i64,
    pub data: Vec<FoundCustomer>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FoundCustomer {
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    #[schema(format = Email)]
    pub email: String,
    pub name: String,
    pub active: bool,
    pub guest: bool,
    /// The sales channels the customer is bound to.
    pub sales_channels: Vec<CustomerSalesChannel>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerSalesChannel {
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    pub name: Option<String>,
    /// A storefront URL of the channel (`null`: none, so no login as customer there).
    pub domain: Option<String>,
}

errors!(SearchCustomersErrors {
    InvalidRequestBody => "the body is not a JSON object or a field has the wrong type",
    InvalidPage => "page below 1",
    InvalidLimit => "limit outside 1..=100",
    Unauthorized,
    MissingPrivilege => "the admin lacks `customer:read` (listed in `meta.missingPrivileges`)",
    Unavailable => "a downstream service or its database is unavailable",
});
#[utoipa::path(
    post,
    path = "/api/search/customer",
    tag = "admin",
    operation_id = "searchCustomers",
    summary = "Search customers",
    description = "Customers whose email or name contains the term, ordered by name, a page at a time, with their sales channels and storefront domains (what the admin page needs to offer \"Log in as customer\"). The admin needs the privilege `customer:read`.",
    security(("adminBearer" = [])),
    request_body = SearchRequest,
    responses(
        (status = 200, description = "One page of customers.", body = CustomerSearchResult),
        SearchCustomersErrors,
    ),
)]
/// `POST /api/search/customer` {term?, page?, limit?}: customers by email
/// or name, with the sales channels each is bound to and their storefront
/// domains (what the admin page needs to offer "Log in as customer").
pub async fn search_customers(
    State(state): State<AppState>,
    admin: AdminSession,
    Body(request): Body<SearchRequest>,
) -> Result<Json<CustomerSearchResult>, HttpError> {
    let SearchRequest { term, page, limit } = request;
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
        CustomerSalesChannel {
            id: simple_id(id),
            name: channel.map(|c| c.name.clone()),
            // One storefront is enough to land on; the first, in URL order.
            domain: channel.and_then(|c| c.domain_urls.first().cloned()),
        }
    };
    let data = found
        .customers
        .iter()
        .map(|customer| FoundCustomer {
            id: simple_id(&customer.id),
            email: customer.email.clone(),
            name: customer.display_name.clone(),
            active: customer.active,
            guest: customer.guest,
            sales_channels: customer.sales_channel_ids.iter().map(channel).collect(),
        })
        .collect();
    Ok(Json(CustomerSearchResult {
        total: found.total,
        page,
        limit,
        data,
    }))
}

#[utoipa::path(
    get,
    path = "/admin",
    tag = "pages",
    operation_id = "adminPage",
    summary = "The administration page (HTML)",
    description = "Sign in, search customers, and \"Log in as customer\". Texts in en-GB or de-DE (`?lang=`, then the `actas-lang` cookie, then `Accept-Language`). The page's script keeps the bearer in memory only.",
    security(()),
    params(
        ("lang" = Option<crate::ui::Lang>, Query, description = "`en-GB` or `de-DE`; remembered in the `actas-lang` cookie.")
    ),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
    ),
)]
/// `GET /admin`: the administration page (sign in, find a customer, log in
/// as them). Its script talks to the admin API above with the bearer kept
/// in memory only.
pub async fn page(locale: Locale) -> Response {
    crate::ui::scripted_page("admin.html", "admin.title", locale)
}
