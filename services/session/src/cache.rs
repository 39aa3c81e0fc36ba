//! Live sessions recently read, by token hash, per replica: a context read
//! within the cache's time to live costs no database round trip.
//!
//! Changes made through this replica (logout, end, revocation, payload,
//! profile, read-only mark) update or drop their entry at once. Changes made
//! through another replica are seen when the entry expires, so the time to
//! live (default one second) bounds how long a revocation elsewhere can go
//! unseen here, the bound the security guarantees promise.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::model::Session;

/// Entries beyond this many are swept of expired ones before inserting;
/// if all are fresh, the map is cleared (a burst of distinct sessions
/// costs a round trip each, never unbounded memory).
const CAPACITY: usize = 50_000;

pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Session)>>,
}

impl SessionCache {
    /// A zero `ttl` turns the cache off: every read goes to the store.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The session stored under `token_hash`, if read within the time to live.
    pub fn get(&self, token_hash: &str) -> Option<Session> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let hit = entries
            .get(token_hash)
            .filter(|(read_at, _)| read_at.elapsed() < self.ttl)
            .map(|(_, session)| session.clone());
        metrics::counter!("actas_session_cache_total", "result" => if hit.is_some() { "hit" } else { "miss" })
            .increment(1);
        hit
    }

    /// Remembers `session` as just read from (or written to) the store.
    pub fn put(&self, session: &Session) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            let ttl = self.ttl;
            entries.retain(|_, (read_at, _)| read_at.elapsed() < ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(session.token_hash.clone(), (Instant::now(), session.clone()));
    }

    /// Updates a cached session in place (its read time unchanged), so a
    /// change made here never extends how long the entry is trusted.
    pub fn update(&self, token_hash: &str, change: impl FnOnce(&mut Session)) {
        if let Ok(mut entries) = self.entries.lock()
            && let Some((_, session)) = entries.get_mut(token_hash)
        {
            change(session);
        }
    }

    pub fn forget(&self, token_hash: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(token_hash);
        }
    }

    /// Drops every entry (after a change whose sessions are not all known).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use actas_shared::{
        ids::{PrincipalId, SessionId},
        principal::PrincipalKind,
    };

    use super::*;

    fn session(hash: &str) -> Session {
        Session {
            id: SessionId::new_random(),
            token_hash: hash.to_owned(),
            principal_id: PrincipalId::new_random(),
            principal_kind: PrincipalKind::Customer,
            sales_channel_id: None,
            imitating_user_id: None,
            profile_id: None,
            grant_action: None,
            payload: "{}".to_owned(),
            created_at: 0,
            expires_at: 1,
            ended_at: None,
            last_seen_at: 0,
            read_only: false,
        }
    }

    #[test]
    fn entries_expire_after_the_time_to_live() {
        let cache = SessionCache::new(Duration::from_millis(50));
        cache.put(&session("a"));
        assert_eq!(cache.get("a").map(|s| s.token_hash), Some("a".to_owned()));
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("a").is_none(), "an expired entry is not trusted");
    }

    #[test]
    fn updates_keep_the_read_time_and_forget_drops() {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache.put(&session("a"));
        cache.update("a", |s| s.read_only = true);
        assert_eq!(cache.get("a").map(|s| s.read_only), Some(true));
        cache.forget("a");
        assert!(cache.get("a").is_none());
        cache.put(&session("b"));
        cache.clear();
        assert!(cache.get("b").is_none());
    }

    #[test]
    fn a_zero_time_to_live_caches_nothing() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.put(&session("a"));
        assert!(cache.get("a").is_none());
    }
}
