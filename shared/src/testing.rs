//! Real backends for tests: a fresh PostgreSQL database per test (dropped
//! afterwards, even when the test panics) and the Redis to use with a
//! unique key prefix. Tests never touch another test's data, and never
//! flush or stop the shared servers.

use std::time::Duration;

use sqlx::{Connection as _, PgConnection};

/// The server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("ACTAS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The Redis tests use, each under its own key prefix.
pub fn redis_url() -> String {
    std::env::var("ACTAS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test run uses.
pub fn unique_prefix() -> String {
    format!("actas-test:{}:", uuid::Uuid::new_v4().simple())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = postgres_admin_url();
        let mut admin = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url))
            .await
            .map_err(|_| anyhow::anyhow!("timed out"))
            .and_then(|connected| connected.map_err(anyhow::Error::from))
            .map_err(|error| {
                anyhow::anyhow!(
                    "PostgreSQL is not reachable at {admin_url} ({error}); start it, or run scripts/test.sh \
                     which starts it, or set ACTAS_TEST_POSTGRES_URL"
                )
            })?;
        let name = format!("actas_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Ok(Self {
            url: format!("{base}/{name}"),
            name,
            admin_url,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside a runtime (or while unwinding): use a thread
        // with its own runtime, and FORCE to close lingering connections.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

/// A redis-server of a test's own on a free loopback port, for tests that
/// stop Redis (never the shared one). Killed when dropped.
pub struct RedisServer {
    pub url: String,
    child: std::process::Child,
}

impl RedisServer {
    pub fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|error| {
                anyhow::anyhow!(
                    "cannot start redis-server ({error}); install it (Debian: apt-get install redis-server)"
                )
            })?;
        let server = Self {
            url: format!("redis://127.0.0.1:{port}"),
            child,
        };
        // Ready when it accepts connections; bounded.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        anyhow::bail!("redis-server did not listen on port {port}")
    }

    /// Kills the server now (a Redis outage).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
