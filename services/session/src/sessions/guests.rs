//! Guest contexts in the domain: opened for a visitor, changed like a
//! session's context, taken over by the customer login that names one.

use actas_shared::{db::now_millis, ids::SalesChannelId, secret::hash_token};
use serde_json::{Map, Value};

use super::{SessionManager, StoreContext, lifetime_ms};
use crate::{
    error::Error,
    guests::{GuestContext, IssuedGuest, new_guest},
};

impl SessionManager {
    /// A new guest context, as long-lived as a customer session.
    pub(super) async fn open_guest(&self, channel: SalesChannelId) -> Result<IssuedGuest, Error> {
        let issued = new_guest(channel, lifetime_ms(self.lifetimes.customer));
        self.store.insert_guest(&issued.guest).await?;
        metrics::counter!("actas_guest_contexts_started_total").increment(1);
        Ok(issued)
    }

    /// The live guest context behind `token`; unknown and expired ones are
    /// [`Error::Unauthorized`], like an unknown session.
    pub(super) async fn guest(&self, token: &str) -> Result<GuestContext, Error> {
        if token.is_empty() {
            return Err(Error::Unauthorized);
        }
        self.store
            .guest_by_token_hash(&hash_token(token))
            .await?
            .filter(|guest| guest.is_live(now_millis()))
            .ok_or(Error::Unauthorized)
    }

    pub(super) async fn update_guest(
        &self,
        mut guest: GuestContext,
        changes: Map<String, Value>,
    ) -> Result<StoreContext, Error> {
        guest.payload = self
            .apply_changes(Some(guest.sales_channel_id), &guest.payload, changes)
            .await?;
        // Taken by a login meanwhile: the change lands nowhere, say so.
        if !self
            .store
            .update_guest_payload(&guest.token_hash, &guest.payload)
            .await?
        {
            return Err(Error::Unauthorized);
        }
        Ok(StoreContext::Guest(guest))
    }

    /// The guest context `token` names on `channel`, when a customer signs
    /// in there holding it: its payload carries over ([`Self::end_guest`]
    /// ends it once the session exists). Nothing for another channel's
    /// guest, or for a login that is not on a channel.
    pub(super) async fn guest_on(
        &self,
        token: &str,
        channel: Option<SalesChannelId>,
    ) -> Result<Option<GuestContext>, Error> {
        let Some(channel) = channel else {
            return Ok(None);
        };
        match self.guest(token).await {
            Ok(guest) if guest.sales_channel_id == channel => Ok(Some(guest)),
            Ok(_) | Err(Error::Unauthorized) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Ends a guest context its visitor signed in from.
    pub(super) async fn end_guest(&self, guest: &GuestContext) -> Result<(), Error> {
        self.store.delete_guest(&guest.token_hash).await?;
        Ok(())
    }

    /// Forgets up to `limit` guest contexts that have expired; how many.
    pub async fn forget_expired_guests(&self, limit: i64) -> Result<u64, Error> {
        Ok(self.store.forget_expired_guests(now_millis(), limit).await?)
    }
}

/// The payload a customer login starts with: their latest one, with what
/// they chose as a guest just before on top (they chose it last).
pub(super) fn overlay(latest: Option<&str>, guest: Option<&str>) -> String {
    let object = |text: Option<&str>| -> Map<String, Value> {
        text.and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    };
    let mut payload = object(latest);
    payload.extend(object(guest));
    Value::Object(payload).to_string()
}
