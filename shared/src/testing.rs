//! Real backends for tests: a fresh PostgreSQL database per test (dropped
//! afterwards, even when the test panics) and the Redis to use with a
//! unique key prefix. Tests never touch another test's data, and never
//! flush or stop the shared servers.

use std::time::Duration;

use sqlx::{Connection as _, PgConnection};

use crate::db::{Migrations, Pool};

mod redis_cluster;
pub use redis_cluster::RedisCluster;

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
    port: u16,
    /// Where it keeps its snapshot, when it keeps one.
    dir: Option<std::path::PathBuf>,
    child: std::process::Child,
}

impl RedisServer {
    /// A server that keeps nothing on disk.
    pub fn start() -> anyhow::Result<Self> {
        Self::spawn(free_port()?, None)
    }

    /// A server that writes its snapshot into `dir` when told (`SAVE`) and
    /// loads it when it starts, as a Redis with a data volume does: a test
    /// can [`Self::restart`] it from an older state.
    pub fn start_persistent(dir: &std::path::Path) -> anyhow::Result<Self> {
        Self::spawn(free_port()?, Some(dir.to_owned()))
    }

    fn spawn(port: u16, dir: Option<std::path::PathBuf>) -> anyhow::Result<Self> {
        let mut command = std::process::Command::new("redis-server");
        command.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        if let Some(dir) = &dir {
            command.arg("--dir").arg(dir).args(["--dbfilename", "dump.rdb"]);
        }
        let child = command
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|error| {
                anyhow::anyhow!(
                    "cannot start redis-server ({error}); install it (Debian: apt-get install redis-server)"
                )
            })?;
        let server = Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            dir,
            child,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    /// Ready when it answers PING (it has loaded its snapshot by then); bounded.
    fn wait_until_ready(&self) -> anyhow::Result<()> {
        use std::io::{Read as _, Write as _};
        for _ in 0..250 {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let mut answer = [0u8; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && &answer == b"+PONG\r\n"
                {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        anyhow::bail!("redis-server did not answer on port {}", self.port)
    }

    /// Kills the server now (a Redis outage).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Writes the snapshot now (`SAVE`), as Redis's save points do by
    /// themselves.
    pub fn save(&self) -> anyhow::Result<()> {
        let saved = std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "save"])
            .output()
            .map_err(|error| anyhow::anyhow!("cannot run redis-cli ({error})"))?;
        anyhow::ensure!(
            saved.status.success() && String::from_utf8_lossy(&saved.stdout).trim() == "OK",
            "SAVE on port {} failed",
            self.port
        );
        Ok(())
    }

    /// Kills the server (SIGKILL, no shutdown save) and starts it again on
    /// the same port and directory: it comes back with its last snapshot.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        let restarted = Self::spawn(self.port, self.dir.clone())?;
        // The old child is reaped; take the new one's place.
        *self = restarted;
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port (bound and released; fine for tests).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One of the project's binaries running as its own process, configured by
/// environment variables like in production, with its admin port known.
pub struct ServiceProcess {
    child: std::process::Child,
    pub admin: String,
}

impl ServiceProcess {
    /// Starts `binary` and waits (bounded) until its admin port answers.
    pub async fn spawn(binary: &str, env: &[(&str, String)]) -> anyhow::Result<Self> {
        let admin = format!("127.0.0.1:{}", free_port()?);
        let child = std::process::Command::new(binary)
            .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
            .env("ACTAS_ADMIN_ADDR", &admin)
            .env("RUST_LOG", "warn")
            .spawn()?;
        let mut process = Self { child, admin };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http
                .get(format!("http://{}/healthz", process.admin))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
            {
                return Ok(process);
            }
            if let Some(status) = process.child.try_wait()? {
                anyhow::bail!("{binary} exited early: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("{binary} did not open its admin port")
    }

    /// The Prometheus text the process serves at `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(reqwest::get(format!("http://{}/metrics", self.admin))
            .await?
            .text()
            .await?)
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit.
    pub async fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the process did not stop within ten seconds of SIGTERM")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls the gRPC health service at `addr` for `service`; returns the status.
pub async fn grpc_health(addr: &str, service: &str) -> anyhow::Result<i32> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    Ok(client
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?
        .into_inner()
        .status)
}

/// Whether Prometheus text holds a sample of `name` with all `labels` (in
/// any order) and, when given, exactly `value`.
pub fn has_sample(text: &str, name: &str, labels: &[(&str, &str)], value: Option<&str>) -> bool {
    text.lines().any(|line| {
        let Some(rest) = line.strip_prefix(name) else {
            return false;
        };
        let Some((label_text, sample)) = rest.strip_prefix('{').and_then(|r| r.split_once("} ")) else {
            return labels.is_empty() && value.is_none_or(|v| rest.trim() == v);
        };
        labels.iter().all(|(key, val)| {
            label_text
                .split(',')
                .any(|pair| pair == format!("{key}=\"{val}\""))
        }) && value.is_none_or(|v| sample.trim() == v)
    })
}

/// One of the two backends a store conformance suite runs on: a fresh
/// PostgreSQL database, or a SQLite file in a directory of its own; both
/// migrated, and gone once dropped.
pub struct TestBackend {
    pub pool: Pool,
    _database: Option<TestDatabase>,
    _sqlite_dir: Option<SqliteDir>,
}

/// Removes the SQLite directory when the test is done, even on panic.
struct SqliteDir(std::path::PathBuf);

impl Drop for SqliteDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestBackend {
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
        let dir =
            SqliteDir(std::env::temp_dir().join(format!("actas-test-{}", uuid::Uuid::new_v4().simple())));
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

/// Runs one gRPC service `binary` as a process configured by environment
/// (`env` plus its gRPC and admin addresses) and checks what operators rely
/// on: the named health service reports SERVING, `/metrics` holds the
/// process's own call and backend samples, and SIGTERM stops it cleanly.
pub async fn check_grpc_service_binary(
    binary: &str,
    service: &str,
    health_name: &str,
    env: &[(&'static str, String)],
) -> anyhow::Result<()> {
    let grpc = format!("127.0.0.1:{}", free_port()?);
    let mut env = env.to_vec();
    env.push(("ACTAS_GRPC_ADDR", grpc.clone()));
    let process = ServiceProcess::spawn(binary, &env).await?;

    // SERVING, and the backend gauge present, once the first probe has run.
    let backend_up = [("service", service)];
    let mut serving = false;
    let mut metrics = String::new();
    for _ in 0..100 {
        serving = grpc_health(&grpc, health_name).await.unwrap_or(0) == 1;
        metrics = process.metrics().await?;
        if serving && has_sample(&metrics, "actas_backend_up", &backend_up, Some("1")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::ensure!(serving, "{binary}: {health_name} is not SERVING");
    anyhow::ensure!(
        has_sample(&metrics, "actas_backend_up", &backend_up, Some("1")),
        "{binary}: no backend_up sample:\n{metrics}"
    );
    let health_call = [
        ("service", service),
        ("method", "/grpc.health.v1.Health/Check"),
        ("code", "0"),
    ];
    anyhow::ensure!(
        has_sample(&metrics, "actas_grpc_requests_total", &health_call, None),
        "{binary}: the health calls are not counted:\n{metrics}"
    );
    anyhow::ensure!(
        metrics.contains("actas_grpc_request_duration_seconds_bucket"),
        "{binary}: no latency histogram:\n{metrics}"
    );

    let exit = process.terminate().await?;
    anyhow::ensure!(exit.success(), "{binary}: no graceful exit on SIGTERM: {exit}");
    Ok(())
}

/// What a migrated database ends on, leaving out the migration
/// bookkeeping: each table's columns (`(table, column)`), the indexes made
/// by name (`("index", name)`), and the tables that carry triggers
/// (`("trigger on", table)`; the triggers themselves are per dialect). What
/// both dialects' migrations must agree on.
pub async fn schema(pool: &Pool) -> anyhow::Result<std::collections::BTreeSet<(String, String)>> {
    const PG: [&str; 3] = [
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_actas\\_%'",
        // Not the indexes behind a primary key or unique constraint: SQLite
        // names those itself.
        "SELECT 'index', indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
         AND indexname NOT IN (SELECT conname FROM pg_constraint) AND tablename NOT LIKE '\\_actas\\_%'",
        "SELECT DISTINCT 'trigger on', event_object_table::text FROM information_schema.triggers \
         WHERE trigger_schema = current_schema()",
    ];
    const SQLITE: [&str; 3] = [
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND m.name NOT LIKE '\\_actas\\_%' ESCAPE '\\'",
        "SELECT 'index', name FROM sqlite_master WHERE type = 'index' \
         AND name NOT LIKE 'sqlite\\_autoindex%' ESCAPE '\\' AND tbl_name NOT LIKE '\\_actas\\_%' ESCAPE '\\'",
        "SELECT DISTINCT 'trigger on', tbl_name FROM sqlite_master WHERE type = 'trigger'",
    ];
    let mut found = std::collections::BTreeSet::new();
    for (postgres, sqlite) in PG.into_iter().zip(SQLITE) {
        let rows: Vec<(String, String)> = match pool {
            Pool::Postgres(pool) => sqlx::query_as(postgres).fetch_all(pool).await?,
            Pool::Sqlite(pool) => sqlx::query_as(sqlite).fetch_all(pool).await?,
        };
        found.extend(rows);
    }
    Ok(found)
}

/// Migrates a fresh PostgreSQL database and a fresh SQLite file with
/// `migrations` and checks both end on the same tables and columns; the
/// number of columns.
pub async fn same_schema_on_both_backends(migrations: &Migrations) -> anyhow::Result<usize> {
    let postgres = TestBackend::postgres(migrations).await?;
    let sqlite = TestBackend::sqlite(migrations).await?;
    let (on_postgres, on_sqlite) = (schema(&postgres.pool).await?, schema(&sqlite.pool).await?);
    anyhow::ensure!(
        on_postgres == on_sqlite,
        "the dialects differ: only on PostgreSQL {:?}, only on SQLite {:?}",
        on_postgres.difference(&on_sqlite).collect::<Vec<_>>(),
        on_sqlite.difference(&on_postgres).collect::<Vec<_>>(),
    );
    Ok(on_postgres.len())
}
