//! Guest contexts: the Store API context of a visitor who has not signed
//! in. Shopware hands one to every frontend at start-up (and after a
//! logout), so the frontend always holds a token it can set its language
//! or currency on. Nobody is behind a guest context: it is not a session,
//! starts nothing, and is kept apart from the sessions so that no question
//! of who acts ever finds one. A customer login that names it as the
//! previous token carries its payload over and ends it.

use actas_shared::{db::now_millis, ids::SalesChannelId, secret::hash_token};

/// A visitor's context: a token (stored hashed), its sales channel and the
/// payload chosen so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestContext {
    pub token_hash: String,
    pub sales_channel_id: SalesChannelId,
    /// A JSON object, as a session's payload.
    pub payload: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl GuestContext {
    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// A new guest context and the token its client holds (shown once).
#[derive(Debug)]
pub struct IssuedGuest {
    pub token: String,
    pub guest: GuestContext,
}

/// A new guest context on `channel`, living as long as a customer session
/// would; its payload starts empty.
pub fn new_guest(channel: SalesChannelId, lifetime_ms: i64) -> IssuedGuest {
    let token = actas_shared::secret::random_token();
    let now = now_millis();
    IssuedGuest {
        guest: GuestContext {
            token_hash: hash_token(&token),
            sales_channel_id: channel,
            payload: "{}".to_owned(),
            created_at: now,
            expires_at: now.saturating_add(lifetime_ms),
        },
        token,
    }
}
