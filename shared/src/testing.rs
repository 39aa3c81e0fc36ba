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
