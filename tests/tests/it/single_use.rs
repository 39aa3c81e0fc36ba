//! Single use that survives the token store: a Redis restored from a
//! snapshot (or a replica promoted after a failover) hands a spent grant
//! back, and the exchange still refuses the token, because the session
//! service spent its id durably with the session. The same on a Redis
//! Cluster, and on the in-memory store with SQLite (the embedded run). And
//! an issue whose grant could not be stored is closed on the record.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use actas_permission::seed;
use actas_shared::testing::{RedisCluster, RedisServer};
use actas_token_issuer::store::{Error as StoreError, MemoryStore, StoredGrant, TokenStore};
use async_trait::async_trait;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{EU_KEY, TestSystem, assert_error, simple};

/// A token store that can be put back to an earlier state.
#[async_trait]
trait Restorable: Send {
    /// Takes a snapshot of the store as it is now.
    async fn save(&mut self);
    /// Brings the store back as of the last snapshot (a restart from it).
    async fn restore(&mut self);
    /// Grants stored under `prefix` now.
    async fn grants(&self, prefix: &str) -> usize;
}

async fn keys(url: &str, pattern: &str) -> usize {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut connection)
        .await
        .unwrap();
    keys.len()
}

#[async_trait]
impl Restorable for RedisServer {
    async fn save(&mut self) {
        tokio::task::block_in_place(|| RedisServer::save(self)).unwrap();
    }
    async fn restore(&mut self) {
        tokio::task::block_in_place(|| self.restart()).unwrap();
    }
    async fn grants(&self, prefix: &str) -> usize {
        keys(&self.url, &format!("{prefix}grant:*")).await
    }
}

#[async_trait]
impl Restorable for RedisCluster {
    async fn save(&mut self) {
        tokio::task::block_in_place(|| RedisCluster::save(self)).unwrap();
    }
    async fn restore(&mut self) {
        tokio::task::block_in_place(|| self.restart()).unwrap();
    }
    async fn grants(&self, prefix: &str) -> usize {
        let mut total = 0;
        for url in self.urls() {
            total += keys(&url, &format!("{prefix}grant:*")).await;
        }
        total
    }
}

/// The in-memory store, snapshotted the only way a process-local map can
/// be: every grant it held at [`Restorable::save`] is put back on restore,
/// as a restart from that state would.
#[derive(Clone, Default)]
struct SnapshottedMemory {
    store: Arc<MemoryStore>,
    /// Every grant stored, with its key and lifetime.
    written: Arc<Mutex<Vec<(String, StoredGrant, Duration)>>>,
    snapshot: Arc<Mutex<Vec<(String, StoredGrant, Duration)>>>,
    /// Keys present now (stored and not taken).
    present: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl TokenStore for SnapshottedMemory {
    async fn put_if_absent(&self, key: &str, grant: &StoredGrant, ttl: Duration) -> Result<bool, StoreError> {
        let stored = self.store.put_if_absent(key, grant, ttl).await?;
        if stored {
            self.written
                .lock()
                .unwrap()
                .push((key.to_owned(), grant.clone(), ttl));
            self.present.lock().unwrap().push(key.to_owned());
        }
        Ok(stored)
    }
    async fn take(&self, key: &str) -> Result<Option<StoredGrant>, StoreError> {
        let taken = self.store.take(key).await?;
        self.present.lock().unwrap().retain(|present| present != key);
        Ok(taken)
    }
}

#[async_trait]
impl Restorable for SnapshottedMemory {
    async fn save(&mut self) {
        let present = self.present.lock().unwrap().clone();
        let written = self.written.lock().unwrap().clone();
        *self.snapshot.lock().unwrap() = written
            .into_iter()
            .filter(|(key, _, _)| present.contains(key))
            .collect();
    }
    async fn restore(&mut self) {
        let snapshot = self.snapshot.lock().unwrap().clone();
        for (key, grant, ttl) in snapshot {
            if self.store.put_if_absent(&key, &grant, ttl).await.unwrap() {
                self.present.lock().unwrap().push(key);
            }
        }
    }
    async fn grants(&self, prefix: &str) -> usize {
        self.present
            .lock()
            .unwrap()
            .iter()
            .filter(|key| key.starts_with(&format!("{prefix}grant:")))
            .count()
    }
}

async fn exchange(system: &TestSystem, token: &str) -> reqwest::Response {
    system
        .exchange(
            EU_KEY,
            json!({ "token": token, "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) }),
        )
        .await
}

/// Issue, snapshot, spend, restore, replay: the restored store hands the
/// grant back, and the replay fails with the answer of any spent token, on
/// the record; alice was impersonated once.
async fn a_replay_after_a_restore_fails(system: &TestSystem, store: &mut dyn Restorable) {
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    store.save().await;
    let first = exchange(system, &token).await;
    assert_eq!(first.status(), StatusCode::OK, "the first exchange");
    assert_eq!(store.grants(&system.redis_key_prefix).await, 0, "spent");

    store.restore().await;
    assert_eq!(
        store.grants(&system.redis_key_prefix).await,
        1,
        "the restored store holds the spent grant again"
    );
    // The token issuer reconnects to the restarted store within a few tries.
    let mut replay = exchange(system, &token).await;
    for _ in 0..50 {
        if replay.status() != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        replay = exchange(system, &token).await;
    }
    assert_error(
        replay,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;
    assert_eq!(store.grants(&system.redis_key_prefix).await, 0, "taken again");
    // Once more, with the grant gone from the store: the same answer.
    let spent = exchange(system, &token).await;
    assert_error(
        spent,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;

    let trail = system.audit_trail(seed::ALICE).await;
    let kinds: Vec<&str> = trail.iter().map(|record| record.kind().as_str()).collect();
    assert_eq!(
        kinds,
        [
            "token_redeem_failed",
            "token_redeem_failed",
            "impersonation_started",
            "token_issued"
        ],
        "{trail:?}"
    );
    assert!(trail[1].reason.contains("came back"), "{:?}", trail[1]);
    assert!(trail[0].reason.contains("spent"), "{:?}", trail[0]);
    assert_eq!(trail[1].actor_id, seed::ADMIN.to_string());
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("actas-single-use-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_spent_before_redis_was_restored_from_a_snapshot_does_not_redeem_again() {
    let dir = temp_dir();
    let mut redis = RedisServer::start_persistent(&dir).unwrap();
    let url = redis.url.clone();
    let system = TestSystem::start_with(|options| options.redis_url = Some(url)).await;
    a_replay_after_a_restore_fails(&system, &mut redis).await;
    system.stop().await;
    drop(redis);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_spent_before_a_redis_cluster_was_restored_does_not_redeem_again() {
    let mut cluster = RedisCluster::start_in_background().await.unwrap();
    let urls = cluster.urls().join(",");
    let system = TestSystem::start_with(|options| {
        options.redis_url = None;
        options.redis_cluster_urls = Some(urls);
    })
    .await;
    a_replay_after_a_restore_fails(&system, &mut cluster).await;
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_spent_before_the_memory_store_was_restored_does_not_redeem_again_on_sqlite() {
    let dir = temp_dir();
    let mut store = SnapshottedMemory::default();
    let database_url = format!("sqlite://{}", dir.join("actas.db").display());
    let shared: Arc<dyn TokenStore> = Arc::new(store.clone());
    let system = TestSystem::start_with(|options| {
        options.database_url = database_url;
        options.redis_url = None;
        options.token_store = Some(shared);
    })
    .await;
    a_replay_after_a_restore_fails(&system, &mut store).await;
    system.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The claims of a token, unverified (the test only reads them).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_spent_token_is_kept_until_it_expires() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    system.exchange_alice(&token).await;
    let mut database = <sqlx::PgConnection as sqlx::Connection>::connect(&system.database.url)
        .await
        .unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT token_id_hash, expires_at FROM spent_token")
        .fetch_all(&mut database)
        .await
        .unwrap();
    let claims = claims(&token);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(
        rows,
        [(
            actas_shared::secret::hash_token(jti),
            claims["exp"].as_i64().unwrap() * 1000
        )],
        "the token's id, hashed, until its exp"
    );
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_whose_grant_cannot_be_stored_is_closed_on_the_record() {
    let mut redis = RedisServer::start().unwrap();
    let url = redis.url.clone();
    let system = TestSystem::start_with(|options| options.redis_url = Some(url)).await;
    let admin = system.admin().await;
    redis.kill();

    let refused = system
        .generate(
            &admin,
            json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }),
        )
        .await;
    assert_error(
        refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "FRAMEWORK__SERVICE_UNAVAILABLE",
    )
    .await;
    let trail = system.audit_trail(seed::ALICE).await;
    let kinds: Vec<&str> = trail.iter().map(|record| record.kind().as_str()).collect();
    assert_eq!(kinds, ["token_issue_failed", "token_issued"], "{trail:?}");
    let (failed, issued) = (&trail[0], &trail[1]);
    assert!(
        failed.reason.contains(&issued.id) && failed.reason.contains("no token"),
        "the failure names the record it closes: {failed:?}"
    );
    for field in [
        (&failed.actor_id, &issued.actor_id),
        (&failed.target_id, &issued.target_id),
        (&failed.audience, &issued.audience),
    ] {
        assert_eq!(field.0, field.1);
    }
    assert_eq!(failed.action(), issued.action());
    system.stop().await;
}
