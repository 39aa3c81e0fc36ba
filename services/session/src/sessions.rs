//! The session service's domain: logins, the exchange of a one-time token
//! for an impersonated session, contexts, logout, and the audit trail.

use std::{sync::Arc, time::Duration};

use actas_shared::{
    ApiError,
    db::now_millis,
    ids::{AuditRecordId, PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
    proto::{
        self, permission_service_client::PermissionServiceClient, token_issuer_client::TokenIssuerClient,
    },
    secret::{hash_token, random_token},
};
use async_trait::async_trait;
use serde_json::{Map, Value};
use tonic::transport::Channel;

use crate::{
    error::Error,
    model::{AuditFilter, AuditKind, AuditRecord, Session},
    store::SessionStore,
};

/// The context keys a client may set; each holds a UUID (Shopware's names).
const PAYLOAD_KEYS: &[&str] = &[
    "languageId",
    "currencyId",
    "countryId",
    "shippingMethodId",
    "paymentMethodId",
    "billingAddressId",
    "shippingAddressId",
];

/// What the session service does; the gRPC adapter and tests call this.
#[async_trait]
pub trait Sessions: Send + Sync + 'static {
    async fn login(&self, request: Login) -> Result<Issued, Error>;
    async fn imitate_customer(&self, request: ImitateCustomer) -> Result<Issued, Error>;
    async fn context(&self, token: &str) -> Result<Session, Error>;
    async fn update_context(&self, token: &str, changes: Map<String, Value>) -> Result<Session, Error>;
    async fn logout(&self, token: &str) -> Result<(), Error>;
    async fn audit_records(&self, filter: AuditFilter) -> Result<Vec<AuditRecord>, Error>;
}

#[derive(Debug)]
pub struct Login {
    pub kind: PrincipalKind,
    pub email: String,
    pub password: String,
    pub sales_channel: Option<SalesChannelId>,
    pub previous_token: Option<String>,
}

#[derive(Debug)]
pub struct ImitateCustomer {
    pub token: String,
    pub customer: PrincipalId,
    pub user: PrincipalId,
    /// `None`: the sales channel the token was issued for.
    pub sales_channel: Option<SalesChannelId>,
    pub client_ip: String,
    pub user_agent: String,
}

/// A new session and the token its client holds (shown once, stored hashed).
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub session: Session,
}

#[derive(Clone, Debug)]
pub struct Lifetimes {
    pub admin: Duration,
    pub customer: Duration,
    /// Hard maximum of an impersonated session; nothing extends it.
    pub impersonation: Duration,
}

/// [`Sessions`] over a [`SessionStore`], asking the permission service and
/// the token issuer.
pub struct SessionManager {
    store: Arc<dyn SessionStore>,
    permission: PermissionServiceClient<Channel>,
    tokens: TokenIssuerClient<Channel>,
    lifetimes: Lifetimes,
}

impl SessionManager {
    pub fn new(
        store: Arc<dyn SessionStore>,
        permission: PermissionServiceClient<Channel>,
        tokens: TokenIssuerClient<Channel>,
        lifetimes: Lifetimes,
    ) -> Self {
        Self {
            store,
            permission,
            tokens,
            lifetimes,
        }
    }

    async fn live_session(&self, token: &str) -> Result<Session, Error> {
        if token.is_empty() {
            return Err(Error::Unauthorized);
        }
        self.store
            .by_token_hash(&hash_token(token))
            .await?
            .filter(|session| session.is_live(now_millis()))
            .ok_or(Error::Unauthorized)
    }

    /// Ends `session`; an impersonated one leaves an audit record.
    async fn end(&self, session: &Session, reason: &str) -> Result<(), Error> {
        let now = now_millis();
        let record = session.imitating_user_id.map(|actor| AuditRecord {
            id: AuditRecordId::new_random(),
            kind: AuditKind::ImpersonationEnded.as_str().to_owned(),
            actor_id: actor,
            target_id: session.principal_id,
            audience: session
                .sales_channel_id
                .map(|c| c.to_string())
                .unwrap_or_default(),
            session_id: Some(session.id),
            reason: reason.to_owned(),
            client_ip: String::new(),
            user_agent: String::new(),
            occurred_at: now,
        });
        self.store.end(session.id, reason, now, record.as_ref()).await?;
        Ok(())
    }
}

fn lifetime_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl Sessions for SessionManager {
    #[tracing::instrument(skip_all, fields(kind = %request.kind))]
    async fn login(&self, request: Login) -> Result<Issued, Error> {
        let principal = self
            .permission
            .clone()
            .authenticate(proto::AuthenticateRequest {
                kind: request.kind.to_proto().into(),
                email: request.email,
                password: request.password,
                sales_channel_id: request.sales_channel.map(|c| c.to_string()).unwrap_or_default(),
            })
            .await?
            .into_inner()
            .principal
            .ok_or_else(|| Error::Upstream(ApiError::internal()))?;
        let principal_id: PrincipalId = principal
            .id
            .parse()
            .map_err(|_| Error::Upstream(ApiError::internal()))?;

        // The context the client held is replaced: an imitation in it ends.
        if let Some(previous) = request.previous_token.filter(|t| !t.is_empty())
            && let Ok(previous) = self.live_session(&previous).await
        {
            self.end(&previous, "replaced by login").await?;
        }
        // Restore the customer's latest context payload, never its mark: the
        // new session is the customer's own, whoever wrote the payload.
        let payload = self
            .store
            .latest_payload(principal_id, request.sales_channel)
            .await?
            .unwrap_or_else(|| "{}".to_owned());
        let lifetime = match request.kind {
            PrincipalKind::Customer => self.lifetimes.customer,
            PrincipalKind::Admin | PrincipalKind::Operator => self.lifetimes.admin,
        };
        let token = random_token();
        let now = now_millis();
        let session = Session {
            id: SessionId::new_random(),
            token_hash: hash_token(&token),
            principal_id,
            principal_kind: request.kind,
            sales_channel_id: request.sales_channel,
            imitating_user_id: None,
            payload,
            created_at: now,
            expires_at: now.saturating_add(lifetime_ms(lifetime)),
            ended_at: None,
        };
        self.store.insert(&session).await?;
        tracing::info!(session = %session.id, principal = %principal_id, "logged in");
        Ok(Issued { token, session })
    }

    #[tracing::instrument(skip_all, fields(customer = %request.customer, user = %request.user))]
    async fn imitate_customer(&self, request: ImitateCustomer) -> Result<Issued, Error> {
        if request.token.is_empty() {
            return Err(Error::Missing { field: "token" });
        }
        let grant = self
            .tokens
            .clone()
            .redeem_impersonation_token(proto::RedeemRequest {
                token: request.token,
                expected_target_id: request.customer.to_string(),
                expected_actor_id: request.user.to_string(),
                expected_audience: request.sales_channel.map(|c| c.to_string()).unwrap_or_default(),
            })
            .await?
            .into_inner();
        let sales_channel: SalesChannelId = grant.audience.parse().map_err(|_| Error::InvalidToken)?;
        // The right is checked again at exchange: revoking the admin's
        // privilege between issue and exchange stops the impersonation.
        let decision = self
            .permission
            .clone()
            .authorize(proto::AuthorizeRequest {
                actor_id: request.user.to_string(),
                action: proto::Action::ImitateCustomer.into(),
                target_id: request.customer.to_string(),
                audience: sales_channel.to_string(),
            })
            .await?
            .into_inner();
        if !decision.allowed {
            tracing::warn!(reason = %decision.reason, "impersonation refused at exchange");
            return Err(Error::InvalidToken);
        }

        let token = random_token();
        let now = now_millis();
        let session = Session {
            id: SessionId::new_random(),
            token_hash: hash_token(&token),
            principal_id: request.customer,
            principal_kind: PrincipalKind::Customer,
            sales_channel_id: Some(sales_channel),
            imitating_user_id: Some(request.user),
            // A fresh context: nothing shared with any other session.
            payload: "{}".to_owned(),
            created_at: now,
            expires_at: now.saturating_add(lifetime_ms(self.lifetimes.impersonation)),
            ended_at: None,
        };
        let record = AuditRecord {
            id: AuditRecordId::new_random(),
            kind: AuditKind::ImpersonationStarted.as_str().to_owned(),
            actor_id: request.user,
            target_id: request.customer,
            audience: sales_channel.to_string(),
            session_id: Some(session.id),
            reason: grant.reason,
            client_ip: request.client_ip,
            user_agent: request.user_agent,
            occurred_at: now,
        };
        // Fail closed: no audit record, no session.
        self.store.insert_with_audit(&session, &record).await?;
        tracing::info!(session = %session.id, "impersonated session started");
        Ok(Issued { token, session })
    }

    async fn context(&self, token: &str) -> Result<Session, Error> {
        self.live_session(token).await
    }

    async fn update_context(&self, token: &str, changes: Map<String, Value>) -> Result<Session, Error> {
        let mut session = self.live_session(token).await?;
        let mut payload: Map<String, Value> = serde_json::from_str(&session.payload)
            .map_err(|_| Error::Store(crate::store::Error::Corrupt("payload is not a JSON object")))?;
        for (key, value) in changes {
            if !PAYLOAD_KEYS.contains(&key.as_str()) {
                return Err(Error::InvalidPayload(format!(
                    "{key} cannot be set; settable: {}",
                    PAYLOAD_KEYS.join(", ")
                )));
            }
            let id = value
                .as_str()
                .and_then(|text| actas_shared::ids::parse_uuid(text).ok())
                .ok_or(Error::InvalidId {
                    field: "context value",
                })?;
            payload.insert(key, Value::String(id.simple().to_string()));
        }
        session.payload = Value::Object(payload).to_string();
        self.store.update_payload(session.id, &session.payload).await?;
        Ok(session)
    }

    async fn logout(&self, token: &str) -> Result<(), Error> {
        let session = self.live_session(token).await?;
        self.end(&session, "logout").await
    }

    async fn audit_records(&self, filter: AuditFilter) -> Result<Vec<AuditRecord>, Error> {
        Ok(self.store.audit_records(&filter).await?)
    }
}
