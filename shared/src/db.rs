//! One SQL pool for either backend: PostgreSQL in production, SQLite for the
//! embedded local run. Stores write portable SQL (`$n` parameters, TEXT ids,
//! BIGINT unix milliseconds) so one implementation serves both; so do the
//! migrations, but for the few whose DDL differs ([`Ddl`]).

use std::{borrow::Cow, str::FromStr, time::Duration};

use sqlx::{
    ConnectOptions as _, PgPool, SqlitePool,
    migrate::{Migration, MigrationType, Migrator},
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
};

/// A connection pool on one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Migrations of one service, in order: `(version, description, ddl)`.
pub struct Migrations {
    /// The table recording applied versions; one per service so services may share a database.
    pub table: &'static str,
    pub list: &'static [(i64, &'static str, Ddl)],
}

/// One migration's SQL: one text for both backends, or one each where their
/// DDL differs (triggers, for instance). A text must never change once
/// released: sqlx keeps its checksum and refuses a database migrated with
/// another.
pub enum Ddl {
    Both(&'static str),
    Each {
        postgres: &'static str,
        sqlite: &'static str,
    },
}

impl Pool {
    /// Connects to `postgres://…` (up to `max_connections`) or `sqlite://…`
    /// (one connection; the file is created when missing).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Pool, sqlx::Error> {
        // Fail fast when the database is unreachable: callers turn it into 503.
        let acquire_timeout = Duration::from_secs(3);
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                .disable_statement_logging();
            // One connection: SQLite runs one writer at a time, and a second
            // connection's write waits in SQLite's busy handler, sleeping
            // and retrying (up to 100 ms a try) while others pass it. On one
            // connection the pool queues statements in order instead; reads
            // are in-memory page reads, and hot reads are cached above.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Pool::Sqlite(pool))
        } else {
            let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Pool::Postgres(pool))
        }
    }

    /// Applies the migrations for this pool's backend.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), sqlx::migrate::MigrateError> {
        let mut migrator = Migrator::with_migrations(
            migrations
                .list
                .iter()
                .map(|&(version, description, ref ddl)| {
                    let sql = match (self, ddl) {
                        (_, Ddl::Both(sql)) => sql,
                        (Pool::Postgres(_), Ddl::Each { postgres, .. }) => postgres,
                        (Pool::Sqlite(_), Ddl::Each { sqlite, .. }) => sqlite,
                    };
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        sqlx::SqlSafeStr::into_sql_str(*sql),
                        false,
                    )
                })
                .collect(),
        );
        migrator.dangerous_set_table_name(migrations.table);
        match self {
            Pool::Postgres(pool) => migrator.run(pool).await,
            Pool::Sqlite(pool) => migrator.run(pool).await,
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn is_healthy(&self) -> bool {
        match self {
            Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
            Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
        }
    }

    /// A health probe for [`crate::grpc::GrpcServer::health`]; also records the pool's
    /// connection gauges for `service`.
    pub fn probe(&self, service: &'static str) -> crate::grpc::Probe {
        let pool = self.clone();
        std::sync::Arc::new(move || {
            let pool = pool.clone();
            Box::pin(async move {
                let (size, idle) = match &pool {
                    Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
                    Pool::Sqlite(pool) => (pool.size(), pool.num_idle()),
                };
                let idle = u32::try_from(idle).unwrap_or(u32::MAX);
                metrics::gauge!("actas_db_pool_connections", "service" => service, "state" => "idle")
                    .set(f64::from(idle));
                metrics::gauge!("actas_db_pool_connections", "service" => service, "state" => "active")
                    .set(f64::from(size.saturating_sub(idle)));
                pool.is_healthy().await
            })
        })
    }

    pub async fn close(&self) {
        match self {
            Pool::Postgres(pool) => pool.close().await,
            Pool::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Now, as the stores keep it: unix milliseconds.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs the same body against whichever pool is live. The body sees `$pool`
/// as a concrete `PgPool` or `SqlitePool`, so one piece of portable SQL is
/// compiled and type-checked for both backends.
#[macro_export]
macro_rules! with_pool {
    ($pool:expr, |$name:ident| $body:expr) => {
        match $pool {
            $crate::db::Pool::Postgres($name) => $body,
            $crate::db::Pool::Sqlite($name) => $body,
        }
    };
}

/// Whether PostgreSQL refused a value for its characters (SQLSTATE 22021,
/// `character_not_in_repertoire`: a NUL in text; 22P05,
/// `untranslatable_character`): the client's text, not the database's
/// health. The gateway refuses such text first; this keeps any path it
/// missed a client error too.
pub fn is_unstorable_text(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.code())
        .is_some_and(|code| code == "22021" || code == "22P05")
}
