//! The OAuth refresh grant: an admin session's refresh token is single use
//! and bound to its session. Using it gives the session a new token and a
//! new refresh token and moves its end forward, never past its maximum
//! since the login; the old token stops working. Ending the session ends
//! its refresh token with it, and impersonated sessions never hold one.

use actas_shared::{
    db::now_millis,
    secret::{hash_token, random_token},
};

use super::{Issued, SessionManager, lifetime_ms};
use crate::{error::Error, store::Rotation};

impl SessionManager {
    pub(super) async fn rotate(&self, refresh_token: &str) -> Result<Issued, Error> {
        if refresh_token.is_empty() {
            return Err(Error::Missing {
                field: "refresh_token",
            });
        }
        let token = random_token();
        let refresh = random_token();
        let rotation = Rotation {
            previous: hash_token(refresh_token),
            token_hash: hash_token(&token),
            refresh_token_hash: hash_token(&refresh),
            now: now_millis(),
            lifetime_ms: lifetime_ms(self.lifetimes.admin),
            max_lifetime_ms: lifetime_ms(self.lifetimes.admin_max),
        };
        let Some((_, previous_token_hash)) = self.store.rotate_refresh(&rotation).await? else {
            metrics::counter!("actas_refresh_refused_total").increment(1);
            return Err(Error::InvalidRefreshToken);
        };
        // The old token is over here at once (other replicas within their
        // cache interval); the new one is checked like any session,
        // principal still active included.
        self.cache.forget(&previous_token_hash);
        let session = self.live_session(&token).await.map_err(|error| match error {
            Error::Unauthorized => Error::InvalidRefreshToken,
            error => error,
        })?;
        tracing::info!(session = %session.id, "session refreshed");
        Ok(Issued {
            token,
            session,
            refresh_token: Some(refresh),
        })
    }
}
