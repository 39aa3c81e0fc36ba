//! What any `TokenStore` must do: hand a grant out once, never overwrite a
//! waiting grant, forget it after its time, give it to exactly one of many
//! concurrent takers, and keep keys of different prefixes apart.

use std::{sync::Arc, time::Duration};

use actas_shared::testing::{RedisCluster, redis_url, unique_prefix};
use actas_token_issuer::store::{ClusterStore, MemoryStore, RedisStore, TokenStore};

use crate::grant;

/// Long enough that nothing expires during a check.
const LONG_TTL: Duration = Duration::from_secs(60);

async fn put_then_take_once(store: &dyn TokenStore, prefix: &str) -> anyhow::Result<()> {
    let key = format!("{prefix}once");
    assert_eq!(store.take(&key).await?, None, "nothing stored yet");
    assert!(store.put_if_absent(&key, &grant("a"), LONG_TTL).await?);
    assert_eq!(store.take(&key).await?, Some(grant("a")));
    assert_eq!(store.take(&key).await?, None, "a grant is taken once");
    Ok(())
}

async fn put_if_absent_keeps_the_first(store: &dyn TokenStore, prefix: &str) -> anyhow::Result<()> {
    let key = format!("{prefix}first");
    assert!(store.put_if_absent(&key, &grant("first"), LONG_TTL).await?);
    assert!(!store.put_if_absent(&key, &grant("second"), LONG_TTL).await?);
    assert_eq!(store.take(&key).await?, Some(grant("first")));
    // Once taken, the key is free again.
    assert!(store.put_if_absent(&key, &grant("third"), LONG_TTL).await?);
    assert_eq!(store.take(&key).await?, Some(grant("third")));
    Ok(())
}

async fn grants_expire(store: &dyn TokenStore, prefix: &str) -> anyhow::Result<()> {
    let taken_late = format!("{prefix}expires-take");
    let put_late = format!("{prefix}expires-put");
    let lasting = format!("{prefix}lasting");
    let ttl = Duration::from_millis(300);
    assert!(store.put_if_absent(&taken_late, &grant("a"), ttl).await?);
    assert!(store.put_if_absent(&put_late, &grant("b"), ttl).await?);
    assert!(store.put_if_absent(&lasting, &grant("c"), LONG_TTL).await?);
    assert!(
        !store.put_if_absent(&put_late, &grant("x"), ttl).await?,
        "still waiting before its ttl"
    );
    // Expiry is about time passing; nothing to wait on but the clock.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        store.take(&taken_late).await?,
        None,
        "expired grants are not handed out"
    );
    assert!(
        store.put_if_absent(&put_late, &grant("fresh"), LONG_TTL).await?,
        "an expired key is free again"
    );
    assert_eq!(store.take(&put_late).await?, Some(grant("fresh")));
    assert_eq!(
        store.take(&lasting).await?,
        Some(grant("c")),
        "only the short ttl expired"
    );
    Ok(())
}

async fn one_of_many_concurrent_takers_wins(store: Arc<dyn TokenStore>, prefix: &str) -> anyhow::Result<()> {
    let key = format!("{prefix}contended");
    assert!(store.put_if_absent(&key, &grant("prize"), LONG_TTL).await?);
    let takers: Vec<_> = (0..32)
        .map(|_| {
            let store = Arc::clone(&store);
            let key = key.clone();
            tokio::spawn(async move { store.take(&key).await })
        })
        .collect();
    let mut winners = Vec::new();
    for taker in takers {
        if let Some(won) = taker.await?? {
            winners.push(won);
        }
    }
    assert_eq!(winners, [grant("prize")], "exactly one taker gets the grant");
    Ok(())
}

async fn prefixes_do_not_collide(store: &dyn TokenStore, prefix: &str) -> anyhow::Result<()> {
    let left = format!("{prefix}left:");
    let right = format!("{prefix}right:");
    assert!(
        store
            .put_if_absent(&format!("{left}k"), &grant("left"), LONG_TTL)
            .await?
    );
    assert!(
        store
            .put_if_absent(&format!("{right}k"), &grant("right"), LONG_TTL)
            .await?
    );
    assert_eq!(store.take(&format!("{right}k")).await?, Some(grant("right")));
    assert_eq!(store.take(&format!("{right}k")).await?, None);
    assert_eq!(store.take(&format!("{left}k")).await?, Some(grant("left")));
    Ok(())
}

async fn conformance(store: Arc<dyn TokenStore>) -> anyhow::Result<()> {
    // Every check on its own prefix: on Redis no run sees another's keys.
    put_then_take_once(store.as_ref(), &unique_prefix()).await?;
    put_if_absent_keeps_the_first(store.as_ref(), &unique_prefix()).await?;
    grants_expire(store.as_ref(), &unique_prefix()).await?;
    one_of_many_concurrent_takers_wins(Arc::clone(&store), &unique_prefix()).await?;
    prefixes_do_not_collide(store.as_ref(), &unique_prefix()).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_store_on_memory() -> anyhow::Result<()> {
    conformance(Arc::new(MemoryStore::new())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_store_on_redis() -> anyhow::Result<()> {
    conformance(Arc::new(RedisStore::new(&redis_url())?)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_store_on_redis_cluster() -> anyhow::Result<()> {
    let cluster = RedisCluster::start_in_background().await?;
    conformance(Arc::new(ClusterStore::new(&cluster.urls())?)).await
}
