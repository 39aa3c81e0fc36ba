//! Token parsing under arbitrary input: whatever arrives, verification
//! answers with a rejection, never a panic and never an acceptance, and a
//! token changed in any byte fails.

use actas_token_issuer::{issuer::validation, keys::KeySet};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use proptest::prelude::*;
use serde_json::{Value, json};

fn keys() -> KeySet {
    KeySet::generate().expect("a key")
}

fn claims() -> Value {
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits");
    json!({
        "iss": "actas", "aud": "channel", "sub": "target", "act": { "sub": "actor" },
        "iat": now, "exp": now + 300, "jti": "jti-1", "scope": "imitate_customer",
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_is_rejected(text in ".{0,400}") {
        prop_assert!(keys().verify::<Value>(&text, &validation("actas")).is_err());
    }

    #[test]
    fn arbitrary_segments_are_rejected(
        header in proptest::collection::vec(any::<u8>(), 0..120),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        signature in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature)
        );
        prop_assert!(keys().verify::<Value>(&token, &validation("actas")).is_err());
    }

    #[test]
    fn json_headers_of_any_algorithm_without_a_valid_signature_are_rejected(
        alg in prop_oneof![
            prop::sample::select(vec!["EdDSA", "none", "HS256", "RS256", "ES256"]).prop_map(str::to_owned),
            ".{0,12}",
        ],
        kid in proptest::option::of(".{0,16}"),
        signature in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let keys = keys();
        let mut header = json!({ "alg": alg, "typ": "JWT" });
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        prop_assert!(keys.verify::<Value>(&token, &validation("actas")).is_err());
    }

    #[test]
    fn a_token_changed_in_any_byte_is_rejected(position in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let keys = keys();
        let token = keys.sign(&claims()).expect("signed");
        prop_assert!(keys.verify::<Value>(&token, &validation("actas")).is_ok());
        let mut bytes = token.clone().into_bytes();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        // Base64url's last character of a segment may carry unused bits: a
        // change there can decode to the same bytes, which is the same token.
        let decoded = |text: &str| {
            text.split('.')
                .map(|segment| URL_SAFE_NO_PAD.decode(segment).ok())
                .collect::<Vec<_>>()
        };
        prop_assume!(decoded(&changed) != decoded(&token));
        prop_assert!(keys.verify::<Value>(&changed, &validation("actas")).is_err());
    }
}
