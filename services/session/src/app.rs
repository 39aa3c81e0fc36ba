//! Startup wiring: typed config, the database, and the gRPC server on an
//! injected listener.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use actas_shared::{
    db::Pool,
    grpc,
    proto::{
        permission_service_client::PermissionServiceClient, session_service_server::SessionServiceServer,
        token_issuer_client::TokenIssuerClient,
    },
};
use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{
    grpc::SessionGrpc,
    sessions::{Lifetimes, SessionManager},
    store::{MIGRATIONS, SessionStore, SqlSessions},
    webhook::Webhook,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `ACTAS_GRPC_ADDR`
    pub grpc_addr: String,
    /// `ACTAS_ADMIN_ADDR`: `/metrics` for Prometheus.
    pub admin_addr: String,
    /// `DATABASE_URL`: `postgres://…` or `sqlite://…`
    pub database_url: String,
    /// `ACTAS_DATABASE_MAX_CONNECTIONS`
    pub database_max_connections: u32,
    /// `ACTAS_PERMISSION_URL`
    pub permission_url: String,
    /// `ACTAS_TOKEN_ISSUER_URL`
    pub token_issuer_url: String,
    /// `ACTAS_ADMIN_SESSION_TTL_SECS`: an admin session's lifetime, from
    /// its login or its latest refresh.
    pub admin_session_ttl_secs: u64,
    /// `ACTAS_ADMIN_SESSION_MAX_SECS`: refreshes never carry an admin
    /// session past this long after its login (then the password again).
    pub admin_session_max_secs: u64,
    /// `ACTAS_CUSTOMER_SESSION_TTL_SECS`
    pub customer_session_ttl_secs: u64,
    /// `ACTAS_IMPERSONATION_MAX_SECS`: hard maximum of an impersonated session.
    pub impersonation_max_secs: u64,
    /// `ACTAS_IMPERSONATION_IDLE_SECS`: an impersonated session unused this
    /// long ends.
    pub impersonation_idle_secs: u64,
    /// `ACTAS_REQUIRE_REASON`: every impersonation start must state a reason.
    pub require_reason: bool,
    /// `ACTAS_CONTEXT_READERS`: under mutual TLS, the services (the DNS
    /// names their certificates carry, comma separated) that may resolve a
    /// context token with `GetContext` and report actions with
    /// `RecordAction`, and nothing else; the gateway may call everything.
    pub context_readers: String,
    /// `ACTAS_ACTION_LIMIT_PER_MINUTE`: action records one impersonated
    /// session may report per minute (per replica; 0: unlimited).
    pub action_limit_per_minute: u32,
    /// `ACTAS_WEBHOOK_URL`: where impersonation events are POSTed (the
    /// impersonated person's notifier); unset, no events are kept.
    pub webhook_url: Option<String>,
    /// `ACTAS_WEBHOOK_SECRET`: the HMAC-SHA256 key of `X-Actas-Signature`.
    #[serde(skip_serializing)]
    pub webhook_secret: Option<SecretString>,
    /// `ACTAS_GRPC_TLS_CERT`, `ACTAS_GRPC_TLS_KEY`, `ACTAS_GRPC_TLS_CA`:
    /// mutual TLS on the gRPC server and the channels to the other services.
    #[serde(flatten)]
    pub grpc_tls: grpc::TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:50053".into(),
            admin_addr: "127.0.0.1:9103".into(),
            database_url: "sqlite://actas-session.db".into(),
            database_max_connections: 10,
            permission_url: "http://127.0.0.1:50051".into(),
            token_issuer_url: "http://127.0.0.1:50052".into(),
            admin_session_ttl_secs: 3600,
            admin_session_max_secs: 43_200,
            customer_session_ttl_secs: 86_400,
            impersonation_max_secs: 3600,
            impersonation_idle_secs: 900,
            require_reason: false,
            context_readers: String::new(),
            action_limit_per_minute: crate::sessions::DEFAULT_ACTION_LIMIT_PER_MINUTE,
            webhook_url: None,
            webhook_secret: None,
            grpc_tls: grpc::TlsConfig::default(),
        }
    }
}

/// How often impersonations past their maximum or idle time are ended on
/// the record when no read ends them first.
const SWEEP_INTERVAL: Duration = Duration::from_secs(2);
/// How often expired spent-token ids and guest contexts are forgotten
/// (every this many sweeps).
const SPENT_TOKEN_SWEEPS: u32 = 15;
/// Expired guest contexts deleted per sweep at most (one statement).
const GUEST_SWEEP_BATCH: i64 = 10_000;

/// Ends due impersonations and those whose actor lost the right, a batch at
/// a time, and forgets expired spent tokens and guest contexts, until stopped.
async fn sweep(manager: SessionManager) {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    let mut recheck_cursor = None;
    for round in 0u32.. {
        ticks.tick().await;
        match manager.end_due(100).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "due impersonations ended"),
            Err(error) => tracing::warn!(%error, "ending due impersonations failed"),
        }
        // Actors who lost the right: their impersonations end on the
        // record even when nobody reads them again (100 a sweep).
        match manager.recheck_open(&mut recheck_cursor, 100).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "impersonations of actors who lost the right ended"),
            Err(error) => tracing::warn!(%error, "re-checking open impersonations failed"),
        }
        if round % SPENT_TOKEN_SWEEPS == 0 {
            match manager.forget_spent_tokens().await {
                Ok(0) => {}
                Ok(forgotten) => tracing::debug!(forgotten, "expired spent tokens forgotten"),
                Err(error) => tracing::warn!(%error, "forgetting spent tokens failed"),
            }
            match manager.forget_expired_guests(GUEST_SWEEP_BATCH).await {
                Ok(0) => {}
                Ok(forgotten) => tracing::debug!(forgotten, "expired guest contexts forgotten"),
                Err(error) => tracing::warn!(%error, "forgetting guest contexts failed"),
            }
        }
    }
}

/// Keeps the `actas_impersonated_sessions_active` gauge current.
async fn count_impersonations(store: SqlSessions) {
    let mut ticks = tokio::time::interval(Duration::from_secs(10));
    loop {
        ticks.tick().await;
        match store
            .count_active_impersonations(actas_shared::db::now_millis())
            .await
        {
            Ok(count) => metrics::gauge!("actas_impersonated_sessions_active").set(count as f64),
            Err(error) => tracing::debug!(%error, "counting impersonated sessions failed"),
        }
    }
}

pub struct Application {
    listener: TcpListener,
    tls: Option<grpc::Tls>,
    manager: SessionManager,
    pool: Pool,
    store: Arc<dyn SessionStore>,
    webhook: Option<Webhook>,
    /// `ACTAS_CONTEXT_READERS`, parsed.
    context_readers: Vec<String>,
}

/// Connects to the database and applies the migrations.
pub async fn connect(config: &Config) -> anyhow::Result<Pool> {
    let pool = Pool::connect(&config.database_url, config.database_max_connections)
        .await
        .context("connecting to the session database (DATABASE_URL)")?;
    pool.migrate(&MIGRATIONS)
        .await
        .context("migrating the session database")?;
    Ok(pool)
}

/// `ACTAS_CONTEXT_READERS`: DNS names, comma separated; each a name a
/// certificate could carry.
fn readers(list: &str) -> anyhow::Result<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            anyhow::ensure!(
                grpc::tls::is_service_name(name),
                "ACTAS_CONTEXT_READERS: {name:?} is not a DNS name"
            );
            Ok(name.to_owned())
        })
        .collect()
}

impl Config {
    /// The session lifetimes, as the manager takes them.
    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            admin: Duration::from_secs(self.admin_session_ttl_secs),
            admin_max: Duration::from_secs(self.admin_session_max_secs),
            customer: Duration::from_secs(self.customer_session_ttl_secs),
            impersonation: Duration::from_secs(self.impersonation_max_secs),
            impersonation_idle: Duration::from_secs(self.impersonation_idle_secs),
        }
    }
}

impl Application {
    pub async fn build(config: &Config, listener: TcpListener) -> anyhow::Result<Self> {
        for (name, value) in [
            ("ACTAS_ADMIN_SESSION_TTL_SECS", config.admin_session_ttl_secs),
            ("ACTAS_ADMIN_SESSION_MAX_SECS", config.admin_session_max_secs),
            (
                "ACTAS_CUSTOMER_SESSION_TTL_SECS",
                config.customer_session_ttl_secs,
            ),
            ("ACTAS_IMPERSONATION_MAX_SECS", config.impersonation_max_secs),
            ("ACTAS_IMPERSONATION_IDLE_SECS", config.impersonation_idle_secs),
        ] {
            if value == 0 {
                anyhow::bail!("{name} must be at least 1");
            }
        }
        anyhow::ensure!(
            config.admin_session_max_secs >= config.admin_session_ttl_secs,
            "ACTAS_ADMIN_SESSION_MAX_SECS ({}) must be at least ACTAS_ADMIN_SESSION_TTL_SECS ({})",
            config.admin_session_max_secs,
            config.admin_session_ttl_secs
        );
        let webhook = match (&config.webhook_url, &config.webhook_secret) {
            (Some(url), Some(secret)) if !secret.expose_secret().is_empty() => {
                Some(Webhook::new(url.clone(), secret.clone()).context("ACTAS_WEBHOOK_URL")?)
            }
            (Some(_), _) => {
                anyhow::bail!("ACTAS_WEBHOOK_URL is set without ACTAS_WEBHOOK_SECRET: every event is signed")
            }
            (None, _) => None,
        };
        let tls = config.grpc_tls.load()?;
        let pool = connect(config).await?;
        let store: Arc<dyn SessionStore> =
            Arc::new(SqlSessions::new(pool.clone()).with_outbox(webhook.is_some()));
        let manager = SessionManager::new(
            store.clone(),
            Arc::new(PermissionServiceClient::new(
                grpc::channel(&config.permission_url, tls.as_ref()).context("ACTAS_PERMISSION_URL")?,
            )),
            Arc::new(TokenIssuerClient::new(
                grpc::channel(&config.token_issuer_url, tls.as_ref()).context("ACTAS_TOKEN_ISSUER_URL")?,
            )),
            config.lifetimes(),
        )
        .require_reason(config.require_reason)
        .action_limit_per_minute(config.action_limit_per_minute);
        Ok(Self {
            listener,
            tls,
            manager,
            pool,
            store,
            webhook,
            context_readers: readers(&config.context_readers)?,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr()?, "session service listening");
        let sweeper = tokio::spawn(sweep(self.manager.clone()));
        // Under mutual TLS only the gateway has business here (the services
        // this one calls never call back), and the context readers, which
        // may ask GetContext and RecordAction alone (SessionGrpc checks the rest).
        let check = self.tls.is_some();
        let mut callers = vec![crate::grpc::GATEWAY.to_owned()];
        callers.extend(self.context_readers.iter().cloned());
        let routes = Routes::new(SessionServiceServer::with_interceptor(
            SessionGrpc::new(self.manager)
                .checking_callers(check)
                .reporters(&self.context_readers),
            move |request: tonic::Request<()>| {
                let callers: Vec<&str> = callers.iter().map(String::as_str).collect();
                grpc::tls::require_caller_among(&request, check, &callers).map_err(tonic::Status::from)?;
                Ok(request)
            },
        ));
        let gauge = tokio::spawn(count_impersonations(SqlSessions::new(self.pool.clone())));
        let drainer = self
            .webhook
            .map(|webhook| tokio::spawn(webhook.drain(self.store.clone())));
        grpc::GrpcServer::new("actas-session", self.listener, routes, self.tls.as_ref())
            .health(&["actas.v1.SessionService"], self.pool.probe("actas-session"))
            .serve(shutdown)
            .await?;
        gauge.abort();
        sweeper.abort();
        if let Some(drainer) = drainer {
            drainer.abort();
        }
        self.pool.close().await;
        Ok(())
    }
}
