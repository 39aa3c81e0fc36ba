//! The Ed25519 keys of impersonation tokens: one signing key, and the
//! public keys that verify (the signing key's own and any extra ones, so the
//! signing key can rotate without refusing tokens still in flight). Parsed
//! once at start, never per request. Without a configured signing key a
//! fresh one is generated: fine for a single-process local run, not for
//! several replicas.
//!
//! Rotation, on every replica in turn: add the new key's public part to
//! `ACTAS_VERIFICATION_KEYS_PEM`; then make the new key the signing key
//! (listing the old public key there instead); then, once the token TTL has
//! passed, remove the old public key.

use std::collections::HashMap;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Serialize, de::DeserializeOwned};

/// Startup errors. None of them echoes key material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ACTAS_SIGNING_KEY_PEM is not an Ed25519 PKCS#8 private key in PEM")]
    InvalidPrivateKey,
    #[error(
        "ACTAS_VERIFICATION_KEYS_PEM: PEM block {block} is not an Ed25519 public key \
         (expected -----BEGIN PUBLIC KEY----- holding SubjectPublicKeyInfo)"
    )]
    InvalidPublicKey { block: usize },
    #[error(
        "ACTAS_VERIFICATION_KEYS_PEM: PEM block {block} holds a private key; only public keys belong there"
    )]
    PrivateKeyGiven { block: usize },
    #[error(
        "ACTAS_VERIFICATION_KEYS_PEM must be concatenated PEM blocks (-----BEGIN PUBLIC KEY----- … \
         -----END PUBLIC KEY-----) and nothing else; text before, between or after them, or an \
         unterminated block, was found (after block {after})"
    )]
    NotPem { after: usize },
    #[error("ACTAS_VERIFICATION_KEYS_PEM: PEM block {block} has the key id of another, different key")]
    KidCollision { block: usize },
    #[error("key encoding failed")]
    Encoding,
}

/// Why a token failed verification. The issuer answers every case the same
/// ([`crate::Error::InvalidToken`]); the cases exist for tests and logs.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("the header is malformed")]
    Header,
    #[error("the algorithm is not EdDSA")]
    Algorithm,
    #[error("the key id is missing or unknown")]
    UnknownKid,
    #[error("signature or claims invalid: {0}")]
    Token(#[source] jsonwebtoken::errors::Error),
}

impl Rejection {
    /// A label for logs that never quotes the token.
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::Header => "header",
            Rejection::Algorithm => "algorithm",
            Rejection::UnknownKid => "unknown_kid",
            Rejection::Token(_) => "signature_or_claims",
        }
    }
}

/// One public key that verifies tokens.
struct VerificationKey {
    kid: String,
    public: [u8; 32],
    decoding: DecodingKey,
}

impl VerificationKey {
    fn new(public: &VerifyingKey) -> Self {
        let public = public.to_bytes();
        Self {
            kid: kid_of(&public),
            decoding: DecodingKey::from_ed_der(&public),
            public,
        }
    }
}

/// A public key as RFC 7517 (JWK) and RFC 8037 (`OKP`, `Ed25519`) write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// The signing key and every verification key, looked up by key id.
pub struct KeySet {
    signing_kid: String,
    encoding: EncodingKey,
    /// In publication order: the signing key's public part first.
    verification: Vec<VerificationKey>,
    by_kid: HashMap<String, usize>,
}

impl KeySet {
    /// The signing key from `ACTAS_SIGNING_KEY_PEM` (Ed25519, PKCS#8 PEM).
    pub fn from_pem(pem: &str) -> Result<KeySet, Error> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|_| Error::InvalidPrivateKey)?;
        Self::from_signing_key(&signing)
    }

    /// A fresh signing key, for this process only.
    pub fn generate() -> Result<KeySet, Error> {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self::from_signing_key(&SigningKey::from_bytes(&seed))
    }

    fn from_signing_key(signing: &SigningKey) -> Result<KeySet, Error> {
        let private_der = signing.to_pkcs8_der().map_err(|_| Error::Encoding)?;
        let own = VerificationKey::new(&signing.verifying_key());
        Ok(KeySet {
            signing_kid: own.kid.clone(),
            encoding: EncodingKey::from_ed_der(private_der.as_bytes()),
            by_kid: HashMap::from([(own.kid.clone(), 0)]),
            verification: vec![own],
        })
    }

    /// Adds the public keys of `ACTAS_VERIFICATION_KEYS_PEM`: SPKI PEM
    /// blocks, concatenated. Blank text adds none; a key listed twice (or the
    /// signing key's own) counts once.
    pub fn with_verification_keys_pem(mut self, pem: &str) -> Result<KeySet, Error> {
        for (index, block) in pem_blocks(pem)?.into_iter().enumerate() {
            let block_number = index + 1;
            let public = VerifyingKey::from_public_key_pem(block).map_err(|_| {
                if block.contains("PRIVATE KEY-----") {
                    Error::PrivateKeyGiven { block: block_number }
                } else {
                    Error::InvalidPublicKey { block: block_number }
                }
            })?;
            // A small-order point verifies forged signatures: never a key.
            if public.is_weak() {
                return Err(Error::InvalidPublicKey { block: block_number });
            }
            let key = VerificationKey::new(&public);
            match self.by_kid.get(&key.kid) {
                Some(&known) if self.verification[known].public == key.public => {}
                Some(_) => return Err(Error::KidCollision { block: block_number }),
                None => {
                    self.by_kid.insert(key.kid.clone(), self.verification.len());
                    self.verification.push(key);
                }
            }
        }
        Ok(self)
    }

    /// The key id tokens are signed under now.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// Signs `claims` with the signing key: EdDSA, its key id in the header.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// Verifies `token` with the one key its header's `kid` names (no trial
    /// of every key), under `validation`. Anything but EdDSA is refused
    /// before any key is touched, whatever `validation` allows.
    pub fn verify<C: DeserializeOwned>(&self, token: &str, validation: &Validation) -> Result<C, Rejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Header)?;
        if header.alg != Algorithm::EdDSA {
            return Err(Rejection::Algorithm);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.by_kid.get(kid))
            .map(|&index| &self.verification[index])
            .ok_or(Rejection::UnknownKid)?;
        jsonwebtoken::decode::<C>(token, &key.decoding, validation)
            .map(|data| data.claims)
            .map_err(Rejection::Token)
    }

    /// Every verification key as a JWK, the signing key's first: the JWK Set
    /// (RFC 7517 §5) a verifier needs.
    pub fn jwks(&self) -> Vec<Jwk> {
        self.verification
            .iter()
            .map(|key| Jwk {
                kty: "OKP",
                crv: "Ed25519",
                x: URL_SAFE_NO_PAD.encode(key.public),
                kid: key.kid.clone(),
                alg: "EdDSA",
                use_: "sig",
            })
            .collect()
    }
}

/// The PEM blocks of `text`, in order, each from its `-----BEGIN` line to
/// its `-----END …-----` line. Only whitespace may surround them.
fn pem_blocks(text: &str) -> Result<Vec<&str>, Error> {
    let mut blocks = Vec::new();
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            return Ok(blocks);
        }
        let not_pem = Error::NotPem { after: blocks.len() };
        let Some(label) = trimmed
            .strip_prefix("-----BEGIN ")
            .and_then(|after| after.split_once("-----"))
            .map(|(label, _)| label)
            .filter(|label| !label.contains('\n'))
        else {
            return Err(not_pem);
        };
        let end_marker = format!("-----END {label}-----");
        let Some(end) = trimmed.find(&end_marker) else {
            return Err(not_pem);
        };
        let end = end + end_marker.len();
        blocks.push(&trimmed[..end]);
        rest = &trimmed[end..];
    }
}

/// A short, stable key id: the first 8 bytes of the public key, base64url.
/// Public keys are public; the id only lets verifiers pick a key.
fn kid_of(public_key: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(&public_key[..8])
}
