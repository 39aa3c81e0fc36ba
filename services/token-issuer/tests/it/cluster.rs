//! The checks only a Redis Cluster has: keys spread over masters, every
//! master down. The cluster is `actas_shared::testing::RedisCluster`.

use std::time::Duration;

use actas_shared::testing::{RedisCluster, unique_prefix};
use actas_token_issuer::store::{ClusterStore, TokenStore};
use anyhow::Context as _;

use crate::grant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_spreads_keys_over_masters() -> anyhow::Result<()> {
    let cluster = RedisCluster::start_in_background().await?;
    let urls = cluster.urls();
    // One seed is enough: the client discovers the other masters.
    let store = ClusterStore::new(&urls[..1])?;
    let prefix = unique_prefix();
    let keys: Vec<String> = (0..30).map(|index| format!("{prefix}{index}")).collect();
    for key in &keys {
        assert!(
            store
                .put_if_absent(key, &grant(key), Duration::from_secs(60))
                .await?
        );
    }
    let mut sizes = Vec::new();
    for url in &urls {
        let mut node = redis::Client::open(url.as_str())?
            .get_multiplexed_async_connection()
            .await?;
        let size: u64 = redis::cmd("DBSIZE").query_async(&mut node).await?;
        sizes.push(size);
    }
    assert_eq!(
        sizes.iter().sum::<u64>(),
        30,
        "every key on exactly one master: {sizes:?}"
    );
    assert!(
        sizes.iter().filter(|&&size| size > 0).count() >= 2,
        "keys should spread over several masters: {sizes:?}"
    );
    for key in &keys {
        assert_eq!(
            store.take(key).await?,
            Some(grant(key)),
            "{key} back from its master"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_fails_fast_when_the_cluster_is_down() -> anyhow::Result<()> {
    let mut cluster = RedisCluster::start_in_background().await?;
    let store = ClusterStore::new(&cluster.urls())?;
    assert!(
        store
            .put_if_absent("before", &grant("a"), Duration::from_secs(60))
            .await?
    );
    assert_eq!(store.take("before").await?, Some(grant("a")));

    cluster.stop()?;

    let put = tokio::time::timeout(
        Duration::from_secs(10),
        store.put_if_absent("after", &grant("b"), Duration::from_secs(60)),
    )
    .await
    .context("put hung with the cluster down")?;
    assert!(put.is_err(), "put with the cluster down: {put:?}");
    let take = tokio::time::timeout(Duration::from_secs(10), store.take("before"))
        .await
        .context("take hung with the cluster down")?;
    assert!(take.is_err(), "take with the cluster down: {take:?}");
    Ok(())
}
