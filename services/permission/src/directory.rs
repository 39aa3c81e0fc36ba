//! The permission service's domain: authenticate principals and decide who
//! may act as whom. The rules live in the store as data; this module only
//! evaluates them, in an order that never tells an unprivileged actor
//! whether a target exists.

use std::sync::Arc;

use actas_shared::{
    ApiError, ErrorCode,
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
};
use async_trait::async_trait;

use crate::{
    error::Error,
    model::{Action, Decision, Principal, SalesChannel, normalize_email},
    password,
    store::DirectoryStore,
};

/// What the permission service does; the gRPC adapter and tests call this.
#[async_trait]
pub trait Permission: Send + Sync + 'static {
    async fn authenticate(
        &self,
        kind: PrincipalKind,
        email: &str,
        password: &str,
        sales_channel: Option<SalesChannelId>,
    ) -> Result<Principal, Error>;

    async fn authorize(
        &self,
        actor: PrincipalId,
        action: Action,
        target: PrincipalId,
        audience: SalesChannelId,
    ) -> Result<Decision, Error>;

    async fn principal(&self, id: PrincipalId) -> Result<Principal, Error>;

    async fn resolve_sales_channel(&self, access_key: &str) -> Result<SalesChannel, Error>;
}

/// [`Permission`] over a [`DirectoryStore`].
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn DirectoryStore>,
}

impl Directory {
    pub fn new(store: Arc<dyn DirectoryStore>) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Arc<dyn DirectoryStore> {
        &self.store
    }
}

#[async_trait]
impl Permission for Directory {
    #[tracing::instrument(skip(self, email, password))]
    async fn authenticate(
        &self,
        kind: PrincipalKind,
        email: &str,
        password: &str,
        sales_channel: Option<SalesChannelId>,
    ) -> Result<Principal, Error> {
        let email = normalize_email(email);
        let credential = self.store.credential(kind, &email).await?;
        let stored_hash = credential.as_ref().map(|c| c.password_hash.clone());
        // Always verify, even for an unknown email, so timing does not tell.
        let verified = password::verify_blocking(password.to_owned(), stored_hash).await?;
        let Some(credential) = credential.filter(|_| verified) else {
            return Err(Error::BadCredentials(kind));
        };
        let principal = self
            .store
            .principal(credential.principal_id)
            .await?
            .ok_or(Error::BadCredentials(kind))?;
        // An inactive principal, or a customer on a channel they are not bound
        // to, gets the same answer as a wrong password: nothing to learn.
        let channel_ok = match (kind, sales_channel) {
            (PrincipalKind::Customer, Some(channel)) => principal.sales_channel_ids.contains(&channel),
            (PrincipalKind::Customer, None) => false,
            _ => true,
        };
        if !principal.active || principal.guest || !channel_ok {
            return Err(Error::BadCredentials(kind));
        }
        Ok(principal)
    }

    #[tracing::instrument(skip(self))]
    async fn authorize(
        &self,
        actor_id: PrincipalId,
        action: Action,
        target_id: PrincipalId,
        audience: SalesChannelId,
    ) -> Result<Decision, Error> {
        let Some(actor) = self.store.principal(actor_id).await?.filter(|a| a.active) else {
            return Ok(Decision::deny(ApiError::unauthorized()));
        };
        let Some(rule) = self.store.rule(action, actor.kind).await? else {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::ImpersonationNotAllowed,
                format!("A principal of kind {} may not {}.", actor.kind, action.as_str()),
            )));
        };
        // The privilege first: an actor without it learns nothing about targets.
        if !actor.holds(&rule.required_privilege) {
            return Ok(Decision::deny(ApiError::missing_privileges(vec![
                rule.required_privilege.clone(),
            ])));
        }
        let Some(channel) = self.store.sales_channel(audience).await? else {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::SalesChannelNotFound,
                "No sales channel has this id.",
            )));
        };
        let target = self.store.principal(target_id).await?;
        let Some(target) = target.filter(|t| t.kind == rule.target_kind) else {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::CustomerNotFound,
                "No customer has this id.",
            )));
        };
        if target.id == actor.id {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::ImpersonationNotAllowed,
                "Nobody impersonates themself.",
            )));
        }
        if !target.active {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::CustomerInactive,
                "The customer is inactive.",
            )));
        }
        if target.guest {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::CustomerIsGuest,
                "Guest customers cannot be logged in as.",
            )));
        }
        if !target.sales_channel_ids.contains(&channel.id) {
            return Ok(Decision::deny(ApiError::new(
                ErrorCode::CustomerNotInSalesChannel,
                "The customer may not use this sales channel.",
            )));
        }
        Ok(Decision::allow(format!(
            "{} holds {} ({} {} -> {}); target active and bound to sales channel {:?}",
            actor.kind,
            rule.required_privilege,
            action.as_str(),
            actor.kind,
            target.kind,
            channel.name,
        )))
    }

    async fn principal(&self, id: PrincipalId) -> Result<Principal, Error> {
        self.store.principal(id).await?.ok_or(Error::PrincipalNotFound)
    }

    async fn resolve_sales_channel(&self, access_key: &str) -> Result<SalesChannel, Error> {
        if access_key.is_empty() {
            return Err(Error::UnknownAccessKey);
        }
        self.store
            .sales_channel_by_access_key(access_key)
            .await?
            .ok_or(Error::UnknownAccessKey)
    }
}
