//! The key set: tokens are signed with the one signing key and verified
//! with the one key their header's `kid` names, among the signing key's
//! public part and the extra verification keys, so the signing key rotates
//! without refusing tokens in flight; anything but EdDSA is refused (`alg:
//! none`, and HS256 keyed with the public key: algorithm confusion); the
//! JWK Set lists each key once; `ACTAS_VERIFICATION_KEYS_PEM` holds only
//! Ed25519 public keys, or the start fails naming it.

use actas_token_issuer::{
    issuer::validation,
    keys::{Error, KeySet, Rejection},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, spki::der::pem::LineEnding},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// An Ed25519 key pair in the forms the configuration takes.
pub struct TestKey {
    pub private_pem: String,
    pub public_pem: String,
    pub public: [u8; 32],
    pub public_der: Vec<u8>,
}

impl TestKey {
    /// A fixed key per `seed`, so failures reproduce.
    pub fn new(seed: u8) -> TestKey {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let verifying = signing.verifying_key();
        TestKey {
            private_pem: signing
                .to_pkcs8_pem(LineEnding::LF)
                .expect("PKCS#8 PEM")
                .to_string(),
            public_pem: verifying.to_public_key_pem(LineEnding::LF).expect("SPKI PEM"),
            public: verifying.to_bytes(),
            public_der: verifying.to_public_key_der().expect("SPKI DER").into_vec(),
        }
    }
}

/// The claims the issuer's validation requires.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    exp: i64,
    jti: String,
}

/// The same claims on every call: the clock is read once per test
/// process, so a token signed in one second compares equal to the claims
/// built in the next.
fn claims() -> Claims {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let now = *NOW.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64
    });
    Claims {
        iss: "actas".into(),
        aud: "018f8d3a5e0070008000000000000e01".into(),
        sub: "018f8d3a5e007000800000000000c001".into(),
        iat: now,
        exp: now + 120,
        jti: "0123456789abcdef0123456789abcdef".into(),
    }
}

fn verify(keys: &KeySet, token: &str) -> Result<Claims, Rejection> {
    keys.verify::<Claims>(token, &validation("actas"))
}

/// A token signed with `key` under `header`, whatever that header claims.
fn forge(header: &Header, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, &claims(), key).expect("signing")
}

fn kid_of(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).expect("a JWT header").kid
}

#[test]
fn a_token_of_the_old_key_verifies_while_that_key_is_listed_and_not_after() {
    let (a, b) = (TestKey::new(1), TestKey::new(2));
    let old = KeySet::from_pem(&a.private_pem).unwrap();
    let in_flight = old.sign(&claims()).unwrap();
    assert_eq!(kid_of(&in_flight).as_deref(), Some(old.signing_kid()));

    // Rotated: B signs, A still verifies.
    let rotated = KeySet::from_pem(&b.private_pem)
        .unwrap()
        .with_verification_keys_pem(&a.public_pem)
        .unwrap();
    assert_eq!(verify(&rotated, &in_flight).unwrap(), claims());
    let fresh = rotated.sign(&claims()).unwrap();
    assert_eq!(kid_of(&fresh).as_deref(), Some(rotated.signing_kid()));
    assert_ne!(rotated.signing_kid(), old.signing_kid());
    assert_eq!(verify(&rotated, &fresh).unwrap(), claims());
    // A replica not yet told about B refuses B's tokens: hence the order
    // (publish the new public key everywhere first, then sign with it).
    assert!(matches!(verify(&old, &fresh), Err(Rejection::UnknownKid)));

    // Retired: A is no longer listed, its tokens are refused.
    let retired = KeySet::from_pem(&b.private_pem).unwrap();
    assert!(matches!(verify(&retired, &in_flight), Err(Rejection::UnknownKid)));
    assert_eq!(verify(&retired, &fresh).unwrap(), claims());
}

#[test]
fn the_kid_names_the_one_key_tried_and_an_unknown_kid_is_refused() {
    let (a, b, stranger) = (TestKey::new(1), TestKey::new(2), TestKey::new(3));
    let keys = KeySet::from_pem(&b.private_pem)
        .unwrap()
        .with_verification_keys_pem(&a.public_pem)
        .unwrap();
    let a_kid = KeySet::from_pem(&a.private_pem).unwrap().signing_kid().to_owned();
    let a_encoding = EncodingKey::from_ed_pem(a.private_pem.as_bytes()).unwrap();
    let eddsa = |kid: Option<&str>| Header {
        kid: kid.map(str::to_owned),
        ..Header::new(Algorithm::EdDSA)
    };

    // Control: A's token under A's kid verifies.
    assert!(verify(&keys, &forge(&eddsa(Some(&a_kid)), &a_encoding)).is_ok());
    // A's token under B's kid: only B is tried, and B did not sign it. A
    // verifier trying every listed key would accept it.
    assert!(matches!(
        verify(&keys, &forge(&eddsa(Some(keys.signing_kid())), &a_encoding)),
        Err(Rejection::Token(_))
    ));
    // No kid, or one no listed key has.
    assert!(matches!(
        verify(&keys, &forge(&eddsa(None), &a_encoding)),
        Err(Rejection::UnknownKid)
    ));
    assert!(matches!(
        verify(&keys, &forge(&eddsa(Some("AAAAAAAAAAA")), &a_encoding)),
        Err(Rejection::UnknownKid)
    ));
    // A stranger's key signing under its own kid.
    let foreign = KeySet::from_pem(&stranger.private_pem).unwrap();
    assert!(matches!(
        verify(&keys, &foreign.sign(&claims()).unwrap()),
        Err(Rejection::UnknownKid)
    ));
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    // Algorithm confusion: a verifier that let the header pick the algorithm
    // would check this HMAC with the (public) key bytes it holds for the kid.
    let a = TestKey::new(1);
    let keys = KeySet::from_pem(&a.private_pem).unwrap();
    let x = URL_SAFE_NO_PAD.encode(a.public);
    let secrets: [&[u8]; 4] = [&a.public, &a.public_der, a.public_pem.as_bytes(), x.as_bytes()];
    for algorithm in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        for secret in secrets {
            let header = Header {
                kid: Some(keys.signing_kid().to_owned()),
                ..Header::new(algorithm)
            };
            let token = forge(&header, &EncodingKey::from_secret(secret));
            // The forgery is well formed: it verifies as HMAC with that secret.
            let mut hmac = validation("actas");
            hmac.algorithms = vec![algorithm];
            assert!(jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(secret), &hmac).is_ok());

            assert!(
                matches!(verify(&keys, &token), Err(Rejection::Algorithm)),
                "{algorithm:?} keyed with {} bytes of the public key",
                secret.len()
            );
        }
    }
    // And the issuer's validation admits EdDSA alone.
    assert_eq!(validation("actas").algorithms, vec![Algorithm::EdDSA]);
}

#[test]
fn alg_none_is_refused() {
    let a = TestKey::new(1);
    let keys = KeySet::from_pem(&a.private_pem).unwrap();
    let genuine = keys.sign(&claims()).unwrap();
    let payload = genuine.split('.').nth(1).unwrap();
    for header in [
        format!(r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#, keys.signing_kid()),
        format!(r#"{{"alg":"None","kid":"{}"}}"#, keys.signing_kid()),
    ] {
        let unsigned = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(&header));
        assert!(verify(&keys, &unsigned).is_err(), "{unsigned}");
        // With the genuine signature kept, too.
        let signature = genuine.split('.').nth(2).unwrap();
        let kept = format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode(&header));
        assert!(verify(&keys, &kept).is_err(), "{kept}");
    }
}

#[test]
fn the_jwk_set_lists_the_signing_key_first_then_each_verification_key_once() {
    let (a, b, c) = (TestKey::new(1), TestKey::new(2), TestKey::new(3));
    // A twice, and B's own public key: each listed once.
    let pem = format!(
        "{}\n{}{}\n\n{}",
        a.public_pem, c.public_pem, a.public_pem, b.public_pem
    );
    let keys = KeySet::from_pem(&b.private_pem)
        .unwrap()
        .with_verification_keys_pem(&pem)
        .unwrap();
    let jwks = keys.jwks();
    let published: Vec<[u8; 32]> = jwks
        .iter()
        .map(|jwk| URL_SAFE_NO_PAD.decode(&jwk.x).unwrap().try_into().unwrap())
        .collect();
    assert_eq!(published, vec![b.public, a.public, c.public]);
    assert_eq!(jwks[0].kid, keys.signing_kid());
    let json = serde_json::to_value(&jwks[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": jwks[0].x, "kid": jwks[0].kid, "alg": "EdDSA", "use": "sig",
        })
    );
    // Each published key verifies the tokens of its kid, read as a
    // verifier would: from x alone.
    for (jwk, private_pem) in jwks.iter().zip([&b.private_pem, &a.private_pem, &c.private_pem]) {
        let token = KeySet::from_pem(private_pem).unwrap().sign(&claims()).unwrap();
        assert_eq!(kid_of(&token).as_deref(), Some(jwk.kid.as_str()));
        let key = DecodingKey::from_ed_components(&jwk.x).unwrap();
        assert_eq!(
            jsonwebtoken::decode::<Claims>(&token, &key, &validation("actas"))
                .unwrap()
                .claims,
            claims()
        );
        assert_eq!(verify(&keys, &token).unwrap(), claims());
    }
}

#[test]
fn blank_verification_keys_add_nothing() {
    let b = TestKey::new(2);
    for blank in ["", "\n", "  \n\t\n"] {
        let keys = KeySet::from_pem(&b.private_pem)
            .unwrap()
            .with_verification_keys_pem(blank)
            .unwrap();
        assert_eq!(keys.jwks().len(), 1);
    }
}

/// An SPKI PEM block of `der`.
fn pem(label: &str, der: &[u8]) -> String {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        STANDARD.encode(der)
    )
}

#[test]
fn verification_keys_must_be_ed25519_public_keys_and_errors_name_the_variable() {
    let (a, b) = (TestKey::new(1), TestKey::new(2));
    // An Ed25519 SPKI holding a small-order point (the identity): it would
    // verify forged signatures.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut weak = a.public_der.clone();
    let len = weak.len();
    weak[len - 32..].copy_from_slice(&identity);
    // An X25519 key: right shape, wrong algorithm.
    let mut x25519 = a.public_der.clone();
    x25519[8] = 0x6e;
    let mut corrupt = a.public_pem.clone();
    corrupt.replace_range(40..44, "!!!!");
    let cases: Vec<(String, &str)> = vec![
        (a.private_pem.clone(), "private key"),
        (format!("{}{}", a.public_pem, b.private_pem), "private key"),
        ("not a key".into(), "concatenated PEM"),
        (format!("{}trailing words", a.public_pem), "concatenated PEM"),
        (format!("words before\n{}", a.public_pem), "concatenated PEM"),
        (
            a.public_pem.replace("-----END PUBLIC KEY-----", ""),
            "concatenated PEM",
        ),
        (corrupt, "not an Ed25519 public key"),
        (pem("PUBLIC KEY", &weak), "not an Ed25519 public key"),
        (pem("PUBLIC KEY", &x25519), "not an Ed25519 public key"),
        (pem("CERTIFICATE", &a.public_der), "not an Ed25519 public key"),
        (pem("PUBLIC KEY", &a.public), "not an Ed25519 public key"),
    ];
    for (value, expected) in cases {
        let error = match KeySet::from_pem(&b.private_pem)
            .unwrap()
            .with_verification_keys_pem(&value)
        {
            Ok(_) => panic!("accepted: {value}"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("ACTAS_VERIFICATION_KEYS_PEM") && error.contains(expected),
            "{value:?}: {error}"
        );
        // Never the key material itself.
        for line in value
            .lines()
            .filter(|line| line.len() > 8 && !line.starts_with("-----"))
        {
            assert!(!error.contains(line), "{error} echoes {line}");
        }
    }
    assert!(matches!(
        KeySet::from_pem(&b.private_pem)
            .unwrap()
            .with_verification_keys_pem(&format!("{}{}", a.public_pem, b.private_pem)),
        Err(Error::PrivateKeyGiven { block: 2 })
    ));
}
