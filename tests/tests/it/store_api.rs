//! Store API: customer login, the login-as-customer exchange and its
//! mismatches, the context, logout, and what a normal login does to an
//! imitation.

use actas_permission::seed;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{EU_KEY, TestSystem, US_KEY, assert_error, context_token_of, simple};

const INVALID_TOKEN: &str = "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN";

#[tokio::test]
async fn admin_logs_in_as_alice_and_the_context_says_so() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let context_token = system.exchange_alice(&token).await;
    let context = system.context_json(&context_token).await;
    assert_eq!(context["customerId"], simple(seed::ALICE));
    assert_eq!(context["customer"]["id"], simple(seed::ALICE));
    assert_eq!(context["salesChannelId"], simple(seed::STOREFRONT_EU));
    // What the directory holds of the customer and the channel is there.
    assert_eq!(context["customer"]["email"], "alice@example.com");
    assert_eq!(context["customer"]["active"], true);
    assert_eq!(context["customer"]["guest"], false);
    let channel = &context["salesChannel"];
    assert_eq!(channel["id"], simple(seed::STOREFRONT_EU));
    assert_eq!(channel["name"], "Storefront EU");
    assert_eq!(channel["languageId"], simple(seed::LANGUAGE_EN_GB));
    assert_eq!(channel["currencyId"], simple(seed::CURRENCY_EUR));
    assert_eq!(channel["countryId"], simple(seed::COUNTRY_DE));
    // Nothing the shop owns is made up.
    for owned in ["itemRounding", "totalRounding", "languageInfo", "currency"] {
        assert!(context.get(owned).is_none(), "{owned}: {context}");
    }
    assert!(context["customer"].get("firstName").is_none(), "{context}");
    assert_eq!(context["imitated"], true);
    assert_eq!(context["imitatingUserId"], simple(seed::ADMIN));
    assert_eq!(context["token"], context_token);

    // Used once: a second exchange fails, never echoing the token.
    let again = system
        .exchange(
            EU_KEY,
            json!({ "token": token, "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) }),
        )
        .await;
    let error = assert_error(again, StatusCode::BAD_REQUEST, INVALID_TOKEN).await;
    assert!(!error.to_string().contains(&token));
    system.stop().await;
}

#[tokio::test]
async fn a_customers_own_login_is_not_imitated() {
    let system = TestSystem::start().await;
    let login = system
        .customer_login(EU_KEY, "alice@example.com", "alice-demo-password")
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let token = context_token_of(login).await;
    let context = system.context_json(&token).await;
    assert_eq!(context["imitated"], false);
    assert_eq!(context["imitatingUserId"], Value::Null);
    assert_eq!(context["customerId"], simple(seed::ALICE));

    // The context token belongs to its sales channel.
    let elsewhere = system.context(US_KEY, &token).await;
    assert_error(elsewhere, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;

    for (key, email, password) in [
        (EU_KEY, "alice@example.com", "wrong"),
        (EU_KEY, "nobody@example.com", "alice-demo-password"),
        (US_KEY, "alice@example.com", "alice-demo-password"),
        (EU_KEY, "carol@example.com", "carol-demo-password"),
    ] {
        let refused = system.customer_login(key, email, password).await;
        assert_error(
            refused,
            StatusCode::UNAUTHORIZED,
            "CHECKOUT__CUSTOMER_AUTH_BAD_CREDENTIALS",
        )
        .await;
    }
    let no_key = system
        .http
        .post(system.url("/store-api/account/login"))
        .json(&json!({ "email": "alice@example.com", "password": "alice-demo-password" }))
        .send()
        .await
        .unwrap();
    assert_error(
        no_key,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__INVALID_SALES_CHANNEL_ACCESS_KEY",
    )
    .await;
    let bad_key = system
        .customer_login("SWSCNOSUCHKEY", "alice@example.com", "alice-demo-password")
        .await;
    assert_error(
        bad_key,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__INVALID_SALES_CHANNEL_ACCESS_KEY",
    )
    .await;
    // No token (an empty header is none) is a visitor: a guest context.
    let missing = system.context(EU_KEY, "").await;
    assert_eq!(missing.status(), StatusCode::OK);
    let guest: Value = missing.json().await.unwrap();
    assert_eq!(guest["customer"], Value::Null, "{guest}");
    assert_ne!(guest["token"], token.as_str());
    let unknown = system.context(EU_KEY, "no-such-context").await;
    assert_error(unknown, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    system.stop().await;
}

#[tokio::test]
async fn any_mismatch_fails_and_spends_the_token() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let alice = simple(seed::ALICE);
    let admin_id = simple(seed::ADMIN);
    let mismatches = [
        (
            EU_KEY,
            json!({ "customerId": simple(seed::BOB), "userId": admin_id }),
        ),
        (
            EU_KEY,
            json!({ "customerId": alice, "userId": simple(seed::VIEWER) }),
        ),
        (US_KEY, json!({ "customerId": alice, "userId": admin_id })),
    ];
    for (key, mut body) in mismatches {
        let token = system.alice_token(&admin).await;
        body["token"] = json!(token);
        let refused = system.exchange(key, body).await;
        assert_error(refused, StatusCode::BAD_REQUEST, INVALID_TOKEN).await;
        // The token was presented with the wrong binding: it is spent.
        let right = system
            .exchange(
                EU_KEY,
                json!({ "token": token, "customerId": alice, "userId": admin_id }),
            )
            .await;
        assert_error(right, StatusCode::BAD_REQUEST, INVALID_TOKEN).await;
    }

    // Tampered: a flipped signature byte, swapped claims, alg none, garbage.
    let token = system.alice_token(&admin).await;
    let parts: Vec<&str> = token.split('.').collect();
    // Flip a character mid-signature: the last one only carries padding bits.
    let mut signature = parts[2].to_owned();
    let flipped = if &signature[10..11] == "A" { "B" } else { "A" };
    signature.replace_range(10..11, flipped);
    let forged_claims = {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["act"]["sub"] = json!(seed::VIEWER.hyphenated().to_string());
        engine.encode(claims.to_string())
    };
    let alg_none = {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.", engine.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1])
    };
    for forged in [
        format!("{}.{}.{}", parts[0], parts[1], signature),
        format!("{}.{}.{}", parts[0], forged_claims, parts[2]),
        alg_none,
        "eyJ.garbage".to_owned(),
        "x".repeat(5000),
    ] {
        let refused = system
            .exchange(
                EU_KEY,
                json!({ "token": forged, "customerId": alice, "userId": admin_id }),
            )
            .await;
        assert_error(refused, StatusCode::BAD_REQUEST, INVALID_TOKEN).await;
    }
    // None of that spent the genuine token.
    system.exchange_alice(&token).await;

    // Malformed exchange requests are 400s with their own codes.
    for (body, code) in [
        (
            json!({ "customerId": alice, "userId": admin_id }),
            "FRAMEWORK__MISSING_REQUEST_PARAMETER",
        ),
        (
            json!({ "token": "t", "customerId": "alice", "userId": admin_id }),
            "FRAMEWORK__INVALID_UUID",
        ),
        // The ids are optional (taken from the token): this one fails as a token.
        (json!({ "token": "t", "customerId": alice }), INVALID_TOKEN),
    ] {
        let refused = system.exchange(EU_KEY, body).await;
        assert_error(refused, StatusCode::BAD_REQUEST, code).await;
    }
    system.stop().await;
}

#[tokio::test]
async fn ending_the_imitation_never_logs_the_customer_out() {
    let system = TestSystem::start().await;
    let own = system.alice_own_context().await;
    let admin = system.admin().await;
    let imitated = system.exchange_alice(&system.alice_token(&admin).await).await;
    assert_ne!(own, imitated, "a separate session");

    let logout = system
        .http
        .post(system.url("/store-api/account/logout"))
        .header("sw-access-key", EU_KEY)
        .header("sw-context-token", &imitated)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let ended = system.context(EU_KEY, &imitated).await;
    assert_error(ended, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let still = system.context_json(&own).await;
    assert_eq!(still["imitated"], false);
    system.stop().await;
}

#[tokio::test]
async fn a_normal_login_ends_the_imitation_and_restores_the_payload_without_the_mark() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let imitated = system.exchange_alice(&system.alice_token(&admin).await).await;
    let language = "2fbb5fe2e29a4d70aa5854ce7ce3e20b";
    let patched = system
        .http
        .patch(system.url("/store-api/context"))
        .header("sw-access-key", EU_KEY)
        .header("sw-context-token", &imitated)
        .json(&json!({ "languageId": language }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let bad_key = system
        .http
        .patch(system.url("/store-api/context"))
        .header("sw-access-key", EU_KEY)
        .header("sw-context-token", &imitated)
        .json(&json!({ "imitatingUserId": null }))
        .send()
        .await
        .unwrap();
    assert_error(
        bad_key,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_REQUEST_BODY",
    )
    .await;

    // Alice logs in on the device holding the imitated context.
    let own = system.alice_login_holding(&imitated).await;
    let context = system.context_json(&own).await;
    assert_eq!(context["imitated"], false);
    assert_eq!(context["imitatingUserId"], Value::Null);
    assert_eq!(context["payload"]["languageId"], language, "payload restored");
    let replaced = system.context(EU_KEY, &imitated).await;
    assert_error(replaced, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    system.stop().await;
}

/// The names Shopware shipped: the privilege `api_proxy_imitate-customer`
/// grants what `api_proxy_login-as-customer` does, and the exchange takes
/// the token alone (Shopware 6.7 deprecates `customerId` and `userId`),
/// the customer and the admin then being the signed token's.
#[tokio::test]
async fn the_shipped_privilege_name_and_a_token_only_exchange_work() {
    let system = TestSystem::start().await;
    let mut database = <sqlx::PgConnection as sqlx::Connection>::connect(&system.database.url)
        .await
        .unwrap();
    let renamed = sqlx::query(
        "UPDATE role_privilege SET privilege = 'api_proxy_imitate-customer' \
         WHERE privilege = 'api_proxy_login-as-customer'",
    )
    .execute(&mut database)
    .await
    .unwrap()
    .rows_affected();
    assert!(renamed > 0, "the seed grants the privilege by its old name");
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let exchanged = system.exchange(EU_KEY, json!({ "token": token })).await;
    assert_eq!(exchanged.status(), StatusCode::OK);
    let context = system.context_json(&context_token_of(exchanged).await).await;
    assert_eq!(context["customerId"], simple(seed::ALICE));
    assert_eq!(context["imitated"], true);
    assert_eq!(context["imitatingUserId"], simple(seed::ADMIN));

    // Named, the ids must still be the token's; a mismatch spends it.
    let token = system.alice_token(&admin).await;
    let wrong = system
        .exchange(EU_KEY, json!({ "token": token, "customerId": simple(seed::BOB) }))
        .await;
    assert_error(
        wrong,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;
    let again = system.exchange(EU_KEY, json!({ "token": token })).await;
    assert_error(
        again,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;
    let bad_id = system
        .exchange(EU_KEY, json!({ "token": "x", "userId": "admin" }))
        .await;
    assert_error(bad_id, StatusCode::BAD_REQUEST, "FRAMEWORK__INVALID_UUID").await;
    system.stop().await;
}
