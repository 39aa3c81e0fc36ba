//! Changing a storefront context: the keys a client may set (Shopware's
//! names), each holding the id of something the context's sales channel
//! offers, as the directory says. A random `languageId` names nothing and
//! is refused, as Shopware refuses it.

use actas_shared::{
    ApiError,
    ids::{SalesChannelId, parse_uuid},
    proto::{self, ContextOptionKind},
};
use serde_json::{Map, Value};

use super::{SessionManager, Sessions as _, StoreContext};
use crate::error::Error;

/// The settable keys and what each names among the channel's options;
/// `None`: a customer's address, which the shop in front owns and actas
/// knows none of.
const KEYS: &[(&str, Option<ContextOptionKind>)] = &[
    ("languageId", Some(ContextOptionKind::Language)),
    ("currencyId", Some(ContextOptionKind::Currency)),
    ("countryId", Some(ContextOptionKind::Country)),
    ("shippingMethodId", Some(ContextOptionKind::ShippingMethod)),
    ("paymentMethodId", Some(ContextOptionKind::PaymentMethod)),
    ("billingAddressId", None),
    ("shippingAddressId", None),
];

impl SessionManager {
    /// Applies `changes` to the context behind `token` (a guest's or a
    /// session's); an impersonation under a read-only policy changes nothing.
    pub(super) async fn change_context(
        &self,
        token: &str,
        changes: Map<String, Value>,
    ) -> Result<StoreContext, Error> {
        let mut session = match self.store_context(token).await? {
            StoreContext::Session(session) => session,
            StoreContext::Guest(guest) => return self.update_guest(guest, changes).await,
        };
        if session.read_only {
            return Err(Error::Denied(ApiError::new(
                actas_shared::ErrorCode::ReadOnlyImpersonation,
                "This impersonation is read-only: the context cannot be changed.",
            )));
        }
        session.payload = self
            .apply_changes(session.sales_channel_id, &session.payload, changes)
            .await?;
        self.store.update_payload(session.id, &session.payload).await?;
        self.cache.forget(&session.token_hash);
        Ok(StoreContext::Session(session))
    }

    /// `payload` (a JSON object) with `changes` set, each checked against
    /// what `channel` offers; ids kept in Shopware's simple form.
    pub(super) async fn apply_changes(
        &self,
        channel: Option<SalesChannelId>,
        payload: &str,
        changes: Map<String, Value>,
    ) -> Result<String, Error> {
        let mut payload: Map<String, Value> = serde_json::from_str(payload)
            .map_err(|_| Error::Store(crate::store::Error::Corrupt("payload is not a JSON object")))?;
        let mut checked = Vec::with_capacity(changes.len());
        for (key, value) in changes {
            let Some((_, kind)) = KEYS.iter().find(|(name, _)| *name == key) else {
                let settable: Vec<&str> = KEYS.iter().map(|(name, _)| *name).collect();
                return Err(Error::InvalidPayload(format!(
                    "{key} cannot be set; settable: {}",
                    settable.join(", ")
                )));
            };
            let id = value
                .as_str()
                .and_then(|text| parse_uuid(text).ok())
                .ok_or(Error::InvalidId {
                    field: "context value",
                })?;
            checked.push((key, *kind, id));
        }
        if checked.is_empty() {
            return Ok(Value::Object(payload).to_string());
        }
        let offered = match channel {
            Some(channel) => {
                self.permission
                    .get_context_options(proto::GetContextOptionsRequest {
                        sales_channel_id: channel.to_string(),
                    })
                    .await?
                    .options
            }
            None => Vec::new(),
        };
        for (key, kind, id) in checked {
            let known = kind.is_some_and(|kind| {
                offered.iter().any(|option| {
                    option.kind == i32::from(kind)
                        && parse_uuid(&option.id).is_ok_and(|offered| offered == id)
                })
            });
            if !known {
                return Err(Error::InvalidPayload(match kind {
                    Some(_) => format!("{key} names nothing this sales channel offers"),
                    None => format!("{key} names no address known here; the shop in front sets addresses"),
                }));
            }
            payload.insert(key, Value::String(id.simple().to_string()));
        }
        Ok(Value::Object(payload).to_string())
    }
}
