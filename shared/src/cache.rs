//! A small time-bounded cache for the hot read paths: an answer read from a
//! backend is trusted for a fixed time to live, never longer, so the TTL is
//! the staleness bound a caller can promise (one second for sessions and
//! sales channel keys). Bounded in size: when full, expired entries are
//! swept, and if all are fresh the map is cleared (a burst of distinct keys
//! costs backend reads, never unbounded memory).

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct TtlCache<K, V> {
    /// Metric label: which cache (`actas_cache_total{cache, result}`).
    name: &'static str,
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// A zero `ttl` turns the cache off: nothing is kept.
    pub fn new(name: &'static str, ttl: Duration, capacity: usize) -> Self {
        Self {
            name,
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value stored under `key`, if stored within the time to live.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if self.ttl.is_zero() {
            return None;
        }
        let hit = self.entries.lock().ok().and_then(|entries| {
            entries
                .get(key)
                .filter(|(stored_at, _)| stored_at.elapsed() < self.ttl)
                .map(|(_, value)| value.clone())
        });
        let result = if hit.is_some() { "hit" } else { "miss" };
        metrics::counter!("actas_cache_total", "cache" => self.name, "result" => result).increment(1);
        hit
    }

    /// Stores `value` as just read from the backend.
    pub fn put(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, (stored_at, _)| stored_at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Changes a stored value in place, its store time unchanged: a change
    /// made here never extends how long the entry is trusted.
    pub fn update<Q>(&self, key: &Q, change: impl FnOnce(&mut V))
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Ok(mut entries) = self.entries.lock()
            && let Some((_, value)) = entries.get_mut(key)
        {
            change(value);
        }
    }

    pub fn forget<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_time_to_live() {
        let cache = TtlCache::new("test", Duration::from_millis(50), 10);
        cache.put("a".to_owned(), 1);
        assert_eq!(cache.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("a"), None, "an expired entry is not trusted");
    }

    #[test]
    fn updates_keep_the_store_time_and_forget_drops() {
        let cache = TtlCache::new("test", Duration::from_secs(60), 10);
        cache.put("a".to_owned(), 1);
        cache.update("a", |value| *value = 2);
        assert_eq!(cache.get("a"), Some(2));
        cache.forget("a");
        assert_eq!(cache.get("a"), None);
        cache.put("b".to_owned(), 3);
        cache.clear();
        assert_eq!(cache.get("b"), None);
    }

    #[test]
    fn a_full_cache_makes_room_and_a_zero_ttl_keeps_nothing() {
        let cache = TtlCache::new("test", Duration::from_secs(60), 2);
        cache.put(1, "one");
        cache.put(2, "two");
        cache.put(3, "three");
        assert_eq!(cache.get(&3), Some("three"), "the newest entry is kept");
        assert!(
            cache.get(&1).is_none() && cache.get(&2).is_none(),
            "all fresh: cleared"
        );
        let off = TtlCache::new("test", Duration::ZERO, 2);
        off.put(1, "one");
        assert_eq!(off.get(&1), None);
    }
}
