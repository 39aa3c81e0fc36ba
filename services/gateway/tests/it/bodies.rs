//! Request bodies under arbitrary input: every route that reads a body
//! answers malformed, mistyped or hostile bodies with a 4xx and the error
//! envelope (or 503 when the services behind it are away, as here),
//! never a 500 and never a panic.

use actas_gateway::{Application, Config};
use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Request, StatusCode},
};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt as _;

/// A route: method, path, and a header that gets it to reading the body.
type Route = (&'static str, &'static str, Option<(&'static str, &'static str)>);

/// Routes that read a body.
const ROUTES: &[Route] = &[
    ("POST", "/api/oauth/token", None),
    (
        "POST",
        "/api/_proxy/generate-imitate-customer-token",
        Some(("authorization", "Bearer x")),
    ),
    (
        "POST",
        "/api/search/customer",
        Some(("authorization", "Bearer x")),
    ),
    (
        "POST",
        "/api/_action/impersonations/revoke",
        Some(("authorization", "Bearer x")),
    ),
    (
        "POST",
        "/store-api/account/login",
        Some(("sw-access-key", "SWSCDEMOEU0000000000000000")),
    ),
    (
        "POST",
        "/store-api/account/login/imitate-customer",
        Some(("sw-access-key", "x")),
    ),
    ("PATCH", "/store-api/context", Some(("sw-context-token", "x"))),
    ("POST", "/api/public/auth/login", None),
    ("POST", "/api/sys/auth/login", None),
    (
        "PUT",
        "/api/public/coworkers/profiles/current",
        Some(("authorization", "Bearer x")),
    ),
    (
        "PUT",
        "/api/public/account/impersonation-consent",
        Some(("authorization", "Bearer x")),
    ),
    (
        "PUT",
        "/api/sys/impersonation-policies/team:1",
        Some(("authorization", "Bearer x")),
    ),
    ("POST", "/account/login", None),
    ("POST", "/account/login/imitate-customer", None),
];

/// A gateway whose services are unreachable: whatever gets past parsing
/// meets an outage, which must read as 503, not as the client's fault.
fn gateway(runtime: &tokio::runtime::Runtime) -> Router {
    runtime.block_on(async {
        let config = Config {
            permission_url: "http://127.0.0.1:9".into(),
            session_url: "http://127.0.0.1:9".into(),
            token_issuer_url: "http://127.0.0.1:9".into(),
            ..Config::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        Application::build(&config, listener)
            .await
            .expect("the gateway")
            .router()
    })
}

fn body_strategy() -> impl Strategy<Value = (Vec<u8>, &'static str)> {
    let content_type = prop_oneof![
        Just("application/json"),
        Just("application/x-www-form-urlencoded"),
        Just("text/plain"),
        Just(""),
    ];
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        ".{0,200}".prop_map(String::into_bytes),
        // JSON of every shape, with the fields routes read, of any type.
        proptest::collection::vec(
            (
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
                    ])
                    .prop_map(str::to_owned),
                    ".{0,8}",
                ],
                prop_oneof![
                    Just(Value::Null),
                    any::<bool>().prop_map(Value::from),
                    any::<i64>().prop_map(Value::from),
                    any::<f64>().prop_map(Value::from),
                    ".{0,40}".prop_map(Value::from),
                    Just(serde_json::json!([1, "a"])),
                    Just(serde_json::json!({"a": {"b": []}})),
                ],
            ),
            0..6,
        )
        .prop_map(|fields| {
            Value::Object(fields.into_iter().collect())
                .to_string()
                .into_bytes()
        }),
        // Form bodies with the same fields.
        proptest::collection::vec(("[a-zA-Z_]{1,12}", ".{0,30}"), 0..5).prop_map(|pairs| {
            serde_urlencoded::to_string(pairs)
                .unwrap_or_default()
                .into_bytes()
        }),
    ];
    (bytes, content_type)
}

#[test]
fn no_body_makes_a_route_fail_with_a_server_error() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let app = gateway(&runtime);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(300));
    runner
        .run(
            &(0..ROUTES.len(), body_strategy()),
            |(route, (body, content_type))| {
                let (method, path, header) = ROUTES[route];
                let mut request = Request::builder().method(method).uri(path);
                if !content_type.is_empty() {
                    request = request.header("content-type", content_type);
                }
                if let Some((name, value)) = header {
                    request = request.header(name, value);
                }
                let request = request.body(Body::from(body)).expect("a request");
                let (status, bytes) = runtime.block_on(async {
                    let response = app.clone().oneshot(request).await.expect("infallible");
                    let status = response.status();
                    (
                        status,
                        to_bytes(response.into_body(), 1 << 20).await.expect("a body"),
                    )
                });
                prop_assert!(
                    status != StatusCode::INTERNAL_SERVER_ERROR,
                    "{method} {path}: 500"
                );
                prop_assert!(
                    status.is_client_error()
                        || status == StatusCode::SERVICE_UNAVAILABLE
                        || status.is_redirection(),
                    "{method} {path}: {status}"
                );
                if !status.is_redirection() {
                    let envelope: Value = serde_json::from_slice(&bytes).expect("a JSON error");
                    prop_assert!(envelope["errors"][0]["code"].is_string(), "{envelope}");
                }
                Ok(())
            },
        )
        .expect("every body gets a clear answer");
}
