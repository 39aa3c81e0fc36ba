//! Admin API: the OAuth password grant, `/api/_info/me`, and every answer of
//! the token generation route.

use actas_permission::seed;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestSystem, assert_error, simple};

#[tokio::test]
async fn admin_signs_in_and_reads_their_own_record() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let response = system
        .http
        .get(system.url("/api/_info/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["data"]["id"], simple(seed::ADMIN));
    assert_eq!(me["data"]["email"], "admin@example.com");
    assert!(
        me["data"]["privileges"]
            .as_array()
            .unwrap()
            .contains(&json!("api_proxy_login-as-customer"))
    );
    system.stop().await;
}

#[tokio::test]
async fn oauth_refuses_bad_grants() {
    let system = TestSystem::start().await;
    let token = |body: Value| {
        system
            .http
            .post(system.url("/api/oauth/token"))
            .json(&body)
            .send()
    };
    let wrong_password = token(json!({
        "grant_type": "password", "username": "admin@example.com", "password": "nope"
    }))
    .await
    .unwrap();
    assert_error(
        wrong_password,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_GRANT",
    )
    .await;
    // A customer's credentials are not an admin's.
    let customer = token(json!({
        "grant_type": "password", "username": "alice@example.com", "password": "alice-demo-password"
    }))
    .await
    .unwrap();
    assert_error(customer, StatusCode::BAD_REQUEST, "FRAMEWORK__INVALID_GRANT").await;
    let other_grant = token(json!({ "grant_type": "client_credentials" }))
        .await
        .unwrap();
    assert_error(
        other_grant,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__UNSUPPORTED_GRANT_TYPE",
    )
    .await;
    let no_password = token(json!({ "grant_type": "password", "username": "admin@example.com" }))
        .await
        .unwrap();
    assert_error(
        no_password,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__MISSING_REQUEST_PARAMETER",
    )
    .await;
    // Form-encoded, as many OAuth clients send it.
    let form = system
        .http
        .post(system.url("/api/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=admin%40example.com&password=admin-demo-password")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    system.stop().await;
}

#[tokio::test]
async fn generation_answers_every_mistake_with_its_code() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let alice = simple(seed::ALICE);
    let eu = simple(seed::STOREFRONT_EU);

    // No bearer, a made-up bearer, a customer's context token as bearer.
    let anonymous = system
        .http
        .post(system.url("/api/_proxy/generate-imitate-customer-token"))
        .json(&json!({ "customerId": alice, "salesChannelId": eu }))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let made_up = system
        .generate(
            "not-a-session",
            json!({ "customerId": alice, "salesChannelId": eu }),
        )
        .await;
    assert_error(made_up, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let customer_login = system
        .customer_login(crate::helpers::EU_KEY, "alice@example.com", "alice-demo-password")
        .await;
    let customer_token = crate::helpers::context_token_of(customer_login).await;
    let as_customer = system
        .generate(
            &customer_token,
            json!({ "customerId": alice, "salesChannelId": eu }),
        )
        .await;
    assert_error(as_customer, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;

    // The viewer lacks the privilege, and learns nothing about the target.
    let viewer = system
        .admin_login("viewer@example.com", "viewer-demo-password")
        .await;
    for customer in [alice.clone(), "0123456789abcdef0123456789abcdef".to_owned()] {
        let denied = system
            .generate(&viewer, json!({ "customerId": customer, "salesChannelId": eu }))
            .await;
        let error = assert_error(
            denied,
            StatusCode::FORBIDDEN,
            "FRAMEWORK__MISSING_PRIVILEGE_ERROR",
        )
        .await;
        assert_eq!(
            error["meta"]["parameters"]["missingPrivileges"],
            json!(["api_proxy_login-as-customer"])
        );
        assert!(
            error["detail"]
                .as_str()
                .unwrap()
                .contains("api_proxy_login-as-customer")
        );
    }

    // Malformed bodies.
    let malformed = system
        .http
        .post(system.url("/api/_proxy/generate-imitate-customer-token"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"customerId\": ")
        .send()
        .await
        .unwrap();
    assert_error(
        malformed,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_REQUEST_BODY",
    )
    .await;
    let cases = [
        (json!([]), "FRAMEWORK__INVALID_REQUEST_BODY"),
        (
            json!({ "salesChannelId": eu }),
            "FRAMEWORK__MISSING_REQUEST_PARAMETER",
        ),
        (
            json!({ "customerId": "  ", "salesChannelId": eu }),
            "FRAMEWORK__MISSING_REQUEST_PARAMETER",
        ),
        (
            json!({ "customerId": alice, "salesChannelId": null }),
            "FRAMEWORK__MISSING_REQUEST_PARAMETER",
        ),
        (
            json!({ "customerId": 42, "salesChannelId": eu }),
            "FRAMEWORK__INVALID_REQUEST_BODY",
        ),
        (
            json!({ "customerId": "alice", "salesChannelId": eu }),
            "FRAMEWORK__INVALID_UUID",
        ),
        (
            json!({ "customerId": alice, "salesChannelId": "{0190}" }),
            "FRAMEWORK__INVALID_UUID",
        ),
    ];
    for (body, code) in cases {
        let response = system.generate(&admin, body.clone()).await;
        assert_error(response, StatusCode::BAD_REQUEST, code).await;
    }

    // Unknown customer or sales channel: 404.
    let unknown_customer = system
        .generate(
            &admin,
            json!({ "customerId": "0123456789abcdef0123456789abcdef", "salesChannelId": eu }),
        )
        .await;
    assert_error(
        unknown_customer,
        StatusCode::NOT_FOUND,
        "CHECKOUT__CUSTOMER_NOT_FOUND",
    )
    .await;
    // An admin's id is not a customer's.
    let admin_as_target = system
        .generate(
            &admin,
            json!({ "customerId": simple(seed::VIEWER), "salesChannelId": eu }),
        )
        .await;
    assert_error(
        admin_as_target,
        StatusCode::NOT_FOUND,
        "CHECKOUT__CUSTOMER_NOT_FOUND",
    )
    .await;
    let unknown_channel = system
        .generate(
            &admin,
            json!({ "customerId": alice, "salesChannelId": "0123456789abcdef0123456789abcdef" }),
        )
        .await;
    assert_error(
        unknown_channel,
        StatusCode::NOT_FOUND,
        "FRAMEWORK__SALES_CHANNEL_NOT_FOUND",
    )
    .await;

    // Customers who may not be logged in as.
    let inactive = system
        .generate(
            &admin,
            json!({ "customerId": simple(seed::CAROL), "salesChannelId": eu }),
        )
        .await;
    assert_error(inactive, StatusCode::FORBIDDEN, "CHECKOUT__CUSTOMER_IS_INACTIVE").await;
    let other_channel = system
        .generate(
            &admin,
            json!({ "customerId": simple(seed::BOB), "salesChannelId": eu }),
        )
        .await;
    assert_error(
        other_channel,
        StatusCode::FORBIDDEN,
        "CHECKOUT__CUSTOMER_NOT_BOUND_TO_SALES_CHANNEL",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn both_id_forms_are_accepted_and_the_token_binds_its_claims() {
    use base64::Engine as _;
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let response = system
        .generate(
            &admin,
            json!({
                "customerId": seed::ALICE.hyphenated().to_string(),
                "salesChannelId": seed::STOREFRONT_EU.hyphenated().to_string(),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let token = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT");
    let decode = |part: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let header = decode(parts[0]);
    let claims = decode(parts[1]);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(claims["sub"], seed::ALICE.hyphenated().to_string());
    assert_eq!(claims["act"]["sub"], seed::ADMIN.hyphenated().to_string());
    assert_eq!(claims["aud"], seed::STOREFRONT_EU.hyphenated().to_string());
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 120, "two minutes by default");
    assert!(claims["jti"].is_string());
    system.stop().await;
}

#[tokio::test]
async fn customer_search_pages_through_customers_with_their_storefronts() {
    let system = TestSystem::start().await;
    let port = system.sandbox().gateway.port();
    let admin = system.admin().await;
    let search = |bearer: Option<String>, body: Value| {
        let mut request = system.http.post(system.url("/api/search/customer")).json(&body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        async move { request.send().await.unwrap() }
    };
    let names = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|customer| customer["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = search(Some(admin.clone()), json!({})).await;
    assert_eq!(all.status(), StatusCode::OK);
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["total"], 7, "the demo's customers, no admins or operators");
    assert_eq!(
        names(&all),
        [
            "Alice Example",
            "Bob Example",
            "Carol Example",
            "Max Mustermann",
            "Mia Acme",
            "Otto Globex",
            "Tina Acme"
        ]
    );

    let alice: Value = search(Some(admin.clone()), json!({ "term": "  ALICE " }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alice["total"], 1);
    assert_eq!(
        alice["data"][0],
        json!({
            "id": simple(seed::ALICE),
            "email": "alice@example.com",
            "name": "Alice Example",
            "active": true,
            "guest": false,
            "salesChannels": [
                { "id": simple(seed::STOREFRONT_EU), "name": "Storefront EU", "domain": format!("http://127.0.0.1:{port}") },
                { "id": simple(seed::STOREFRONT_CH), "name": "Storefront CH", "domain": format!("http://localhost:{port}") },
            ],
        })
    );

    let second: Value = search(
        Some(admin.clone()),
        json!({ "term": "example.com", "page": 2, "limit": 3 }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(second["total"], 7);
    assert_eq!(names(&second), ["Max Mustermann", "Mia Acme", "Otto Globex"]);
    // Form bodies carry numbers as text.
    let form = system
        .http
        .post(system.url("/api/search/customer"))
        .bearer_auth(&admin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("term=acme&page=1&limit=1")
        .send()
        .await
        .unwrap();
    let form: Value = form.json().await.unwrap();
    assert_eq!(
        (form["total"].clone(), names(&form)),
        (json!(2), vec!["Mia Acme".to_owned()])
    );

    // LIKE wildcards in the term are plain characters.
    for term in ["%", "_", "\\"] {
        let none: Value = search(Some(admin.clone()), json!({ "term": term }))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(none["total"], 0, "{term}");
    }

    for (body, code) in [
        (json!({ "limit": 0 }), "FRAMEWORK__INVALID_LIMIT_QUERY"),
        (json!({ "limit": 101 }), "FRAMEWORK__INVALID_LIMIT_QUERY"),
        (json!({ "page": 0 }), "FRAMEWORK__INVALID_PAGE_QUERY"),
        (json!({ "page": "two" }), "FRAMEWORK__INVALID_REQUEST_BODY"),
        (json!({ "term": 7 }), "FRAMEWORK__INVALID_REQUEST_BODY"),
    ] {
        let refused = search(Some(admin.clone()), body.clone()).await;
        assert_error(refused, StatusCode::BAD_REQUEST, code).await;
    }

    // The viewer holds customer:read; nobody without an admin bearer searches.
    let viewer = system
        .admin_login("viewer@example.com", "viewer-demo-password")
        .await;
    assert_eq!(search(Some(viewer), json!({})).await.status(), StatusCode::OK);
    let anonymous = search(None, json!({})).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let customer = system
        .customer_login(crate::helpers::EU_KEY, "alice@example.com", "alice-demo-password")
        .await;
    let context = crate::helpers::context_token_of(customer).await;
    let as_customer = search(Some(context), json!({})).await;
    assert_error(as_customer, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    system.stop().await;
}
