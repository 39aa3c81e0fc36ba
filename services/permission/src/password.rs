//! Password hashing with argon2id (the crate's default parameters:
//! 19 MiB, 2 passes, 1 lane, as OWASP recommends). Hashing is CPU-bound
//! and runs on the blocking pool, away from the async workers.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _, password_hash::SaltString};
use rand::RngCore as _;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct Error(String);

pub fn hash(password: &str) -> Result<String, Error> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| Error(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error(e.to_string()))
}

pub async fn hash_blocking(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| Error(e.to_string()))?
}

/// Verifies `password` against `stored`, or against a fixed dummy hash when
/// the principal is unknown, so that both answers take the same time and
/// timing does not tell which emails exist.
pub async fn verify_blocking(password: String, stored: Option<String>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&stored).map_err(|e| Error(e.to_string()))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|e| Error(e.to_string()))?
}

fn dummy_hash() -> Result<&'static str, Error> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let computed = hash("actas-dummy-password-for-unknown-principals")?;
    Ok(DUMMY.get_or_init(|| computed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify_blocking("correct horse".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_blocking("wrong".into(), Some(stored)).await.unwrap());
        assert!(!verify_blocking("correct horse".into(), None).await.unwrap());
    }
}
