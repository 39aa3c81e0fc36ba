//! The two backends every check runs on: a fresh PostgreSQL database, or a
//! SQLite file in a directory of its own. Both are gone once dropped.

use std::path::PathBuf;

use actas_shared::{
    db::{Migrations, Pool},
    testing::TestDatabase,
};

/// A migrated pool on one backend, with whatever keeps its storage alive.
pub struct Backend {
    pub pool: Pool,
    _database: Option<TestDatabase>,
    _sqlite_dir: Option<SqliteDir>,
}

/// Removes the SQLite directory when the test is done, even on panic.
struct SqliteDir(PathBuf);

impl Drop for SqliteDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Backend {
    pub async fn postgres(migrations: &Migrations) -> anyhow::Result<Self> {
        let database = TestDatabase::create().await?;
        let pool = Pool::connect(&database.url, 5).await?;
        pool.migrate(migrations).await?;
        Ok(Self {
            pool,
            _database: Some(database),
            _sqlite_dir: None,
        })
    }

    pub async fn sqlite(migrations: &Migrations) -> anyhow::Result<Self> {
        let dir = SqliteDir(
            std::env::temp_dir().join(format!("actas-session-it-{}", uuid::Uuid::new_v4().simple())),
        );
        std::fs::create_dir_all(&dir.0)?;
        let url = format!("sqlite://{}/x.db", dir.0.display());
        let pool = Pool::connect(&url, 5).await?;
        pool.migrate(migrations).await?;
        Ok(Self {
            pool,
            _database: None,
            _sqlite_dir: Some(dir),
        })
    }
}
