//! Store API (headless storefront clients): customer login, the
//! login-as-customer exchange, the context, logout.

use actas_shared::{
    ids::SalesChannelId,
    principal::PrincipalKind,
    proto::{
        ContextOptionKind, GetPrincipalRequest, LoginRequest, LogoutRequest, Principal, SessionContext,
        StartGuestContextRequest, UpdateContextRequest,
    },
};
use axum::{
    Json,
    extract::State,
    http::{HeaderName, HeaderValue},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::{PartialSchema as _, ToSchema};

use crate::{
    error::HttpError,
    exchange::{ImitateCustomerRequest, exchange},
    extract::{
        Body, BodyObject, CONTEXT_TOKEN_HEADER, Client, ContextToken, FromBody, SalesChannelKey,
        forget_context, not_logged_in, remember_context, store_context,
    },
    guard::Intent,
    openapi::{Id, ShopwareId, errors},
    state::{AppState, StoreChannel},
    wire::simple_id,
};

/// The context as actas holds it: ids, whose it is, who acts. The
/// directory's customer and sales channel fields are filled in; the rest of
/// Shopware's SalesChannelContext (languageInfo, itemRounding,
/// totalRounding, currency, names, addresses) is the shop's to supply in
/// front (README: what the shop in front supplies), and is not answered
/// with invented values.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "apiAlias": "sales_channel_context",
    "token": "Q2hhbmdlTWVJbURlbW9Pbmx5QmVhcmVyVG9rZW4",
    "customerId": "018f8d3a5e007000800000000000c001",
    "salesChannelId": "018f8d3a5e0070008000000000000e01",
    "customer": {
        "apiAlias": "customer",
        "id": "018f8d3a5e007000800000000000c001",
        "email": "alice@example.com",
        "active": true,
        "guest": false,
        "salesChannelId": "018f8d3a5e0070008000000000000e01",
    },
    "salesChannel": {
        "apiAlias": "sales_channel",
        "id": "018f8d3a5e0070008000000000000e01",
        "name": "Storefront EU",
        "languageId": "2fbb5fe2e29a4d70aa5854ce7ce3e20b",
        "currencyId": "b7d2554b0ce847cd82f3ac9bd1c0dfca",
        "countryId": "018f8d3a5e0070008000000000003001",
        "paymentMethodId": "018f8d3a5e0070008000000000004001",
        "shippingMethodId": "018f8d3a5e0070008000000000005001",
    },
    "imitated": true,
    "imitatingUserId": "018f8d3a5e0070008000000000000a01",
    "payload": {},
    "expiresAt": "2026-01-01T13:00:00+00:00",
    "readOnly": false,
})))]
pub struct SalesChannelContext {
    #[schema(value_type = String, pattern = "^sales_channel_context$")]
    pub api_alias: &'static str,
    pub token: String,
    #[schema(value_type = Option<ShopwareId>)]
    pub customer_id: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub sales_channel_id: Option<String>,
    /// Null for a guest context.
    pub customer: Option<ContextCustomer>,
    pub sales_channel: ContextSalesChannel,
    /// True when an admin is logged in as the customer.
    pub imitated: bool,
    /// The admin acting, or null.
    #[schema(value_type = Option<ShopwareId>)]
    pub imitating_user_id: Option<String>,
    /// An impersonation under a read-only policy: every change but ending it is refused.
    pub read_only: bool,
    /// What `PATCH /store-api/context` stored.
    #[schema(value_type = Object)]
    pub payload: Value,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// The customer of a context, as the directory holds them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextCustomer {
    #[schema(value_type = String, pattern = "^customer$")]
    pub api_alias: &'static str,
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    pub email: String,
    pub active: bool,
    pub guest: bool,
    #[schema(value_type = Option<ShopwareId>)]
    pub sales_channel_id: Option<String>,
}

/// The sales channel of a context: its name and, of each kind of context
/// option, its default (null when the directory holds none).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextSalesChannel {
    #[schema(value_type = String, pattern = "^sales_channel$")]
    pub api_alias: &'static str,
    #[schema(value_type = Option<ShopwareId>)]
    pub id: Option<String>,
    pub name: String,
    #[schema(value_type = Option<ShopwareId>)]
    pub language_id: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub currency_id: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub country_id: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub payment_method_id: Option<String>,
    #[schema(value_type = Option<ShopwareId>)]
    pub shipping_method_id: Option<String>,
}

/// The context of a storefront session; headless clients read `imitated`.
/// A guest's names no customer (`customer: null`, as Shopware's).
pub fn context_json(
    token: &str,
    context: &SessionContext,
    channel: &StoreChannel,
    customer: Option<&Principal>,
) -> SalesChannelContext {
    let payload: Value = serde_json::from_str(&context.payload_json).unwrap_or_else(|_| json!({}));
    let customer = customer
        .filter(|_| !context.guest)
        .map(|customer| ContextCustomer {
            api_alias: "customer",
            id: simple_id(&customer.id),
            email: customer.email.clone(),
            active: customer.active,
            guest: customer.guest,
            sales_channel_id: simple_id(&context.sales_channel_id),
        });
    let default = |kind| channel.default_of(kind).and_then(simple_id);
    SalesChannelContext {
        api_alias: "sales_channel_context",
        token: token.to_owned(),
        customer_id: simple_id(&context.principal_id),
        sales_channel_id: simple_id(&context.sales_channel_id),
        customer,
        sales_channel: ContextSalesChannel {
            api_alias: "sales_channel",
            id: simple_id(&context.sales_channel_id),
            name: channel.name.clone(),
            language_id: default(ContextOptionKind::Language),
            currency_id: default(ContextOptionKind::Currency),
            country_id: default(ContextOptionKind::Country),
            payment_method_id: default(ContextOptionKind::PaymentMethod),
            shipping_method_id: default(ContextOptionKind::ShippingMethod),
        },
        imitated: context.imitated,
        imitating_user_id: simple_id(&context.imitating_user_id),
        read_only: context.read_only,
        payload,
        expires_at: chrono::DateTime::from_timestamp(context.expires_at_unix, 0).map(|t| t.to_rfc3339()),
    }
}

/// Shopware's `ContextTokenResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "contextToken": "Q2hhbmdlTWVJbURlbW9Pbmx5QmVhcmVyVG9rZW4",
    "redirectUrl": null,
    "apiAlias": "array_struct",
})))]
pub struct ContextTokenResponse {
    /// Send as `sw-context-token`.
    pub context_token: String,
    /// Always null: actas redirects nowhere.
    #[schema(value_type = Option<String>)]
    pub redirect_url: Option<String>,
    #[schema(value_type = String, pattern = "^array_struct$")]
    pub api_alias: &'static str,
}

/// A customer's credentials on the Store API.
#[derive(ToSchema)]
#[schema(examples(json!({"email": "alice@example.com", "password": "alice-demo-password"})))]
pub struct StoreLoginRequest {
    /// The customer's email; `username` is taken in its place.
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

impl FromBody for StoreLoginRequest {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        let email = match body.optional_string("email")? {
            Some(email) => email,
            None => body
                .string("username")
                .map_err(|_| crate::extract::missing("email"))?,
        };
        Ok(Self {
            email,
            password: body.password("password")?,
        })
    }
}

/// The context keys a client may set (the session service checks each
/// value against what the sales channel offers).
const SETTABLE: &[&str] = &[
    "languageId",
    "currencyId",
    "countryId",
    "shippingMethodId",
    "paymentMethodId",
    "billingAddressId",
    "shippingAddressId",
];

/// Context fields to store, passed on as sent: the session service checks
/// every key and value.
pub struct ContextPatch(pub Map<String, Value>);

impl FromBody for ContextPatch {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        Ok(Self(body.0))
    }
}

impl utoipa::PartialSchema for ContextPatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        SETTABLE
            .iter()
            .fold(
                utoipa::openapi::ObjectBuilder::new().description(Some(
                    "Context fields to store: each an id the sales channel offers (`languageId`, `currencyId`, …); addresses are the shop's.",
                )),
                |object, key| object.property(*key, utoipa::openapi::Ref::from_schema_name("Id")),
            )
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)))
            .examples([json!({
                "languageId": "2fbb5fe2e29a4d70aa5854ce7ce3e20b",
                "currencyId": "b7d2554b0ce847cd82f3ac9bd1c0dfca",
            })])
            .into()
    }
}

impl ToSchema for ContextPatch {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push((Id::name().into(), Id::schema()));
    }
}

/// The customer behind a context, as the directory holds them (kept a second).
async fn customer_of(state: &AppState, context: &SessionContext) -> Result<Option<Principal>, HttpError> {
    if context.guest || context.principal_id.is_empty() {
        return Ok(None);
    }
    if let Some(customer) = state.customers.get(&context.principal_id) {
        return Ok(Some(customer));
    }
    let customer = state
        .permission
        .clone()
        .get_principal(GetPrincipalRequest {
            id: context.principal_id.clone(),
        })
        .await?
        .into_inner();
    state
        .customers
        .put(context.principal_id.clone(), customer.clone());
    Ok(Some(customer))
}

/// `response` with the context token in the `sw-context-token` header,
/// where Shopware's clients pick up a new one by themselves.
fn with_context_token(mut response: Response, token: &str) -> Result<Response, HttpError> {
    let header = HeaderValue::from_str(token).map_err(|_| HttpError(actas_shared::ApiError::internal()))?;
    response
        .headers_mut()
        .insert(HeaderName::from_static(CONTEXT_TOKEN_HEADER), header);
    Ok(response)
}

/// Shopware's `ContextTokenResponse`, the token also in the header.
fn context_token_response(token: &str) -> Result<Response, HttpError> {
    let body = Json(ContextTokenResponse {
        context_token: token.to_owned(),
        redirect_url: None,
        api_alias: "array_struct",
    });
    with_context_token(body.into_response(), token)
}

/// A new guest context on `channel` for a client that holds none (limited
/// per client address: the one write anybody may make) or that just ended
/// its session (`client` is `None`: it had a session, and must get the
/// guest its logout answers).
async fn open_guest(
    state: &AppState,
    channel: SalesChannelId,
    client: Option<&Client>,
) -> Result<(String, SessionContext), HttpError> {
    if let Some(client) = client {
        state.limits.guest(&client.ip)?;
    }
    let issued = state
        .sessions
        .clone()
        .start_guest_context(StartGuestContextRequest {
            sales_channel_id: channel.to_string(),
        })
        .await?
        .into_inner();
    let context = issued.context.unwrap_or_default();
    remember_context(state, &issued.token, &context);
    Ok((issued.token, context))
}

errors!(StoreLoginErrors {
    InvalidRequestBody,
    MissingParameter,
    InvalidAccessKey,
    CustomerBadCredentials,
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/store-api/account/login",
    tag = "store-api",
    operation_id = "storeLogin",
    summary = "Customer sign-in on a sales channel",
    description = "`username` is accepted in place of `email`. A `sw-context-token` sent along names the previous (guest) context.",
    security(("accessKey" = []), ("accessKey" = [], "contextToken" = [])),
    request_body = StoreLoginRequest,
    responses(
        (status = 200, description = "The new storefront session.", body = ContextTokenResponse, headers(("sw-context-token" = String, description = "The new context token (also in the body as `contextToken`)."))),
        StoreLoginErrors,
    ),
)]
/// `POST /store-api/account/login` {email (or username), password}
pub async fn login(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    ContextToken(previous): ContextToken,
    Body(request): Body<StoreLoginRequest>,
) -> Result<Response, HttpError> {
    let StoreLoginRequest { email, password } = request;
    let previous = previous.unwrap_or_default();
    let issued = state
        .sessions
        .clone()
        .login(LoginRequest {
            kind: PrincipalKind::Customer.to_proto().into(),
            email,
            password,
            sales_channel_id: channel.to_string(),
            previous_token: previous.clone(),
            with_profile: false,
            with_refresh_token: false,
        })
        .await;
    // A login ends an imitation or a guest context held in the previous token.
    forget_context(&state, &previous);
    context_token_response(&issued?.into_inner().token)
}

errors!(StoreImitateCustomerErrors {
    InvalidRequestBody,
    MissingParameter,
    InvalidUuid => "an id is not a UUID (32 hex digits or the dashed form)",
    InvalidImpersonationToken,
    InvalidAccessKey,
    MissingPrivilege,
    ImpersonationNotAllowed,
    CustomerInactive,
    CustomerIsGuest,
    CustomerNotInSalesChannel,
    TooManyRequests => "this client address redeemed more than `ACTAS_REDEEM_LIMIT_PER_MINUTE` tokens in a minute (per gateway replica); `Retry-After` says when to try again",
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/store-api/account/login/imitate-customer",
    tag = "store-api",
    operation_id = "storeImitateCustomer",
    summary = "Exchange a login-as-customer token for an impersonated storefront session",
    description = "The token from `POST /api/_proxy/generate-imitate-customer-token`, single use; it must name this customer, this admin (`userId`) and this sales channel. The admin's privilege is checked again. No audit record, no session (503).",
    security(("accessKey" = [])),
    request_body = ImitateCustomerRequest,
    responses(
        (status = 200, description = "The new storefront session.", body = ContextTokenResponse, headers(("sw-context-token" = String, description = "The new context token (also in the body as `contextToken`)."))),
        StoreImitateCustomerErrors,
    ),
)]
/// `POST /store-api/account/login/imitate-customer` {token, customerId, userId}
pub async fn imitate_customer(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    client: Client,
    Body(request): Body<ImitateCustomerRequest>,
) -> Result<Response, HttpError> {
    context_token_response(&exchange(&state, request, Some(channel), client).await?.token)
}

errors!(StoreContextErrors {
    InvalidAccessKey,
    Unauthorized => "an unknown, expired or ended context token, or one of another sales channel (no token at all gets a guest context)",
    TooManyRequests => "too many new guest contexts from this client address",
    Internal,
    Unavailable,
});
#[utoipa::path(
    get,
    path = "/store-api/context",
    tag = "store-api",
    operation_id = "storeContext",
    summary = "The storefront context (who is signed in, whether it is an impersonation), or a guest context",
    description = "Without `sw-context-token`, a new guest context (nobody signed in) is opened and answered, as Shopware's frontends expect at start-up; at most `ACTAS_GUEST_CONTEXT_LIMIT_PER_MINUTE` per client address. `FRAMEWORK__UNAUTHORIZED` when the token is unknown or ended, or the context belongs to another sales channel.",
    security(("accessKey" = [], "contextToken" = []), ("accessKey" = [])),
    responses(
        (status = 200, description = "The context.", body = SalesChannelContext, headers(("sw-context-token" = String, description = "The context token (a new guest's when the request had none): Shopware's clients keep it."))),
        StoreContextErrors,
    ),
)]
/// `GET /store-api/context`: the customer's or the guest's context; a
/// client that holds no token gets a new guest context (Shopware's
/// frontends ask this at start-up).
pub async fn context(
    State(state): State<AppState>,
    channel: StoreChannel,
    ContextToken(token): ContextToken,
    client: Client,
    intent: Intent,
) -> Result<Response, HttpError> {
    let (token, context) = match token {
        Some(token) => store_context(&state, Some(token), Some(channel.id), &intent).await?,
        None => open_guest(&state, channel.id, Some(&client)).await?,
    };
    let customer = customer_of(&state, &context).await?;
    let body = context_json(&token, &context, &channel, customer.as_ref());
    with_context_token(Json(body).into_response(), &token)
}

errors!(StoreUpdateContextErrors {
    InvalidRequestBody => "the body is unreadable, malformed, not a JSON object, a field has the wrong type, a key cannot be set, or an id names nothing the sales channel offers (see the README: what the shop in front supplies)",
    InvalidUuid => "a value that is not a UUID",
    InvalidAccessKey,
    Unauthorized,
    ReadOnlyImpersonation,
    TooManyRequests => "too many new guest contexts from this client address",
    Internal,
    Unavailable,
});
#[utoipa::path(
    patch,
    path = "/store-api/context",
    tag = "store-api",
    operation_id = "storeUpdateContext",
    summary = "Update the context's payload (language, currency, ...)",
    description = "Answers Shopware's `ContextTokenResponse` with the token in `sw-context-token`; without a token, a new guest context is opened and changed.",
    security(("accessKey" = [], "contextToken" = []), ("accessKey" = [])),
    request_body = ContextPatch,
    responses(
        (status = 200, description = "The context's token.", body = ContextTokenResponse, headers(("sw-context-token" = String, description = "The context token (a new guest's when the request had none): Shopware's clients keep it."))),
        StoreUpdateContextErrors,
    ),
)]
/// `PATCH /store-api/context` {languageId?, currencyId?, …}: sets the
/// customer's or the guest's choices (without a token, a new guest's);
/// answers the token as `ContextTokenResponse`.
pub async fn update_context(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    ContextToken(token): ContextToken,
    client: Client,
    intent: Intent,
    Body(ContextPatch(changes)): Body<ContextPatch>,
) -> Result<Response, HttpError> {
    let token = match token {
        Some(token) => {
            store_context(&state, Some(token), Some(channel), &intent)
                .await?
                .0
        }
        None => open_guest(&state, channel, Some(&client)).await?.0,
    };
    let updated = state
        .sessions
        .clone()
        .update_context(UpdateContextRequest {
            token: token.clone(),
            payload_json: Value::Object(changes).to_string(),
        })
        .await;
    forget_context(&state, &token);
    updated?;
    context_token_response(&token)
}

errors!(StoreLogoutErrors {
    InvalidAccessKey,
    Unauthorized,
    CustomerNotLoggedIn,
    TooManyRequests => "too many new guest contexts from this client address",
    Internal,
    Unavailable,
});
#[utoipa::path(
    post,
    path = "/store-api/account/logout",
    tag = "store-api",
    operation_id = "storeLogout",
    summary = "End this storefront session only; go on as a guest",
    description = "Answers a new guest context's token (Shopware's `ContextTokenResponse`, also in `sw-context-token`), so the client never keeps the ended one.",
    security(("accessKey" = [], "contextToken" = [])),
    responses(
        (status = 200, description = "The session is ended; the token of the new guest context.", body = ContextTokenResponse, headers(("sw-context-token" = String, description = "The context token (a new guest's when the request had none): Shopware's clients keep it."))),
        StoreLogoutErrors,
    ),
)]
/// `POST /store-api/account/logout`: ends this session only, and hands
/// the client a new guest context to go on with (Shopware's answer), so
/// it never keeps the ended token.
pub async fn logout(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    ContextToken(token): ContextToken,
    intent: Intent,
) -> Result<Response, HttpError> {
    let (token, context) = store_context(&state, token, Some(channel), &intent).await?;
    if context.guest {
        return Err(not_logged_in());
    }
    let ended = state
        .sessions
        .clone()
        .logout(LogoutRequest { token: token.clone() })
        .await;
    forget_context(&state, &token);
    ended?;
    let (guest, _) = open_guest(&state, channel, None).await?;
    context_token_response(&guest)
}
