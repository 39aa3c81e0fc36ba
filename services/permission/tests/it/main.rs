//! The permission service against real databases: one conformance suite of
//! the directory store and one of the demo directory's decisions, each run
//! on PostgreSQL and on SQLite.

mod binary;
mod demo;
mod directory_store;

/// The one set of migrations (per-dialect files only where the DDL differs)
/// leaves both backends with the same tables and columns.
#[tokio::test]
async fn both_dialects_end_on_the_same_schema() -> anyhow::Result<()> {
    let columns = actas_shared::testing::same_schema_on_both_backends(&MIGRATIONS).await?;
    assert!(columns > 20, "the migrations made the tables: {columns} columns");
    Ok(())
}

use std::{future::Future, pin::Pin, sync::Arc};

use actas_permission::store::{DirectoryStore, MIGRATIONS, SqlDirectory};
use anyhow::Context as _;

use actas_shared::testing::TestBackend as Backend;

pub type CheckFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
/// One conformance check: a name (for failure messages) and the check itself,
/// which gets a fresh, migrated, empty store.
pub type Check = (&'static str, fn(Arc<dyn DirectoryStore>) -> CheckFuture);

#[derive(Clone, Copy, Debug)]
enum Kind {
    Postgres,
    Sqlite,
}

/// Runs every check on a fresh store of the backend, in order.
async fn run(kind: Kind, checks: &[Check]) -> anyhow::Result<()> {
    for (name, check) in checks {
        eprintln!("check {name} on {kind:?}");
        let backend = match kind {
            Kind::Postgres => Backend::postgres(&MIGRATIONS).await?,
            Kind::Sqlite => Backend::sqlite(&MIGRATIONS).await?,
        };
        let store: Arc<dyn DirectoryStore> = Arc::new(SqlDirectory::new(backend.pool.clone()));
        check(store)
            .await
            .with_context(|| format!("check {name} on {kind:?}"))?;
        backend.pool.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn directory_store_on_postgres() -> anyhow::Result<()> {
    run(Kind::Postgres, directory_store::CHECKS).await
}

#[tokio::test]
async fn directory_store_on_sqlite() -> anyhow::Result<()> {
    run(Kind::Sqlite, directory_store::CHECKS).await
}

#[tokio::test]
async fn demo_directory_on_postgres() -> anyhow::Result<()> {
    run(Kind::Postgres, demo::CHECKS).await
}

#[tokio::test]
async fn demo_directory_on_sqlite() -> anyhow::Result<()> {
    run(Kind::Sqlite, demo::CHECKS).await
}
