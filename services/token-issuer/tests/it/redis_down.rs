//! Redis going away under a running store: calls fail, promptly, instead of
//! hanging or pretending. Uses a Redis server of its own, never the shared one.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use actas_token_issuer::store::{RedisStore, TokenStore};
use anyhow::Context as _;

use crate::grant;

/// Our own `redis-server`; killed on drop so a failing test leaves no process.
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    async fn start() -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context(
                "cannot start `redis-server` (is it installed and on PATH? e.g. apt-get install redis-server); \
                 this test needs a Redis server of its own to stop",
            )?;
        let redis = Self { child, port };
        redis.wait_until_ready().await?;
        Ok(redis)
    }

    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let address = ("127.0.0.1", self.port);
        let ready = async {
            loop {
                if tokio::net::TcpStream::connect(address).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), ready)
            .await
            .context("our redis-server did not accept connections within 10s")
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn redis_store_fails_fast_when_redis_is_down() -> anyhow::Result<()> {
    let mut redis = OwnRedis::start().await?;
    let store = RedisStore::new(&redis.url())?;
    assert!(
        store
            .put_if_absent("before", &grant("a"), Duration::from_secs(60))
            .await?
    );
    assert_eq!(store.take("before").await?, Some(grant("a")));

    redis.stop()?;

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
