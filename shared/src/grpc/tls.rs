//! Mutual TLS between the services: the three `ACTAS_GRPC_TLS_*` files,
//! read and checked once at start, turned into tonic's server and client
//! TLS settings. All three unset: plaintext.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use rustls::{
    RootCertStore,
    crypto::ring,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject as _},
    server::ParsedCertificate,
    sign::CertifiedKey,
};
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::{ApiError, ErrorCode};

const CERT: &str = "ACTAS_GRPC_TLS_CERT";
const KEY: &str = "ACTAS_GRPC_TLS_KEY";
const CA: &str = "ACTAS_GRPC_TLS_CA";

/// A TLS handshake slower than this is dropped, so idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the TLS files were refused. Names the variable and the file, never
/// their content.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{missing} not set: {CERT}, {KEY} and {CA} turn on mutual TLS together, or are all unset for plaintext"
    )]
    Incomplete { missing: String },
    #[error("{variable}: cannot read {path}")]
    Read {
        variable: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{variable}: {path} {problem}")]
    Invalid {
        variable: &'static str,
        path: PathBuf,
        problem: &'static str,
    },
    #[error("{KEY} is not the private key of the certificate in {CERT}")]
    KeyMismatch,
}

/// The files of this service's TLS identity and of the CA all services
/// share; flattened into each service's `Config`. Kubernetes mounts them
/// from a Secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    /// `ACTAS_GRPC_TLS_CERT`: this service's certificate chain, PEM, leaf
    /// first; presented as server and as client.
    pub grpc_tls_cert: Option<PathBuf>,
    /// `ACTAS_GRPC_TLS_KEY`: its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub grpc_tls_key: Option<PathBuf>,
    /// `ACTAS_GRPC_TLS_CA`: the CA certificates, PEM, that sign every
    /// service's certificate: the server requires a client certificate
    /// signed by them, and clients verify servers against them.
    pub grpc_tls_ca: Option<PathBuf>,
}

/// Loaded and checked mutual TLS settings, for [`super::serve`] and
/// [`super::channel`].
#[derive(Clone, Debug)]
pub struct Tls {
    server: ServerTlsConfig,
    client: ClientTlsConfig,
}

impl Tls {
    pub(crate) fn server(&self) -> ServerTlsConfig {
        self.server.clone()
    }

    pub(crate) fn client(&self) -> ClientTlsConfig {
        self.client.clone()
    }
}

/// An empty value counts as unset (manifests often template empty strings).
fn given(path: Option<&PathBuf>) -> Option<&Path> {
    path.map(PathBuf::as_path)
        .filter(|path| !path.as_os_str().is_empty())
}

fn read(variable: &'static str, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        variable,
        path: path.to_owned(),
        source,
    })
}

fn certificates(
    variable: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let invalid = |problem| Error::Invalid {
        variable,
        path: path.to_owned(),
        problem,
    };
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("is not valid PEM"))?;
    if certificates.is_empty() {
        return Err(invalid("holds no PEM certificate"));
    }
    for certificate in &certificates {
        ParsedCertificate::try_from(certificate).map_err(|_| invalid("holds a malformed certificate"))?;
    }
    Ok(certificates)
}

impl TlsConfig {
    /// The same files for every service of a test or a deployment, but this
    /// service's identity.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>, ca: impl Into<PathBuf>) -> Self {
        Self {
            grpc_tls_cert: Some(cert.into()),
            grpc_tls_key: Some(key.into()),
            grpc_tls_ca: Some(ca.into()),
        }
    }

    /// Reads and checks the files: `None` when all three variables are
    /// unset, an error naming the variable when only some are set, a file
    /// cannot be read, holds no valid certificate or key, or the key is not
    /// the certificate's.
    pub fn load(&self) -> Result<Option<Tls>, Error> {
        let files = [
            (CERT, given(self.grpc_tls_cert.as_ref())),
            (KEY, given(self.grpc_tls_key.as_ref())),
            (CA, given(self.grpc_tls_ca.as_ref())),
        ];
        let (Some(cert_path), Some(key_path), Some(ca_path)) = (files[0].1, files[1].1, files[2].1) else {
            let missing: Vec<&str> = files
                .iter()
                .filter(|(_, path)| path.is_none())
                .map(|(variable, _)| *variable)
                .collect();
            if missing.len() == files.len() {
                return Ok(None);
            }
            return Err(Error::Incomplete {
                missing: match missing.as_slice() {
                    [one] => format!("{one} is"),
                    many => format!("{} are", many.join(" and ")),
                },
            });
        };
        let cert_pem = read(CERT, cert_path)?;
        let key_pem = read(KEY, key_path)?;
        let ca_pem = read(CA, ca_path)?;

        let chain = certificates(CERT, cert_path, &cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| Error::Invalid {
            variable: KEY,
            path: key_path.to_owned(),
            problem: "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
        })?;
        CertifiedKey::from_der(chain, key, &ring::default_provider()).map_err(|error| match error {
            rustls::Error::InconsistentKeys(_) => Error::KeyMismatch,
            _ => Error::Invalid {
                variable: KEY,
                path: key_path.to_owned(),
                problem: "holds a private key of an unsupported kind",
            },
        })?;
        let mut roots = RootCertStore::empty();
        for certificate in certificates(CA, ca_path, &ca_pem)? {
            roots.add(certificate).map_err(|_| Error::Invalid {
                variable: CA,
                path: ca_path.to_owned(),
                problem: "holds a certificate that cannot be a trust anchor",
            })?;
        }

        let identity = Identity::from_pem(&cert_pem, &key_pem);
        let ca = Certificate::from_pem(&ca_pem);
        Ok(Some(Tls {
            // A CA for clients makes client certificates required (tonic's
            // `client_auth_optional` stays false): mutual TLS.
            server: ServerTlsConfig::new()
                .identity(identity.clone())
                .client_ca_root(ca.clone())
                .timeout(HANDSHAKE_TIMEOUT),
            client: ClientTlsConfig::new()
                .ca_certificate(ca)
                .identity(identity)
                .timeout(HANDSHAKE_TIMEOUT),
        }))
    }
}

/// Whether the verified certificate the caller presented names `service`
/// (a DNS subject alternative name, such as `token-issuer`): which service
/// is calling, under mutual TLS. The handshake already verified the chain
/// against the CA; without TLS there is no certificate and the answer is no.
pub fn peer_is<T>(request: &tonic::Request<T>, service: &str) -> bool {
    let Some(chain) = request.peer_certs() else {
        return false;
    };
    let Some(leaf) = chain.first() else {
        return false;
    };
    let (Ok(certificate), Ok(name)) = (ParsedCertificate::try_from(leaf), ServerName::try_from(service))
    else {
        return false;
    };
    rustls::client::verify_server_name(&certificate, &name).is_ok()
}

/// Whether `name` could be a caller's identity: a DNS name a certificate
/// can carry (for lists of allowed callers read from configuration).
pub fn is_service_name(name: &str) -> bool {
    matches!(ServerName::try_from(name), Ok(ServerName::DnsName(_)))
}

/// Refuses a call that `service` did not make, when `check` (mutual TLS is
/// on, so callers are known); without it, callers are trusted as before.
pub fn require_caller<T>(request: &tonic::Request<T>, check: bool, service: &str) -> Result<(), ApiError> {
    if !check || peer_is(request, service) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::Unauthorized,
        format!("Only the {service} service may make this call."),
    ))
}

/// Refuses a call that none of `services` made, when `check`.
pub fn require_caller_among<T>(
    request: &tonic::Request<T>,
    check: bool,
    services: &[&str],
) -> Result<(), ApiError> {
    if !check || services.iter().any(|service| peer_is(request, service)) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::Unauthorized,
        format!(
            "Only the {} service may call this service.",
            services.join(" or ")
        ),
    ))
}

/// A server interceptor that answers only `services` under mutual TLS
/// (`check`): a service with no business here is refused before any
/// handler runs, whatever it asks.
pub fn only_from(
    check: bool,
    services: &'static [&'static str],
) -> impl Fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone + Send + Sync + 'static
{
    move |request| {
        require_caller_among(&request, check, services).map_err(tonic::Status::from)?;
        Ok(request)
    }
}
