//! The whole actas system in one process, for end-to-end tests and the
//! `actas-dev` launcher: the four services, each on its own loopback port
//! (port 0 unless told otherwise), started in order and stopped cleanly;
//! with mutual TLS between them on request.

pub mod fixtures;
pub mod pki;

use std::{net::SocketAddr, sync::Arc};

use actas_permission::seed;
use actas_shared::grpc::{self, TlsConfig};
use actas_token_issuer::store::TokenStore;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::pki::TestPki;

/// Where the sandbox keeps its state and how it behaves.
#[derive(Clone)]
pub struct Options {
    /// One database for both services that own a schema (each migrates its own tables).
    pub database_url: String,
    /// `None`: the in-memory token store.
    pub redis_url: Option<String>,
    /// `ACTAS_REDIS_CLUSTER_URLS` of the token issuer (exclusive with `redis_url`).
    pub redis_cluster_urls: Option<String>,
    /// A token store of the test's own (it keeps a handle, say to restore
    /// an in-memory store as a snapshot would); wins over the URLs.
    pub token_store: Option<Arc<dyn TokenStore>>,
    pub redis_key_prefix: String,
    pub token_ttl_secs: u64,
    pub impersonation_max_secs: u64,
    pub impersonation_idle_secs: u64,
    /// Ed25519 PKCS#8 PEM; `None` generates one (replicas then disagree).
    pub signing_key_pem: Option<String>,
    /// Extra Ed25519 public keys (SPKI PEM blocks) accepted for verification.
    pub verification_keys_pem: Option<String>,
    /// `127.0.0.1:0` picks free ports.
    pub http_addr: String,
    pub permission_addr: String,
    pub token_issuer_addr: String,
    pub session_addr: String,
    pub seed_demo: bool,
    /// `ACTAS_REQUIRE_REASON` of the session service.
    pub require_reason: bool,
    /// `ACTAS_CONTEXT_READERS` of the session service.
    pub context_readers: String,
    /// `ACTAS_ADMIN_SESSION_TTL_SECS` and `ACTAS_ADMIN_SESSION_MAX_SECS`.
    pub admin_session_ttl_secs: u64,
    pub admin_session_max_secs: u64,
    /// The gateway's rate limits per minute (0: off, the tests' default).
    pub issue_limit_per_minute: u32,
    pub redeem_limit_per_minute: u32,
    pub guest_context_limit_per_minute: u32,
    /// `ACTAS_TRUSTED_PROXIES` of the gateway.
    pub trusted_proxies: String,
    /// `ACTAS_WEBHOOK_URL` and `ACTAS_WEBHOOK_SECRET` of the session service.
    pub webhook: Option<(String, String)>,
    /// Mutual TLS between the services, with a PKI made for this sandbox
    /// ([`Sandbox::pki`]): `ACTAS_GRPC_TLS_*` set for each, `https://` URLs.
    pub mutual_tls: bool,
    /// The gateway's connection limits (`ACTAS_HTTP_HEADER_READ_TIMEOUT_SECS` and friends).
    pub http_connections: actas_gateway::serve::ConnectionLimits,
    /// `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS` of the gateway.
    pub http_body_read_timeout_secs: u64,
}

impl Options {
    pub fn new(database_url: String) -> Self {
        Self {
            database_url,
            redis_url: None,
            redis_cluster_urls: None,
            token_store: None,
            redis_key_prefix: "actas:".into(),
            token_ttl_secs: 120,
            impersonation_max_secs: 3600,
            impersonation_idle_secs: 900,
            signing_key_pem: None,
            verification_keys_pem: None,
            http_addr: "127.0.0.1:0".into(),
            permission_addr: "127.0.0.1:0".into(),
            token_issuer_addr: "127.0.0.1:0".into(),
            session_addr: "127.0.0.1:0".into(),
            seed_demo: true,
            require_reason: false,
            context_readers: String::new(),
            admin_session_ttl_secs: actas_session::Config::default().admin_session_ttl_secs,
            admin_session_max_secs: actas_session::Config::default().admin_session_max_secs,
            issue_limit_per_minute: 0,
            redeem_limit_per_minute: 0,
            guest_context_limit_per_minute: 0,
            trusted_proxies: String::new(),
            webhook: None,
            mutual_tls: false,
            http_connections: actas_gateway::serve::ConnectionLimits::default(),
            http_body_read_timeout_secs: actas_gateway::Config::default().http_body_read_timeout_secs,
        }
    }
}

/// A running system.
pub struct Sandbox {
    pub gateway: SocketAddr,
    pub permission: SocketAddr,
    pub token_issuer: SocketAddr,
    pub session: SocketAddr,
    /// The CA and service certificates, when [`Options::mutual_tls`].
    pub pki: Option<TestPki>,
    /// The gateway's client side of mutual TLS, for the tests' own calls.
    client_tls: Option<grpc::Tls>,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

/// Binds `addr`; the error names the variable that sets it (port 0 picks a free port).
async fn bind(addr: &str, variable: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|error| {
        anyhow::anyhow!(
            "binding {variable}={addr}: {error}; set {variable} to a free address (port 0 picks one)"
        )
    })
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

fn grpc_url(addr: SocketAddr, tls: bool) -> String {
    if tls { format!("https://{addr}") } else { url(addr) }
}

impl Sandbox {
    pub async fn start(options: Options) -> anyhow::Result<Sandbox> {
        let pki = if options.mutual_tls {
            Some(TestPki::generate("actas sandbox CA")?)
        } else {
            None
        };
        let tls_of = |service: &str| {
            pki.as_ref()
                .map_or_else(TlsConfig::default, |pki| pki.config(service))
        };
        let service_url = |addr| grpc_url(addr, pki.is_some());
        // Bind every listener first, so each service knows the others' ports.
        let permission_listener = bind(&options.permission_addr, "ACTAS_PERMISSION_ADDR").await?;
        let token_issuer_listener = bind(&options.token_issuer_addr, "ACTAS_TOKEN_ISSUER_ADDR").await?;
        let session_listener = bind(&options.session_addr, "ACTAS_SESSION_ADDR").await?;
        let gateway_listener = bind(&options.http_addr, "ACTAS_HTTP_ADDR").await?;
        let permission = permission_listener.local_addr()?;
        let token_issuer = token_issuer_listener.local_addr()?;
        let session = session_listener.local_addr()?;
        let gateway = gateway_listener.local_addr()?;

        let permission_app = actas_permission::Application::build(
            &actas_permission::Config {
                grpc_addr: permission.to_string(),
                database_url: options.database_url.clone(),
                database_max_connections: 10,
                grpc_tls: tls_of("permission"),
                ..actas_permission::Config::default()
            },
            permission_listener,
        )
        .await?;
        if options.seed_demo {
            let store = permission_app.directory().store();
            if !seed::seed_demo(store.as_ref(), gateway.port()).await? {
                seed::follow_port(store.as_ref(), gateway.port()).await?;
            }
        }
        let token_issuer_config = actas_token_issuer::Config {
            grpc_addr: token_issuer.to_string(),
            redis_url: options.redis_url.clone(),
            redis_cluster_urls: options.redis_cluster_urls.clone(),
            admin_addr: String::new(),
            redis_key_prefix: options.redis_key_prefix.clone(),
            signing_key_pem: options.signing_key_pem.clone().map(Into::into),
            verification_keys_pem: options.verification_keys_pem.clone(),
            token_ttl_secs: options.token_ttl_secs,
            token_issuer: "actas".into(),
            grpc_tls: tls_of("token-issuer"),
        };
        let token_issuer_app = match &options.token_store {
            Some(store) => {
                actas_token_issuer::Application::build_with_store(
                    &token_issuer_config,
                    token_issuer_listener,
                    store.clone(),
                )
                .await?
            }
            None => {
                actas_token_issuer::Application::build(&token_issuer_config, token_issuer_listener).await?
            }
        };
        let session_app = actas_session::Application::build(
            &actas_session::Config {
                grpc_addr: session.to_string(),
                database_url: options.database_url.clone(),
                database_max_connections: 10,
                permission_url: service_url(permission),
                token_issuer_url: service_url(token_issuer),
                impersonation_max_secs: options.impersonation_max_secs,
                impersonation_idle_secs: options.impersonation_idle_secs,
                require_reason: options.require_reason,
                context_readers: options.context_readers.clone(),
                admin_session_ttl_secs: options.admin_session_ttl_secs,
                admin_session_max_secs: options.admin_session_max_secs,
                webhook_url: options.webhook.as_ref().map(|(url, _)| url.clone()),
                webhook_secret: options.webhook.as_ref().map(|(_, secret)| secret.clone().into()),
                grpc_tls: tls_of("session"),
                ..actas_session::Config::default()
            },
            session_listener,
        )
        .await?;
        let gateway_app = actas_gateway::Application::build(
            &actas_gateway::Config {
                http_addr: gateway.to_string(),
                permission_url: service_url(permission),
                session_url: service_url(session),
                token_issuer_url: service_url(token_issuer),
                cookie_secure: false,
                issue_limit_per_minute: options.issue_limit_per_minute,
                redeem_limit_per_minute: options.redeem_limit_per_minute,
                guest_context_limit_per_minute: options.guest_context_limit_per_minute,
                trusted_proxies: options.trusted_proxies.clone(),
                grpc_tls: tls_of("gateway"),
                http_header_read_timeout_secs: options.http_connections.header_read_timeout.as_secs(),
                http_idle_timeout_secs: options.http_connections.idle_timeout.as_secs(),
                http_max_connections: options.http_connections.max_connections,
                http_body_read_timeout_secs: options.http_body_read_timeout_secs,
                ..actas_gateway::Config::default()
            },
            gateway_listener,
        )
        .await?;

        let (stop, stopped) = watch::channel(false);
        let signal = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        let tasks = vec![
            (
                "permission",
                tokio::spawn(permission_app.run_until_stopped(signal())),
            ),
            (
                "token-issuer",
                tokio::spawn(token_issuer_app.run_until_stopped(signal())),
            ),
            ("session", tokio::spawn(session_app.run_until_stopped(signal()))),
            ("gateway", tokio::spawn(gateway_app.run_until_stopped(signal()))),
        ];
        let client_tls = tls_of("gateway").load()?;
        Ok(Sandbox {
            gateway,
            permission,
            token_issuer,
            session,
            pki,
            client_tls,
            stop,
            tasks,
        })
    }

    pub fn gateway_url(&self) -> String {
        url(self.gateway)
    }

    /// `https://` under mutual TLS.
    pub fn grpc_url(&self, addr: SocketAddr) -> String {
        grpc_url(addr, self.client_tls.is_some())
    }

    /// A channel to the service at `addr`; under mutual TLS it presents the
    /// gateway's certificate, so tests call where the gateway would.
    pub fn grpc_channel(&self, addr: SocketAddr) -> anyhow::Result<grpc::Channel> {
        Ok(grpc::channel(&self.grpc_url(addr), self.client_tls.as_ref())?)
    }

    /// Stops every service and waits for each to drain.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        for (name, task) in self.tasks {
            task.await
                .map_err(|error| anyhow::anyhow!("{name} panicked: {error}"))?
                .map_err(|error| error.context(format!("{name} failed")))?;
        }
        Ok(())
    }

    /// Resolves when any service stops on its own (a failure), naming it.
    pub async fn wait_for_failure(&mut self) -> anyhow::Error {
        let (result, index, _) =
            futures::future::select_all(self.tasks.iter_mut().map(|(_, task)| task)).await;
        let name = self.tasks[index].0;
        match result {
            Ok(Ok(())) => anyhow::anyhow!("{name} stopped"),
            Ok(Err(error)) => error.context(format!("{name} failed")),
            Err(error) => anyhow::anyhow!("{name} panicked: {error}"),
        }
    }
}
