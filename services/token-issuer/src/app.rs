//! Startup wiring: typed config, keys and store, the gRPC server on an
//! injected listener.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use actas_shared::{grpc, proto::token_issuer_server::TokenIssuerServer};
use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{
    grpc::TokenIssuerGrpc,
    issuer::Issuer,
    keys::KeySet,
    store::{ClusterStore, MemoryStore, RedisStore, TokenStore},
};

/// Tokens live minutes at most.
const MAX_TTL_SECS: u64 = 900;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `ACTAS_GRPC_ADDR`
    pub grpc_addr: String,
    /// `ACTAS_ADMIN_ADDR`: `/metrics` for Prometheus.
    pub admin_addr: String,
    /// `REDIS_URL`; without it (and without a cluster), the in-memory store
    /// (one process only).
    pub redis_url: Option<String>,
    /// `ACTAS_REDIS_CLUSTER_URLS`: comma-separated seed nodes of a Redis
    /// Cluster (`redis://host:port,redis://host:port`). Exclusive with
    /// `REDIS_URL`. A string, not a list: the environment has no list syntax.
    pub redis_cluster_urls: Option<String>,
    /// `ACTAS_REDIS_KEY_PREFIX`
    pub redis_key_prefix: String,
    /// `ACTAS_SIGNING_KEY_PEM`: Ed25519 PKCS#8 PEM; generated when absent.
    #[serde(skip_serializing)]
    pub signing_key_pem: Option<SecretString>,
    /// `ACTAS_VERIFICATION_KEYS_PEM`: Ed25519 public keys (SPKI PEM blocks,
    /// concatenated) accepted for verification besides the signing key's
    /// own, so the signing key rotates without refusing tokens in flight.
    pub verification_keys_pem: Option<String>,
    /// `ACTAS_TOKEN_TTL_SECS`: lifetime of an impersonation token (1..=900).
    pub token_ttl_secs: u64,
    /// `ACTAS_TOKEN_ISSUER`: the JWT `iss`.
    pub token_issuer: String,
    /// `ACTAS_GRPC_TLS_CERT`, `ACTAS_GRPC_TLS_KEY`, `ACTAS_GRPC_TLS_CA`:
    /// mutual TLS on the gRPC server and the channels to the other services.
    #[serde(flatten)]
    pub grpc_tls: grpc::TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:50052".into(),
            admin_addr: "127.0.0.1:9102".into(),
            redis_url: None,
            redis_cluster_urls: None,
            redis_key_prefix: "actas:".into(),
            signing_key_pem: None,
            verification_keys_pem: None,
            token_ttl_secs: 120,
            token_issuer: "actas".into(),
            grpc_tls: grpc::TlsConfig::default(),
        }
    }
}

/// The store the configuration names: Redis, Redis Cluster, or memory.
fn token_store(config: &Config) -> anyhow::Result<Arc<dyn TokenStore>> {
    match (&config.redis_url, &config.redis_cluster_urls) {
        (Some(_), Some(_)) => anyhow::bail!(
            "REDIS_URL and ACTAS_REDIS_CLUSTER_URLS are both set: set REDIS_URL for a standalone Redis \
             or ACTAS_REDIS_CLUSTER_URLS for a Redis Cluster, not both"
        ),
        (Some(url), None) => Ok(Arc::new(
            RedisStore::new(url).context("REDIS_URL is not a valid Redis URL")?,
        )),
        (None, Some(urls)) => {
            let nodes = cluster_nodes(urls)?;
            Ok(Arc::new(ClusterStore::new(&nodes).context(
                "ACTAS_REDIS_CLUSTER_URLS holds an invalid Redis URL",
            )?))
        }
        (None, None) => Ok(Arc::new(MemoryStore::new())),
    }
}

/// Splits `ACTAS_REDIS_CLUSTER_URLS` on commas; every entry must be a
/// `redis://` or `rediss://` URL.
fn cluster_nodes(urls: &str) -> anyhow::Result<Vec<&str>> {
    let nodes: Vec<&str> = urls.split(',').map(str::trim).collect();
    for (index, node) in nodes.iter().enumerate() {
        // The entry is not echoed: it may hold a password.
        if !(node.starts_with("redis://") || node.starts_with("rediss://")) {
            anyhow::bail!(
                "ACTAS_REDIS_CLUSTER_URLS must be comma-separated redis:// URLs; entry {} is not",
                index + 1
            );
        }
    }
    Ok(nodes)
}

pub struct Application {
    listener: TcpListener,
    tls: Option<grpc::Tls>,
    issuer: Issuer,
    store: Arc<dyn TokenStore>,
}

impl Application {
    pub async fn build(config: &Config, listener: TcpListener) -> anyhow::Result<Self> {
        let store = token_store(config)?;
        Self::build_with_store(config, listener, store).await
    }

    /// [`Self::build`] on a store the caller made (tests keep a handle on
    /// an in-memory store to restore it as a snapshot would).
    pub async fn build_with_store(
        config: &Config,
        listener: TcpListener,
        store: Arc<dyn TokenStore>,
    ) -> anyhow::Result<Self> {
        if !(1..=MAX_TTL_SECS).contains(&config.token_ttl_secs) {
            anyhow::bail!("ACTAS_TOKEN_TTL_SECS must be between 1 and {MAX_TTL_SECS}");
        }
        let tls = config.grpc_tls.load()?;
        let mut keys = match &config.signing_key_pem {
            Some(pem) => KeySet::from_pem(pem.expose_secret())?,
            None => {
                tracing::warn!("no ACTAS_SIGNING_KEY_PEM: generated a signing key for this process only");
                KeySet::generate()?
            }
        };
        if let Some(pem) = &config.verification_keys_pem {
            keys = keys.with_verification_keys_pem(pem)?;
        }
        tracing::info!(
            signing_kid = keys.signing_kid(),
            verification_kids = ?keys.jwks().into_iter().map(|jwk| jwk.kid).collect::<Vec<_>>(),
            "token keys loaded"
        );
        let issuer = Issuer::new(
            keys,
            config.token_issuer.clone(),
            Duration::from_secs(config.token_ttl_secs),
            config.redis_key_prefix.clone(),
            store.clone(),
        );
        Ok(Self {
            listener,
            tls,
            issuer,
            store,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr()?, "token issuer listening");
        let routes = Routes::new(TokenIssuerServer::new(
            TokenIssuerGrpc::new(self.issuer).check_callers(self.tls.is_some()),
        ));
        let store = self.store;
        let probe: grpc::Probe = Arc::new(move || {
            let store = store.clone();
            Box::pin(async move { store.ping().await.is_ok() })
        });
        grpc::GrpcServer::new("actas-token-issuer", self.listener, routes, self.tls.as_ref())
            .health(&["actas.v1.TokenIssuer"], probe)
            .serve(shutdown)
            .await?;
        Ok(())
    }
}
