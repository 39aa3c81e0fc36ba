//! The gateway's typed configuration, read once at start (`ACTAS_*`).

use std::time::Duration;

use actas_shared::grpc;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::serve::ConnectionLimits;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `ACTAS_HTTP_ADDR`
    pub http_addr: String,
    /// `ACTAS_ADMIN_ADDR`: `/metrics` for Prometheus.
    pub admin_addr: String,
    /// `ACTAS_PERMISSION_URL`
    pub permission_url: String,
    /// `ACTAS_SESSION_URL`
    pub session_url: String,
    /// `ACTAS_TOKEN_ISSUER_URL`
    pub token_issuer_url: String,
    /// `ACTAS_COOKIE_SECURE`: mark the storefront cookie `Secure` (behind HTTPS).
    pub cookie_secure: bool,
    /// `ACTAS_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of
    /// the proxies in front; only their `X-Forwarded-For` is believed.
    pub trusted_proxies: String,
    /// `ACTAS_ISSUE_LIMIT_PER_MINUTE`: tokens one actor may ask for (0: off).
    pub issue_limit_per_minute: u32,
    /// `ACTAS_REDEEM_LIMIT_PER_MINUTE`: token redemptions per client address (0: off).
    pub redeem_limit_per_minute: u32,
    /// `ACTAS_GUEST_CONTEXT_LIMIT_PER_MINUTE`: new guest contexts per client
    /// address (0: off). A frontend that renders on a server opens them for
    /// its visitors: raise it, or list it in `ACTAS_TRUSTED_PROXIES` and
    /// forward the visitors' addresses.
    pub guest_context_limit_per_minute: u32,
    /// `ACTAS_HTTP_HEADER_READ_TIMEOUT_SECS`: a request's headers must be
    /// complete this long after its first byte (a new connection's, after the accept).
    pub http_header_read_timeout_secs: u64,
    /// `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`: a request body must have arrived
    /// this long after the handler started reading it (then 408).
    pub http_body_read_timeout_secs: u64,
    /// `ACTAS_HTTP_IDLE_TIMEOUT_SECS`: a kept-alive connection with no
    /// request in flight is closed after this.
    pub http_idle_timeout_secs: u64,
    /// `ACTAS_HTTP_MAX_CONNECTIONS`: connections served at once; more wait
    /// in the listen backlog.
    pub http_max_connections: usize,
    /// `ACTAS_GRPC_TLS_CERT`, `ACTAS_GRPC_TLS_KEY`, `ACTAS_GRPC_TLS_CA`:
    /// mutual TLS on the channels to the services.
    #[serde(flatten)]
    pub grpc_tls: grpc::TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        let defaults = ConnectionLimits::default();
        Self {
            http_addr: "127.0.0.1:8080".into(),
            admin_addr: "127.0.0.1:9104".into(),
            permission_url: "http://127.0.0.1:50051".into(),
            session_url: "http://127.0.0.1:50053".into(),
            token_issuer_url: "http://127.0.0.1:50052".into(),
            cookie_secure: false,
            trusted_proxies: String::new(),
            issue_limit_per_minute: 30,
            redeem_limit_per_minute: 30,
            guest_context_limit_per_minute: 300,
            http_header_read_timeout_secs: defaults.header_read_timeout.as_secs(),
            http_body_read_timeout_secs: DEFAULT_BODY_READ_TIMEOUT.as_secs(),
            http_idle_timeout_secs: defaults.idle_timeout.as_secs(),
            http_max_connections: defaults.max_connections,
            grpc_tls: grpc::TlsConfig::default(),
        }
    }
}

/// Bodies here are at most 64 KiB: 10 s is slower than any real client.
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Config {
    /// The connection limits, each of them checked: a zero would close every
    /// connection at once, or accept none.
    pub fn connection_limits(&self) -> anyhow::Result<ConnectionLimits> {
        anyhow::ensure!(
            self.http_max_connections > 0,
            "ACTAS_HTTP_MAX_CONNECTIONS must be at least 1"
        );
        Ok(ConnectionLimits {
            header_read_timeout: seconds(
                self.http_header_read_timeout_secs,
                "ACTAS_HTTP_HEADER_READ_TIMEOUT_SECS",
            )?,
            idle_timeout: seconds(self.http_idle_timeout_secs, "ACTAS_HTTP_IDLE_TIMEOUT_SECS")?,
            max_connections: self.http_max_connections,
        })
    }

    /// `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`, checked like the others.
    pub fn body_read_timeout(&self) -> anyhow::Result<Duration> {
        seconds(
            self.http_body_read_timeout_secs,
            "ACTAS_HTTP_BODY_READ_TIMEOUT_SECS",
        )
    }
}

/// A timeout of whole seconds; zero would close or refuse everything at once.
fn seconds(value: u64, variable: &str) -> anyhow::Result<Duration> {
    anyhow::ensure!(value > 0, "{variable} must be at least 1");
    Ok(Duration::from_secs(value))
}

/// `ACTAS_TRUSTED_PROXIES`: `10.0.0.0/8, 192.168.1.7` (a bare address is a /32 or /128).
pub fn parse_trusted_proxies(text: &str) -> anyhow::Result<Vec<IpNet>> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("ACTAS_TRUSTED_PROXIES: {item:?} is not an IP address or CIDR range")
                })
        })
        .collect()
}
