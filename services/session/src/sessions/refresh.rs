//! The OAuth refresh grant: an admin session's refresh token is single use
//! and bound to its session. It outlives the bearer (a client refreshes
//! once its bearer has expired), up to the session's maximum since the
//! login. Using it gives the session a new bearer and a new refresh token
//! and moves its end forward, never past that maximum; the old ones stop
//! working. Ending the session ends its refresh token with it, and
//! impersonated sessions never hold one.

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
        let refused = || {
            metrics::counter!("actas_refresh_refused_total").increment(1);
            Error::InvalidRefreshToken
        };
        let previous = hash_token(refresh_token);
        let now = now_millis();
        let max = lifetime_ms(self.lifetimes.admin_max);
        let Some(mut session) = self.store.by_refresh_hash(&previous).await? else {
            return Err(refused());
        };
        let refreshable = session.ended_at.is_none()
            && session.imitating_user_id.is_none()
            && session.created_at.saturating_add(max) > now;
        // Everything that can fail is asked before the write: a rotation
        // that committed is always handed to the client.
        if !refreshable || !self.principal_active(session.principal_id).await? {
            return Err(refused());
        }
        let token = random_token();
        let refresh = random_token();
        let rotation = Rotation {
            previous,
            token_hash: hash_token(&token),
            refresh_token_hash: hash_token(&refresh),
            expires_at: now
                .saturating_add(lifetime_ms(self.lifetimes.admin))
                .min(session.created_at.saturating_add(max)),
            now,
            max_lifetime_ms: max,
        };
        if !self.store.rotate_refresh(&rotation).await? {
            return Err(refused());
        }
        // The old bearer is over here at once (other replicas within their
        // cache interval).
        self.cache.forget(&session.token_hash);
        session.token_hash = rotation.token_hash;
        session.expires_at = rotation.expires_at;
        self.cache.put(session.token_hash.clone(), session.clone());
        tracing::info!(session = %session.id, "session refreshed");
        Ok(Issued {
            token,
            session,
            refresh_token: Some(refresh),
        })
    }
}
