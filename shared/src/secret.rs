//! Secrets handed to clients (session tokens) and how they are kept: only a
//! SHA-256 hash is ever stored, so a dump of the database or Redis yields
//! nothing a client could present.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// A fresh 256-bit random token, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a client secret: hex SHA-256. The tokens carry 256
/// bits of entropy, so a plain hash is enough (no salt or stretching needed).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets (or hashes of secrets) in constant time.
pub fn constant_time_eq(left: &str, right: &str) -> bool {
    left.as_bytes().ct_eq(right.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_stable() {
        let first = random_token();
        let second = random_token();
        assert_ne!(first, second);
        assert_eq!(first.len(), 43);
        assert_eq!(hash_token(&first), hash_token(&first));
        assert_ne!(hash_token(&first), first);
        assert!(constant_time_eq(&hash_token(&first), &hash_token(&first)));
        assert!(!constant_time_eq(&hash_token(&first), &hash_token(&second)));
    }
}
