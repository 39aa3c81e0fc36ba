//! Redeeming a login-as-customer token for a storefront session: the
//! exchange the Store API route and the storefront form both serve.

use actas_shared::{
    ids::{PrincipalId, SalesChannelId},
    proto::SessionToken,
};
use utoipa::ToSchema;

use crate::{
    error::HttpError,
    extract::{BodyObject, Client, FromBody, remember_context},
    openapi::Id,
    state::AppState,
};

/// The login-as-customer exchange: the one-time token, and what it is for.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", examples(json!({
    "token": "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
    "customerId": "018f8d3a5e007000800000000000c001",
    "userId": "018f8d3a5e0070008000000000000a01",
})))]
pub struct ImitateCustomerRequest {
    /// The one-time token.
    pub token: String,
    /// Optional (deprecated by Shopware 6.7): taken from the signed token
    /// when absent; when given it must match the token.
    #[schema(value_type = Option<Id>)]
    pub customer_id: Option<PrincipalId>,
    /// The admin who generated the token. Optional (deprecated by Shopware
    /// 6.7): taken from the signed token when absent; when given it must
    /// match the token.
    #[schema(value_type = Option<Id>)]
    pub user_id: Option<PrincipalId>,
}

impl FromBody for ImitateCustomerRequest {
    fn from_body(body: BodyObject) -> Result<Self, HttpError> {
        let token = body.string("token")?;
        let optional_id = |field: &str| -> Result<Option<PrincipalId>, HttpError> {
            body.optional_string(field)?
                .map(|text| crate::extract::parse_id(&text, field))
                .transpose()
        };
        Ok(Self {
            token,
            customer_id: optional_id("customerId")?,
            user_id: optional_id("userId")?,
        })
    }
}

/// The exchange shared by the Store API and the storefront form.
pub async fn exchange(
    state: &AppState,
    request: ImitateCustomerRequest,
    channel: Option<SalesChannelId>,
    client: Client,
) -> Result<SessionToken, HttpError> {
    state.limits.redeem(&client.ip)?;
    // Optional since Shopware 6.7 (taken from the signed token); given, they
    // must match it.
    let id = |id: Option<PrincipalId>| id.map(|id| id.to_string()).unwrap_or_default();
    let issued = state
        .sessions
        .clone()
        .imitate_customer(actas_shared::proto::ImitateCustomerRequest {
            token: request.token,
            customer_id: id(request.customer_id),
            user_id: id(request.user_id),
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
