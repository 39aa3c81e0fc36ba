//! `<binary> probe [SERVICE]`: the health check of a running service, for
//! Kubernetes exec probes. Kubernetes' own gRPC probe speaks plaintext only,
//! so under mutual TLS it cannot reach the port; this asks the service's
//! `grpc.health.v1` over the same mutual TLS its callers use, presenting the
//! pod's own certificate (health answers any certificate of the CA), and
//! exits 0 when the service is SERVING.

use std::time::Duration;

use tonic::transport::Endpoint;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::tls::TlsConfig;

/// The whole probe, connection included; the manifests' timeout is longer.
const PROBE_DEADLINE: Duration = Duration::from_secs(2);

/// Why a probe failed; the message says what, never a key.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("ACTAS_GRPC_ADDR={0:?} is not host:port")]
    Address(String),
    #[error(transparent)]
    Tls(#[from] super::tls::Error),
    #[error("could not reach the service: {0}")]
    Connect(#[source] tonic::transport::Error),
    #[error("the health check failed: {0}")]
    Check(String),
    #[error("not serving: {0}")]
    NotServing(String),
    #[error("no answer within {PROBE_DEADLINE:?}")]
    Timeout,
}

/// Asks the service listening on `grpc_addr` (a wildcard address is asked
/// on loopback) for the health of `service` (`""`: the process). Under
/// mutual TLS the server must present a certificate for `server_name`.
pub async fn probe(
    grpc_addr: &str,
    tls: &TlsConfig,
    server_name: &str,
    service: &str,
) -> Result<(), ProbeError> {
    tokio::time::timeout(PROBE_DEADLINE, check(grpc_addr, tls, server_name, service))
        .await
        .map_err(|_| ProbeError::Timeout)?
}

async fn check(grpc_addr: &str, tls: &TlsConfig, server_name: &str, service: &str) -> Result<(), ProbeError> {
    let address: std::net::SocketAddr = grpc_addr
        .parse()
        .map_err(|_| ProbeError::Address(grpc_addr.to_owned()))?;
    let host = if address.ip().is_unspecified() {
        if address.is_ipv4() {
            "127.0.0.1".to_owned()
        } else {
            "[::1]".to_owned()
        }
    } else if address.is_ipv6() {
        format!("[{}]", address.ip())
    } else {
        address.ip().to_string()
    };
    let tls = tls.load()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{host}:{}", address.port()))
        .map_err(ProbeError::Connect)?;
    if let Some(tls) = &tls {
        endpoint = endpoint
            .tls_config(tls.client().domain_name(server_name))
            .map_err(ProbeError::Connect)?;
    }
    let channel = endpoint.connect().await.map_err(ProbeError::Connect)?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map_err(|status| ProbeError::Check(status.message().to_owned()))?
        .into_inner();
    match answer.status() {
        ServingStatus::Serving => Ok(()),
        other => Err(ProbeError::NotServing(other.as_str_name().to_owned())),
    }
}

/// The `probe` subcommand of a service binary: `<binary> probe [SERVICE]`.
/// `identity` is the name the service's certificate carries (`session`,
/// `permission`, `token-issuer`): the names the caller checks use. An error
/// says why, and makes the exit status the one Kubernetes reads as failed.
pub async fn run(grpc_addr: &str, tls: &TlsConfig, identity: &str) -> anyhow::Result<()> {
    let service = std::env::args().nth(2).unwrap_or_default();
    probe(grpc_addr, tls, identity, &service)
        .await
        .map_err(|error| anyhow::anyhow!("probe of {identity} {service:?} failed: {error}"))
}
