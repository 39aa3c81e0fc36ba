//! Redis going away under a running store: calls fail, promptly, instead of
//! hanging or pretending. Uses a Redis server of its own, never the shared one.

use std::time::Duration;

use actas_shared::testing::RedisServer;
use actas_token_issuer::store::{RedisStore, TokenStore};
use anyhow::Context as _;

use crate::grant;

#[tokio::test]
async fn redis_store_fails_fast_when_redis_is_down() -> anyhow::Result<()> {
    let mut redis = RedisServer::start()?;
    let store = RedisStore::new(&redis.url)?;
    assert!(
        store
            .put_if_absent("before", &grant("a"), Duration::from_secs(60))
            .await?
    );
    assert_eq!(store.take("before").await?, Some(grant("a")));

    redis.kill();

    let put = tokio::time::timeout(
        Duration::from_secs(10),
        store.put_if_absent("after", &grant("b"), Duration::from_secs(60)),
    )
    .await
    .context("put hung with Redis down")?;
    assert!(put.is_err(), "put with Redis down: {put:?}");
    let take = tokio::time::timeout(Duration::from_secs(10), store.take("before"))
        .await
        .context("take hung with Redis down")?;
    assert!(take.is_err(), "take with Redis down: {take:?}");
    Ok(())
}
