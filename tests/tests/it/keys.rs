//! Token keys through the whole system: the signing key rotates without
//! refusing tokens in flight (a replica that still lists the old public key
//! redeems them, one that does not refuses them); `GET
//! /.well-known/jwks.json` publishes every key, and each published `x`
//! verifies the tokens of its `kid`; a token under an unknown `kid`, or
//! HS256 keyed with the published public key (algorithm confusion), is
//! refused like any forged token and spends nothing.

use actas_e2e::{Options, Sandbox};
use actas_permission::seed;
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    EU_KEY, NEXT_SIGNING_KEY, NEXT_SIGNING_KEY_PUBLIC, STRANGER_KEY, TEST_SIGNING_KEY,
    TEST_SIGNING_KEY_PUBLIC, TestSystem, assert_error, simple,
};

const INVALID_TOKEN: &str = "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN";

/// The raw 32-byte key of an Ed25519 SPKI PEM (its DER ends with it), base64url.
fn x_of(public_pem: &str) -> String {
    let body: String = public_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body).unwrap();
    URL_SAFE_NO_PAD.encode(&der[der.len() - 32..])
}

fn exchange_body(token: &str) -> Value {
    json!({ "token": token, "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) })
}

/// Another replica of every service on `system`'s database and Redis
/// prefix, with its own keys.
async fn replica(system: &TestSystem, signing: &str, verification: Option<&str>) -> Sandbox {
    let mut options = Options::new(system.database.url.clone());
    options.redis_url = Some(actas_shared::testing::redis_url());
    options.redis_key_prefix = system.redis_key_prefix.clone();
    options.signing_key_pem = Some(signing.to_owned());
    options.verification_keys_pem = verification.map(str::to_owned);
    options.seed_demo = false;
    Sandbox::start(options).await.expect("replica starts")
}

async fn exchange_at(system: &TestSystem, base: &str, token: &str) -> reqwest::Response {
    system
        .http
        .post(format!("{base}/store-api/account/login/imitate-customer"))
        .header("sw-access-key", EU_KEY)
        .json(&exchange_body(token))
        .send()
        .await
        .unwrap()
}

/// A token for alice from the demo admin, issued by the system at `base`.
async fn token_at(system: &TestSystem, base: &str, admin: &str) -> String {
    let response = system
        .http
        .post(format!("{base}/api/_proxy/generate-imitate-customer-token"))
        .bearer_auth(admin)
        .json(&json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The key set at `base`, after checking the answer's headers.
async fn jwks_at(system: &TestSystem, base: &str) -> Vec<Value> {
    let response = system
        .http
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=300",
        "public keys may be cached, unlike everything else"
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    body["keys"].as_array().unwrap().clone()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Verifies `token`'s signature with the published key alone, as an outside
/// verifier would.
fn verifies(jwk: &Value, token: &str) -> bool {
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

#[tokio::test]
async fn rotation_keeps_tokens_in_flight_valid_where_the_old_key_is_listed() {
    // Before: every replica signs with A.
    let before = TestSystem::start_with(|options| {
        options.signing_key_pem = Some(TEST_SIGNING_KEY.to_owned());
    })
    .await;
    // During: B signs, A still verifies. After: A retired.
    let during = replica(&before, NEXT_SIGNING_KEY, Some(TEST_SIGNING_KEY_PUBLIC)).await;
    let after = replica(&before, NEXT_SIGNING_KEY, None).await;
    let (during_base, after_base) = (during.gateway_url(), after.gateway_url());
    let admin = before.admin().await;

    let in_flight = before.alice_token(&admin).await;
    // Where A is no longer listed, A's token is refused, and not spent.
    let refused = exchange_at(&before, &after_base, &in_flight).await;
    assert_error(refused, StatusCode::BAD_REQUEST, INVALID_TOKEN).await;
    // Where A is still listed, it redeems.
    let redeemed = exchange_at(&before, &during_base, &in_flight).await;
    assert_eq!(redeemed.status(), StatusCode::OK);

    // B's tokens redeem wherever B is known, and only there: hence B is
    // published everywhere before anyone signs with it.
    let fresh = token_at(&before, &during_base, &admin).await;
    assert_ne!(kid_of(&fresh), kid_of(&in_flight));
    let refused = exchange_at(&before, &before.base, &fresh).await;
    assert_error(refused, StatusCode::BAD_REQUEST, INVALID_TOKEN).await;
    let redeemed = exchange_at(&before, &after_base, &fresh).await;
    assert_eq!(redeemed.status(), StatusCode::OK);

    // Each replica publishes exactly the keys it accepts, signing key first.
    let xs = |keys: &[Value]| -> Vec<String> {
        keys.iter().map(|k| k["x"].as_str().unwrap().to_owned()).collect()
    };
    let (a, b) = (x_of(TEST_SIGNING_KEY_PUBLIC), x_of(NEXT_SIGNING_KEY_PUBLIC));
    assert_eq!(xs(&jwks_at(&before, &before.base).await), vec![a.clone()]);
    let during_keys = jwks_at(&before, &during_base).await;
    assert_eq!(xs(&during_keys), vec![b.clone(), a]);
    assert_eq!(xs(&jwks_at(&before, &after_base).await), vec![b]);
    // And the published keys verify the real tokens of their kid.
    assert_eq!(during_keys[0]["kid"], kid_of(&fresh));
    assert_eq!(during_keys[1]["kid"], kid_of(&in_flight));
    assert!(verifies(&during_keys[0], &fresh) && verifies(&during_keys[1], &in_flight));
    assert!(!verifies(&during_keys[0], &in_flight) && !verifies(&during_keys[1], &fresh));

    during.stop().await.expect("replica stops");
    after.stop().await.expect("replica stops");
    before.stop().await;
}

#[tokio::test]
async fn the_jwks_route_publishes_keys_that_verify_issued_tokens() {
    let system = TestSystem::start_with(|options| {
        options.signing_key_pem = Some(NEXT_SIGNING_KEY.to_owned());
        options.verification_keys_pem = Some(TEST_SIGNING_KEY_PUBLIC.to_owned());
    })
    .await;
    let keys = jwks_at(&system, &system.base).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    for (key, public_pem) in keys
        .iter()
        .zip([NEXT_SIGNING_KEY_PUBLIC, TEST_SIGNING_KEY_PUBLIC])
    {
        assert_eq!(
            key,
            &json!({
                "kty": "OKP", "crv": "Ed25519", "x": x_of(public_pem), "kid": key["kid"], "alg": "EdDSA", "use": "sig",
            })
        );
        assert!(key["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
    }
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    assert_eq!(keys[0]["kid"], kid_of(&token));
    assert!(
        verifies(&keys[0], &token),
        "the signing key's x verifies its tokens"
    );
    assert!(!verifies(&keys[1], &token));
    system.exchange_alice(&token).await;
    system.stop().await;
}

#[tokio::test]
async fn unknown_kids_and_hs256_keyed_with_the_public_key_are_refused() {
    let system = TestSystem::start_with(|options| {
        options.signing_key_pem = Some(TEST_SIGNING_KEY.to_owned());
    })
    .await;
    let admin = system.admin().await;
    let genuine = system.alice_token(&admin).await;
    let kid = kid_of(&genuine);
    let published = jwks_at(&system, &system.base).await;
    let x = published[0]["x"].as_str().unwrap().to_owned();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(genuine.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let sign = |header: Header, key: &EncodingKey| jsonwebtoken::encode(&header, &claims, key).unwrap();
    let with_kid = |algorithm: Algorithm, kid: Option<&str>| Header {
        kid: kid.map(str::to_owned),
        ..Header::new(algorithm)
    };
    let stranger = EncodingKey::from_ed_pem(STRANGER_KEY.as_bytes()).unwrap();
    let own = EncodingKey::from_ed_pem(TEST_SIGNING_KEY.as_bytes()).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&x).unwrap();

    let mut forgeries = vec![
        // Another key, under its own kid, under none, under the real one.
        sign(with_kid(Algorithm::EdDSA, Some("c3RyYW5nZXI")), &stranger),
        sign(with_kid(Algorithm::EdDSA, None), &stranger),
        sign(with_kid(Algorithm::EdDSA, Some(&kid)), &stranger),
        // The right key under a kid the system does not know.
        sign(with_kid(Algorithm::EdDSA, Some("AAAAAAAAAAA")), &own),
    ];
    // Algorithm confusion: HMAC keyed with the public key as published
    // (raw bytes, the x string) or as configured (the PEM).
    for secret in [&raw[..], x.as_bytes(), TEST_SIGNING_KEY_PUBLIC.as_bytes()] {
        for algorithm in [Algorithm::HS256, Algorithm::HS512] {
            forgeries.push(sign(
                with_kid(algorithm, Some(&kid)),
                &EncodingKey::from_secret(secret),
            ));
        }
    }
    for forged in forgeries {
        let refused = system.exchange(EU_KEY, exchange_body(&forged)).await;
        assert_error(refused, StatusCode::BAD_REQUEST, INVALID_TOKEN).await;
    }
    // None of them spent the genuine token (same jti): it still redeems.
    system.exchange_alice(&genuine).await;
    system.stop().await;
}
