//! The Ed25519 key that signs impersonation tokens. Parsed once at start,
//! never per request. Without a configured key a fresh one is generated:
//! fine for a single-process local run, not for several replicas.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, spki::der::pem::LineEnding},
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore as _;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ACTAS_SIGNING_KEY_PEM is not an Ed25519 PKCS#8 private key in PEM")]
    InvalidPrivateKey,
    #[error("key encoding failed")]
    Encoding,
}

/// A signing key and the matching verification key.
pub struct Keys {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
}

impl Keys {
    pub fn from_pem(pem: &str) -> Result<Keys, Error> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|_| Error::InvalidPrivateKey)?;
        Self::from_signing_key(&signing)
    }

    pub fn generate() -> Result<Keys, Error> {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self::from_signing_key(&SigningKey::from_bytes(&seed))
    }

    fn from_signing_key(signing: &SigningKey) -> Result<Keys, Error> {
        let private_pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| Error::Encoding)?;
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| Error::Encoding)?;
        Ok(Keys {
            kid: kid_of(&signing.verifying_key().to_bytes()),
            encoding: EncodingKey::from_ed_pem(private_pem.as_bytes()).map_err(|_| Error::Encoding)?,
            decoding: DecodingKey::from_ed_pem(public_pem.as_bytes()).map_err(|_| Error::Encoding)?,
        })
    }
}

/// A short, stable key id: the first 8 bytes of the public key, base64url.
/// Public keys are public; the id only lets verifiers pick a key.
fn kid_of(public_key: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(&public_key[..8])
}
