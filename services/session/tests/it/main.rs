//! The session store against real databases: one conformance suite run on
//! PostgreSQL and on SQLite, and a property test of the trail's queries.

mod binary;
mod session_store;
mod trail_model;

/// The one set of migrations (per-dialect files only where the DDL differs)
/// leaves both backends with the same tables and columns.
#[tokio::test]
async fn both_dialects_end_on_the_same_schema() -> anyhow::Result<()> {
    let columns = actas_shared::testing::same_schema_on_both_backends(&MIGRATIONS).await?;
    assert!(columns > 40, "the migrations made the tables: {columns} columns");
    Ok(())
}

use std::{future::Future, pin::Pin, sync::Arc};

use actas_session::store::{MIGRATIONS, SessionStore, SqlSessions};
use actas_shared::db::Pool;
use anyhow::Context as _;

use actas_shared::testing::TestBackend as Backend;

/// What a check gets: a fresh, migrated, empty store, and the pool under it
/// for what only raw SQL can try.
pub struct Subject {
    pub store: Arc<dyn SessionStore>,
    pub pool: Pool,
}

pub type CheckFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
pub type Check = (&'static str, fn(Subject) -> CheckFuture);

#[derive(Clone, Copy, Debug)]
enum Kind {
    Postgres,
    Sqlite,
}

/// Runs every check on a fresh store of the backend, in order.
async fn run(kind: Kind) -> anyhow::Result<()> {
    for (name, check) in session_store::CHECKS {
        eprintln!("check {name} on {kind:?}");
        let backend = match kind {
            Kind::Postgres => Backend::postgres(&MIGRATIONS).await?,
            Kind::Sqlite => Backend::sqlite(&MIGRATIONS).await?,
        };
        let subject = Subject {
            store: Arc::new(SqlSessions::new(backend.pool.clone())),
            pool: backend.pool.clone(),
        };
        check(subject)
            .await
            .with_context(|| format!("check {name} on {kind:?}"))?;
        backend.pool.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn session_store_on_postgres() -> anyhow::Result<()> {
    run(Kind::Postgres).await
}

#[tokio::test]
async fn session_store_on_sqlite() -> anyhow::Result<()> {
    run(Kind::Sqlite).await
}
