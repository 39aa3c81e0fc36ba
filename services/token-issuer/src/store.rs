//! Where grants wait to be redeemed: the [`TokenStore`] trait, Redis
//! (standalone or Redis Cluster) for production and an in-memory store with
//! the same semantics for the local run. Keys are hashes of token ids; a dump yields nothing that redeems.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use redis::{
    AsyncCommands as _,
    aio::ConnectionManager,
    cluster::{ClusterClient, ClusterConfig},
    cluster_async::ClusterConnection,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("redis failed")]
    Redis(#[from] redis::RedisError),
    #[error("redis cluster failed")]
    Cluster(#[source] redis::RedisError),
    #[error("stored grant is corrupt")]
    Corrupt(#[from] serde_json::Error),
    #[error("in-memory store lock poisoned")]
    Poisoned,
}

/// What a token allows, as stored until it is redeemed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGrant {
    pub actor_id: String,
    pub target_id: String,
    pub audience: String,
    pub reason: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The action the grant allows (`imitate_customer`, …).
    pub action: String,
    /// The target's principal kind (`customer`, `admin`).
    pub target_kind: String,
    /// The target profile, for team impersonation.
    pub target_profile_id: Option<i64>,
}

#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Stores `grant` under `key` for `ttl` unless the key exists; returns
    /// whether it stored.
    async fn put_if_absent(&self, key: &str, grant: &StoredGrant, ttl: Duration) -> Result<bool, Error>;
    /// Removes and returns the grant in one atomic step: of any number of
    /// concurrent callers, at most one gets it.
    async fn take(&self, key: &str) -> Result<Option<StoredGrant>, Error>;
    /// Whether the backend answers; drives the gRPC health status.
    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// How long to wait to connect to a Redis node, and for its answer: a call
/// fails (503) promptly rather than hanging while Redis is away.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Redis: `SET key value NX PX ttl` and `GETDEL key`, both atomic on the server.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
}

impl RedisStore {
    /// Connects lazily: the service starts even while Redis is down, and
    /// calls fail fast (and map to 503) until it is back.
    pub fn new(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1);
        Ok(Self {
            connection: ConnectionManager::new_lazy_with_config(client, config)?,
        })
    }
}

#[async_trait]
impl TokenStore for RedisStore {
    async fn put_if_absent(&self, key: &str, grant: &StoredGrant, ttl: Duration) -> Result<bool, Error> {
        let mut connection = self.connection.clone();
        let stored: Option<String> = set_if_absent(key, grant, ttl)?
            .query_async(&mut connection)
            .await?;
        Ok(stored.is_some())
    }

    async fn take(&self, key: &str) -> Result<Option<StoredGrant>, Error> {
        let mut connection = self.connection.clone();
        let value: Option<String> = connection.get_del(key).await?;
        Ok(value.map(|v| serde_json::from_str(&v)).transpose()?)
    }

    async fn ping(&self) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(())
    }
}

/// `SET key value NX PX ttl`: stores only into a free key, with a lifetime
/// of at least one millisecond.
fn set_if_absent(key: &str, grant: &StoredGrant, ttl: Duration) -> Result<redis::Cmd, Error> {
    let value = serde_json::to_string(grant)?;
    let mut command = redis::cmd("SET");
    command
        .arg(key)
        .arg(value)
        .arg("NX")
        .arg("PX")
        .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
    Ok(command)
}

/// Redis Cluster: the same two commands, routed by the client to the master
/// that owns the key's slot (following MOVED/ASK while slots migrate). Each
/// command touches exactly one key, so no call can fail with CROSSSLOT and
/// each stays atomic on the one node that owns the key.
#[derive(Clone)]
pub struct ClusterStore {
    connection: ClusterConnection,
}

impl ClusterStore {
    /// `nodes` are seed URLs (`redis://host:port`): any reachable one is
    /// enough, the client discovers the others. Connects in the background
    /// like [`RedisStore::new`]: the service starts while the cluster is
    /// down, and calls fail fast until it is back. Needs a Tokio runtime.
    pub fn new<T: AsRef<str>>(nodes: &[T]) -> Result<Self, Error> {
        let client = ClusterClient::builder(nodes.iter().map(AsRef::as_ref))
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .build()
            .map_err(Error::Cluster)?;
        let config = ClusterConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT);
        Ok(Self {
            connection: client.get_pending_async_connection_with_config(config),
        })
    }
}

#[async_trait]
impl TokenStore for ClusterStore {
    async fn put_if_absent(&self, key: &str, grant: &StoredGrant, ttl: Duration) -> Result<bool, Error> {
        let mut connection = self.connection.clone();
        let stored: Option<String> = set_if_absent(key, grant, ttl)?
            .query_async(&mut connection)
            .await
            .map_err(Error::Cluster)?;
        Ok(stored.is_some())
    }

    async fn take(&self, key: &str) -> Result<Option<StoredGrant>, Error> {
        let mut connection = self.connection.clone();
        let value: Option<String> = connection.get_del(key).await.map_err(Error::Cluster)?;
        Ok(value.map(|v| serde_json::from_str(&v)).transpose()?)
    }

    async fn ping(&self) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(Error::Cluster)?;
        Ok(())
    }
}

/// The embedded store: same single-use and expiry semantics, one process.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    entries: HashMap<String, (Instant, StoredGrant)>,
    /// Expired entries are swept when the map reaches this size, so memory
    /// stays bounded by the tokens alive at once, at amortised O(1) a write.
    sweep_at: usize,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn put_if_absent(&self, key: &str, grant: &StoredGrant, ttl: Duration) -> Result<bool, Error> {
        let now = Instant::now();
        let mut memory = self.inner.lock().map_err(|_| Error::Poisoned)?;
        if memory.entries.len() >= memory.sweep_at {
            memory.entries.retain(|_, (deadline, _)| *deadline > now);
            memory.sweep_at = (memory.entries.len() * 2).max(1024);
        }
        if memory
            .entries
            .get(key)
            .is_some_and(|(deadline, _)| *deadline > now)
        {
            return Ok(false);
        }
        memory.entries.insert(key.to_owned(), (now + ttl, grant.clone()));
        Ok(true)
    }

    async fn take(&self, key: &str) -> Result<Option<StoredGrant>, Error> {
        let mut memory = self.inner.lock().map_err(|_| Error::Poisoned)?;
        Ok(memory
            .entries
            .remove(key)
            .filter(|(deadline, _)| *deadline > Instant::now())
            .map(|(_, grant)| grant))
    }
}
