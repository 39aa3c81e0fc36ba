//! Store API (headless storefront clients): customer login, the
//! login-as-customer exchange, the context, logout.

use actas_shared::{
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    proto::{
        ContextOptionKind, GetPrincipalRequest, ImitateCustomerRequest, LoginRequest, LogoutRequest,
        Principal, SessionContext, SessionToken, StartGuestContextRequest, UpdateContextRequest,
    },
};
use axum::{
    Json,
    extract::State,
    http::{HeaderName, HeaderValue},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{
        BodyObject, CONTEXT_TOKEN_HEADER, Client, ContextToken, SalesChannelKey, StoreChannel,
        forget_context, not_logged_in, remember_context, store_context,
    },
    guard::Intent,
};

/// Ids leave the gateway in Shopware's form; an empty id stays `null`.
pub fn simple_id(id: &str) -> Value {
    id.parse::<PrincipalId>()
        .map(|id| Value::String(id.simple()))
        .unwrap_or(Value::Null)
}

/// The JSON of a storefront context; headless clients read `imitated`. A
/// guest's names no customer (`customer: null`, as Shopware's). What the
/// directory holds of the customer and the sales channel is filled in;
/// the rest of Shopware's context (names, rounding, language details) is
/// the shop's, and is not answered with invented values.
pub fn context_json(
    token: &str,
    context: &SessionContext,
    channel: &StoreChannel,
    customer: Option<&Principal>,
) -> Value {
    let payload: Value = serde_json::from_str(&context.payload_json).unwrap_or_else(|_| json!({}));
    let customer = match customer {
        Some(customer) if !context.guest => json!({
            "apiAlias": "customer",
            "id": simple_id(&customer.id),
            "email": customer.email,
            "active": customer.active,
            "guest": customer.guest,
            "salesChannelId": simple_id(&context.sales_channel_id),
        }),
        _ => Value::Null,
    };
    let default = |kind| channel.default_of(kind).map_or(Value::Null, simple_id);
    json!({
        "apiAlias": "sales_channel_context",
        "token": token,
        "customerId": simple_id(&context.principal_id),
        "salesChannelId": simple_id(&context.sales_channel_id),
        "customer": customer,
        "salesChannel": {
            "apiAlias": "sales_channel",
            "id": simple_id(&context.sales_channel_id),
            "name": channel.name,
            "languageId": default(ContextOptionKind::Language),
            "currencyId": default(ContextOptionKind::Currency),
            "countryId": default(ContextOptionKind::Country),
            "paymentMethodId": default(ContextOptionKind::PaymentMethod),
            "shippingMethodId": default(ContextOptionKind::ShippingMethod),
        },
        "imitated": context.imitated,
        "imitatingUserId": simple_id(&context.imitating_user_id),
        "readOnly": context.read_only,
        "payload": payload,
        "expiresAt": chrono::DateTime::from_timestamp(context.expires_at_unix, 0).map(|t| t.to_rfc3339()),
    })
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
    let body = Json(json!({
        "contextToken": token,
        "redirectUrl": null,
        "apiAlias": "array_struct",
    }));
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

/// `POST /store-api/account/login` {email (or username), password}
pub async fn login(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    ContextToken(previous): ContextToken,
    body: BodyObject,
) -> Result<Response, HttpError> {
    let email = match body.optional_string("email")? {
        Some(email) => email,
        None => body
            .string("username")
            .map_err(|_| crate::extract::missing("email"))?,
    };
    let password = body.password("password")?;
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

/// The exchange shared by the Store API and the storefront form.
pub async fn exchange(
    state: &AppState,
    body: &BodyObject,
    channel: Option<SalesChannelId>,
    client: Client,
) -> Result<SessionToken, HttpError> {
    state.limits.redeem(&client.ip)?;
    let token = body.string("token")?;
    // Optional since Shopware 6.7 (taken from the signed token); given, they
    // must match it.
    let optional_id = |field: &str| -> Result<String, HttpError> {
        match body.optional_string(field)? {
            Some(text) => Ok(crate::extract::parse_id::<PrincipalId>(&text, field)?.to_string()),
            None => Ok(String::new()),
        }
    };
    let customer = optional_id("customerId")?;
    let user = optional_id("userId")?;
    let issued = state
        .sessions
        .clone()
        .imitate_customer(ImitateCustomerRequest {
            token,
            customer_id: customer,
            user_id: user,
            sales_channel_id: channel.map(|c| c.to_string()).unwrap_or_default(),
            client_ip: client.ip,
            user_agent: client.user_agent,
        })
        .await?
        .into_inner();
    if let Some(context) = &issued.context {
        remember_context(state, &issued.token, context);
    }
    Ok(issued)
}

/// `POST /store-api/account/login/imitate-customer` {token, customerId, userId}
pub async fn imitate_customer(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    client: Client,
    body: BodyObject,
) -> Result<Response, HttpError> {
    context_token_response(&exchange(&state, &body, Some(channel), client).await?.token)
}

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

/// `PATCH /store-api/context` {languageId?, currencyId?, …}: sets the
/// customer's or the guest's choices (without a token, a new guest's);
/// answers the token as `ContextTokenResponse`.
pub async fn update_context(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    ContextToken(token): ContextToken,
    client: Client,
    intent: Intent,
    body: BodyObject,
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
            payload_json: Value::Object(body.0).to_string(),
        })
        .await;
    forget_context(&state, &token);
    updated?;
    context_token_response(&token)
}

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
