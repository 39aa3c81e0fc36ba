//! Arbitrary request bodies against the running system, with real
//! credentials so every body reaches its parser and the services behind:
//! the answer is a success, a redirect or a 4xx with the error envelope,
//! never a 5xx and never a panic.

use actas_permission::seed;
use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EU_KEY, TestSystem, assert_error, simple};

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "token",
            "customerId",
            "userId",
            "salesChannelId",
            "email",
            "password",
            "username",
            "grant_type",
            "reason",
            "term",
            "page",
            "limit",
            "id",
            "actorId",
            "targetId",
            "languageId",
            "currencyId",
        ])
        .prop_map(str::to_owned),
        ".{0,8}",
    ]
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        Just(json!(simple(seed::ALICE))),
        Just(json!(simple(seed::STOREFRONT_EU))),
        Just(json!("018f8d3a-5e00-7000-8000-00000000c001")),
        Just(json!([1, "a"])),
        Just(json!({ "a": { "b": [] } })),
    ]
}

/// A route: method, path, and the headers that get it to reading the body.
type Route = (Method, &'static str, Vec<(&'static str, String)>);

/// Bytes and the content type they claim to be.
fn body() -> impl Strategy<Value = (Vec<u8>, &'static str)> {
    let json_object = proptest::collection::vec((field_name(), field_value()), 0..6).prop_map(|fields| {
        Value::Object(fields.into_iter().collect())
            .to_string()
            .into_bytes()
    });
    let form = proptest::collection::vec((field_name(), ".{0,30}"), 0..5).prop_map(|pairs| {
        serde_urlencoded::to_string(pairs)
            .unwrap_or_default()
            .into_bytes()
    });
    (
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            ".{0,200}".prop_map(String::into_bytes),
            json_object,
            form,
        ],
        prop::sample::select(vec![
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
        ]),
    )
}

#[test]
fn no_body_gets_a_server_error_from_the_running_system() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (system, admin, context, coworker, operator) = runtime.block_on(async {
        let system = TestSystem::start().await;
        let admin = system.admin().await;
        let context = system.alice_own_context().await;
        let coworker = system.bearer_of("tina@example.com").await;
        let operator = system.operator().await;
        (system, admin, context, coworker, operator)
    });
    let bearer = |token: &str| ("authorization", format!("Bearer {token}"));
    let routes: Vec<Route> = vec![
        (Method::POST, "/api/oauth/token", vec![]),
        (
            Method::POST,
            "/api/_proxy/generate-imitate-customer-token",
            vec![bearer(&admin)],
        ),
        (Method::POST, "/api/search/customer", vec![bearer(&admin)]),
        (
            Method::POST,
            "/api/_action/impersonations/revoke",
            vec![bearer(&admin)],
        ),
        (
            Method::POST,
            "/store-api/account/login",
            vec![("sw-access-key", EU_KEY.into())],
        ),
        (
            Method::POST,
            "/store-api/account/login/imitate-customer",
            vec![("sw-access-key", EU_KEY.into())],
        ),
        (
            Method::PATCH,
            "/store-api/context",
            vec![
                ("sw-access-key", EU_KEY.into()),
                ("sw-context-token", context.clone()),
            ],
        ),
        (Method::POST, "/api/public/auth/login", vec![]),
        (Method::POST, "/api/sys/auth/login", vec![]),
        (
            Method::PUT,
            "/api/public/coworkers/profiles/current",
            vec![bearer(&coworker)],
        ),
        (
            Method::PUT,
            "/api/public/account/impersonation-consent",
            vec![bearer(&coworker)],
        ),
        (
            Method::PUT,
            "/api/sys/impersonation-policies/team:1",
            vec![bearer(&operator)],
        ),
        (Method::POST, "/account/login", vec![]),
        (Method::POST, "/account/login/imitate-customer", vec![]),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(240));
    let result = runner.run(&(0..routes.len(), body()), |(route, (bytes, content_type))| {
        let (method, path, headers) = &routes[route];
        let mut request = system
            .http
            .request(method.clone(), system.url(path))
            .header("content-type", content_type)
            .body(bytes);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let (status, text) = runtime.block_on(async {
            let response = request.send().await.expect("an answer");
            let status = response.status();
            (status, response.text().await.unwrap_or_default())
        });
        prop_assert!(!status.is_server_error(), "{method} {path}: {status} {text}");
        if status.is_client_error() {
            let envelope: Value = serde_json::from_str(&text).expect("a JSON error");
            prop_assert!(envelope["errors"][0]["code"].is_string(), "{envelope}");
        }
        Ok(())
    });
    runtime.block_on(system.stop());
    result.expect("every body gets a clear answer");
}

/// A character no text means (NUL, another control character, a line
/// separator, a bidi override) is the client's mistake, not an outage:
/// PostgreSQL cannot store a NUL, so the gateway refuses them all first
/// (400, a stable code) on every door that takes text, and passwords
/// refuse control characters while taking spaces and any script.
#[tokio::test]
async fn unusable_characters_in_text_are_a_client_error() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    for bad in ["a\u{0}b", "a\u{7}b", "a\u{2028}b", "a\u{202E}b"] {
        let cases = [
            (
                "/api/oauth/token",
                None,
                json!({ "grant_type": "password", "username": bad, "password": "x" }),
            ),
            (
                "/api/public/auth/login",
                None,
                json!({ "email": bad, "password": "x" }),
            ),
            (
                "/api/sys/auth/login",
                None,
                json!({ "email": bad, "password": "x" }),
            ),
            (
                "/api/search/customer",
                Some(admin.as_str()),
                json!({ "term": bad }),
            ),
        ];
        for (path, bearer, body) in cases {
            let mut request = system.http.post(system.url(path)).json(&body);
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            assert_error(
                request.send().await.unwrap(),
                StatusCode::BAD_REQUEST,
                "FRAMEWORK__INVALID_REQUEST_BODY",
            )
            .await;
        }
        let login = system
            .customer_login(EU_KEY, &format!("alice{bad}@example.com"), "x")
            .await;
        assert_error(login, StatusCode::BAD_REQUEST, "FRAMEWORK__INVALID_REQUEST_BODY").await;
    }
    // Passwords: a control character is refused, spaces and scripts are not
    // (a wrong password is a wrong password, not a bad request).
    let nul_password = system
        .customer_login(EU_KEY, "alice@example.com", "pass\u{0}word")
        .await;
    assert_error(
        nul_password,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_REQUEST_BODY",
    )
    .await;
    let spaced = system
        .customer_login(EU_KEY, "alice@example.com", "  pass wörd пароль ✓")
        .await;
    assert_error(
        spaced,
        StatusCode::UNAUTHORIZED,
        "CHECKOUT__CUSTOMER_AUTH_BAD_CREDENTIALS",
    )
    .await;
    // The storefront's form goes back to its login page with the error.
    let form = system
        .http
        .post(system.url("/account/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a%00b&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::SEE_OTHER);
    assert!(
        form.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/account/login")
    );

    // A query parameter with such a character, on the audit trail's search.
    let audit = system
        .http
        .get(system.url("/api/_action/audit-records?actorId=a%00b"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_error(
        audit,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_REQUEST_PARAMETER",
    )
    .await;
    system.stop().await;
}

/// A path that reaches PostgreSQL without the gateway (another service
/// calling the gRPC API) gets a client error for text the database refuses,
/// not "a backend is unavailable".
#[tokio::test]
async fn text_the_database_refuses_is_a_client_error_over_grpc() {
    use actas_shared::proto::{LoginRequest, PrincipalKind, session_service_client::SessionServiceClient};
    let system = TestSystem::start().await;
    let channel = tonic::transport::Channel::from_shared(system.sandbox().grpc_url(system.sandbox().session))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let refused = SessionServiceClient::new(channel)
        .login(LoginRequest {
            kind: PrincipalKind::Customer.into(),
            email: "a\u{0}b@example.com".into(),
            password: "x".into(),
            sales_channel_id: seed::STOREFRONT_EU.to_string(),
            ..LoginRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert_eq!(
        actas_shared::ApiError::from_status(&refused).code,
        actas_shared::ErrorCode::InvalidRequestBody
    );
    system.stop().await;
}

/// Every extractor rejection is in the envelope with a documented code:
/// a repeated query parameter is not axum's plain text.
#[tokio::test]
async fn unreadable_query_strings_answer_the_error_envelope() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let operator = system.operator().await;
    let until = "2030-01-01T00:00:00Z";
    let cases = [
        (
            format!("/api/_action/audit-records?until={until}&until={until}"),
            admin.as_str(),
        ),
        (
            format!("/api/sys/audit-records?until={until}&until={until}"),
            operator.as_str(),
        ),
        (
            format!(
                "/api/sys/users/impersonate?userId={0}&userId={0}",
                simple(seed::ALICE)
            ),
            operator.as_str(),
        ),
    ];
    for (path, bearer) in cases {
        let response = system
            .http
            .get(system.url(&path))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], "application/json", "{path}");
        assert_error(
            response,
            StatusCode::BAD_REQUEST,
            "FRAMEWORK__INVALID_REQUEST_PARAMETER",
        )
        .await;
    }
    // A browser gets its page, without the message the flag would show.
    let page = system
        .http
        .get(system.url("/account/login?loginError=true&loginError=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    system.stop().await;
}
