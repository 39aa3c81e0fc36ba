//! What every handler gets: the channels to the services, the limits and
//! the short-lived caches, built once from the [`Config`].

use std::{
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use actas_shared::{
    cache::TtlCache,
    grpc::{self, Channel},
    ids::SalesChannelId,
    proto::{
        SessionContext, permission_service_client::PermissionServiceClient,
        session_service_client::SessionServiceClient, token_issuer_client::TokenIssuerClient,
    },
};
use anyhow::Context as _;
use ipnet::IpNet;

use crate::{
    config::{Config, parse_trusted_proxies},
    limits::Limits,
};

/// What every handler gets: one multiplexed channel per downstream service.
#[derive(Clone)]
pub struct AppState {
    pub permission: PermissionServiceClient<Channel>,
    pub sessions: SessionServiceClient<Channel>,
    pub tokens: TokenIssuerClient<Channel>,
    pub cookie_secure: bool,
    pub limits: Arc<Limits>,
    pub trusted_proxies: Arc<Vec<IpNet>>,
    /// Sales channels by `sw-access-key`, trusted for a second: every
    /// Store API request names one, and they almost never change.
    pub access_keys: Arc<TtlCache<String, Arc<StoreChannel>>>,
    /// Customers as the directory holds them, trusted for a second: the
    /// context answers their email and flags, and a page asks it in bursts.
    pub customers: Arc<TtlCache<String, actas_shared::proto::Principal>>,
    /// Session contexts by token hash, as the session service answered them
    /// within [`CONTEXT_TTL`]: most requests of a session come in bursts
    /// (a storefront page is several calls), and each would otherwise be a
    /// gRPC call. Changes made through this gateway drop their entry at once.
    pub contexts: Arc<TtlCache<String, SessionContext>>,
    /// `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`
    pub body_read_timeout: Duration,
    pub(crate) ready: Arc<AtomicBool>,
}

/// How long a resolved access key is trusted (the same bound as sessions).
const ACCESS_KEY_TTL: Duration = Duration::from_secs(1);

/// How long this gateway trusts a session context. Half the revocation
/// bound: the session service may itself answer from its own cache of the
/// same age (`actas_session::sessions::RECHECK_INTERVAL`), and together
/// they stay within the second that SECURITY.md promises.
pub const CONTEXT_TTL: Duration = Duration::from_millis(500);

/// Contexts kept per gateway replica at most (a few MiB).
const CONTEXT_CAPACITY: usize = 50_000;

impl AppState {
    /// The channels (mutual TLS when configured), limits and empty caches.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let tls = config.grpc_tls.load()?;
        let channel = |url: &str, variable: &'static str| grpc::channel(url, tls.as_ref()).context(variable);
        Ok(AppState {
            permission: PermissionServiceClient::new(channel(
                &config.permission_url,
                "ACTAS_PERMISSION_URL",
            )?),
            sessions: SessionServiceClient::new(channel(&config.session_url, "ACTAS_SESSION_URL")?),
            tokens: TokenIssuerClient::new(channel(&config.token_issuer_url, "ACTAS_TOKEN_ISSUER_URL")?),
            cookie_secure: config.cookie_secure,
            limits: Arc::new(Limits::new(
                config.issue_limit_per_minute,
                config.redeem_limit_per_minute,
                config.guest_context_limit_per_minute,
            )),
            trusted_proxies: Arc::new(parse_trusted_proxies(&config.trusted_proxies)?),
            // Only keys that resolved are kept, so guessing fills nothing.
            access_keys: Arc::new(TtlCache::new("access_key", ACCESS_KEY_TTL, 10_000)),
            customers: Arc::new(TtlCache::new("customer", ACCESS_KEY_TTL, CONTEXT_CAPACITY)),
            contexts: Arc::new(TtlCache::new("context", CONTEXT_TTL, CONTEXT_CAPACITY)),
            body_read_timeout: config.body_read_timeout()?,
            ready: Arc::new(AtomicBool::new(true)),
        })
    }
}

/// A Store API sales channel as the directory holds it: its name and, of
/// each kind of context option, its default (the context answers them).
#[derive(Clone, Debug)]
pub struct StoreChannel {
    pub id: SalesChannelId,
    pub name: String,
    pub defaults: Vec<actas_shared::proto::ContextOption>,
}

impl StoreChannel {
    /// The default id of `kind`, if the channel offers one.
    pub fn default_of(&self, kind: actas_shared::proto::ContextOptionKind) -> Option<&str> {
        self.defaults
            .iter()
            .find(|option| option.kind == i32::from(kind))
            .map(|option| option.id.as_str())
    }
}
