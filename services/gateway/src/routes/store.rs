//! Store API (headless storefront clients): customer login, the
//! login-as-customer exchange, the context, logout.

use actas_shared::{
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    proto::{
        ImitateCustomerRequest, LoginRequest, LogoutRequest, SessionContext, SessionToken,
        UpdateContextRequest,
    },
};
use axum::{
    Json,
    extract::State,
    http::{HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::HttpError,
    extract::{
        BodyObject, CONTEXT_TOKEN_HEADER, Client, ContextToken, SalesChannelKey, customer_context,
        forget_context, remember_context,
    },
    guard::Intent,
};

/// Ids leave the gateway in Shopware's form; an empty id stays `null`.
pub fn simple_id(id: &str) -> Value {
    id.parse::<PrincipalId>()
        .map(|id| Value::String(id.simple()))
        .unwrap_or(Value::Null)
}

/// The JSON of a storefront context; headless clients read `imitated`.
pub fn context_json(token: &str, context: &SessionContext) -> Value {
    let payload: Value = serde_json::from_str(&context.payload_json).unwrap_or_else(|_| json!({}));
    json!({
        "apiAlias": "sales_channel_context",
        "token": token,
        "customerId": simple_id(&context.principal_id),
        "salesChannelId": simple_id(&context.sales_channel_id),
        "customer": { "id": simple_id(&context.principal_id) },
        "salesChannel": { "id": simple_id(&context.sales_channel_id) },
        "imitated": context.imitated,
        "imitatingUserId": simple_id(&context.imitating_user_id),
        "readOnly": context.read_only,
        "payload": payload,
        "expiresAt": chrono::DateTime::from_timestamp(context.expires_at_unix, 0).map(|t| t.to_rfc3339()),
    })
}

/// The new context token, in the `sw-context-token` header and the body.
fn context_token_response(issued: SessionToken) -> Result<Response, HttpError> {
    let header =
        HeaderValue::from_str(&issued.token).map_err(|_| HttpError(actas_shared::ApiError::internal()))?;
    let mut response = Json(json!({
        "contextToken": issued.token,
        "redirectUrl": null,
        "apiAlias": "array_struct",
    }))
    .into_response();
    response
        .headers_mut()
        .insert(HeaderName::from_static(CONTEXT_TOKEN_HEADER), header);
    Ok(response)
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
        })
        .await;
    // A login ends an imitation held in the previous token.
    forget_context(&state, &previous);
    context_token_response(issued?.into_inner())
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
    context_token_response(exchange(&state, &body, Some(channel), client).await?)
}

/// `GET /store-api/context`
pub async fn context(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    ContextToken(token): ContextToken,
    intent: Intent,
) -> Result<Json<Value>, HttpError> {
    let (token, context) = customer_context(&state, token, Some(channel), &intent).await?;
    Ok(Json(context_json(&token, &context)))
}

/// `PATCH /store-api/context` {languageId?, currencyId?, …}
pub async fn update_context(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    ContextToken(token): ContextToken,
    intent: Intent,
    body: BodyObject,
) -> Result<Json<Value>, HttpError> {
    let (token, _) = customer_context(&state, token, Some(channel), &intent).await?;
    let updated = state
        .sessions
        .clone()
        .update_context(UpdateContextRequest {
            token: token.clone(),
            payload_json: Value::Object(body.0).to_string(),
        })
        .await;
    forget_context(&state, &token);
    let context = updated?.into_inner();
    Ok(Json(context_json(&token, &context)))
}

/// `POST /store-api/account/logout`: ends this session only.
pub async fn logout(
    State(state): State<AppState>,
    SalesChannelKey(channel): SalesChannelKey,
    ContextToken(token): ContextToken,
    intent: Intent,
) -> Result<StatusCode, HttpError> {
    let (token, _) = customer_context(&state, token, Some(channel), &intent).await?;
    let ended = state
        .sessions
        .clone()
        .logout(LogoutRequest { token: token.clone() })
        .await;
    forget_context(&state, &token);
    ended?;
    Ok(StatusCode::NO_CONTENT)
}
