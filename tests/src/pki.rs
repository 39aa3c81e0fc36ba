//! A throwaway PKI for mutual TLS in tests: one CA and one certificate per
//! service, made at runtime and written as PEM files (the services read
//! files, as they read Kubernetes Secret mounts).

use std::path::PathBuf;

use actas_shared::grpc::TlsConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The names the sandbox's certificates are issued to: each service's host
/// name in the deployment, which is also its identity under mutual TLS.
pub const SERVICES: [&str; 4] = ["permission", "token-issuer", "session", "gateway"];

/// The PEM text of a certificate and its private key.
pub struct Pem {
    pub cert: String,
    pub key: String,
}

pub struct TestPki {
    dir: tempfile::TempDir,
    pub ca_cert: String,
    ca: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").field("dir", &self.dir.path()).finish()
    }
}

impl TestPki {
    /// A fresh CA named `name`, and a certificate for each of [`SERVICES`].
    pub fn generate(name: &str) -> anyhow::Result<TestPki> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let ca_cert = params.self_signed(&key)?.pem();
        let pki = TestPki {
            dir: tempfile::tempdir()?,
            ca_cert,
            ca: Issuer::new(params, key),
        };
        std::fs::write(pki.path("ca.pem"), &pki.ca_cert)?;
        for service in SERVICES {
            let issued = pki.issue(service)?;
            std::fs::write(pki.path(&format!("{service}.pem")), &issued.cert)?;
            std::fs::write(pki.path(&format!("{service}-key.pem")), &issued.key)?;
        }
        Ok(pki)
    }

    /// A new certificate for `name` (its DNS name), also valid for
    /// `localhost` and `127.0.0.1`, for TLS servers and clients alike.
    pub fn issue(&self, name: &str) -> anyhow::Result<Pem> {
        let mut params =
            CertificateParams::new(vec![name.to_owned(), "localhost".into(), "127.0.0.1".into()])?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.ca)?;
        Ok(Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// Where the file `name` of this PKI lives.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The `ACTAS_GRPC_TLS_*` settings of `service` (one of [`SERVICES`]).
    pub fn config(&self, service: &str) -> TlsConfig {
        TlsConfig::new(
            self.path(&format!("{service}.pem")),
            self.path(&format!("{service}-key.pem")),
            self.path("ca.pem"),
        )
    }
}
