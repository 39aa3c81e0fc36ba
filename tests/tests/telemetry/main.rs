//! Telemetry across the system: one HTTP request yields spans in all four
//! services under one trace id (W3C trace context through every gRPC hop)
//! that the audit record of its token keeps, and a full flow logged at debug level leaks no token and no password.

#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeSet,
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use actas_e2e::{Options, Sandbox};
use actas_permission::seed;
use actas_shared::testing::{TestDatabase, redis_url, unique_prefix};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use serde_json::{Value, json};
use tracing_subscriber::{EnvFilter, Layer as _, layer::SubscriberExt as _};

/// Everything the process logs, at debug level, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Telemetry {
    spans: InMemorySpanExporter,
    logs: Captured,
}

/// One subscriber for the whole binary: spans to memory, logs to a buffer.
fn telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(|| {
        let spans = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("actas-test")))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || writer.clone())
                    .with_ansi(false)
                    .with_filter(EnvFilter::new(
                        "debug,h2=info,hyper=info,hyper_util=info,tower=info",
                    )),
            );
        tracing::subscriber::set_global_default(subscriber).unwrap();
        Telemetry { spans, logs }
    })
}

async fn start() -> (Sandbox, TestDatabase, reqwest::Client) {
    telemetry();
    let database = TestDatabase::create().await.unwrap();
    let mut options = Options::new(database.url.clone());
    options.redis_url = Some(redis_url());
    options.redis_key_prefix = unique_prefix();
    let sandbox = Sandbox::start(options).await.unwrap();
    (sandbox, database, reqwest::Client::new())
}

async fn admin_bearer(http: &reqwest::Client, base: &str) -> String {
    let body: Value = http
        .post(format!("{base}/api/oauth/token"))
        .json(&json!({
            "grant_type": "password", "username": "admin@example.com", "password": "admin-demo-password"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn one_request_is_one_trace_across_all_four_services() {
    let (sandbox, _database, http) = start().await;
    let base = sandbox.gateway_url();
    let admin = admin_bearer(&http, &base).await;

    // The caller's trace context, as an ingress or browser agent would send it.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = http
        .post(format!("{base}/api/_proxy/generate-imitate-customer-token"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .bearer_auth(&admin)
        .json(&json!({
            "customerId": seed::ALICE.simple().to_string(),
            "salesChannelId": seed::STOREFRONT_EU.simple().to_string(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // The audit record of the token names the same trace.
    let operator: Value = http
        .post(format!("{base}/api/sys/auth/login"))
        .json(&json!({ "email": "ops@example.com", "password": "ops-demo-password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records: Value = http
        .get(format!("{base}/api/sys/audit-records"))
        .query(&[("targetId", seed::ALICE.simple().to_string())])
        .bearer_auth(operator["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issued = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|record| record["kind"] == "token_issued")
        .expect("the token_issued record");
    assert_eq!(issued["traceId"], trace_id, "{issued}");
    sandbox.stop().await.unwrap();

    let spans = telemetry().spans.get_finished_spans().unwrap();
    let services: BTreeSet<String> = spans
        .iter()
        .filter(|span| span.span_context.trace_id().to_string() == trace_id)
        .filter_map(|span| {
            span.attributes
                .iter()
                .find(|attribute| attribute.key.as_str() == "service")
                .map(|attribute| attribute.value.to_string())
        })
        .collect();
    assert_eq!(
        services,
        BTreeSet::from(
            [
                "actas-gateway",
                "actas-permission",
                "actas-session",
                "actas-token-issuer"
            ]
            .map(String::from)
        ),
        "services with spans in the trace"
    );
    // Log lines inside those spans carry the trace id.
    let logs = String::from_utf8(telemetry().logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&format!("trace_id={trace_id}")),
        "logs carry the trace id"
    );
}

#[tokio::test]
async fn a_full_flow_at_debug_level_logs_no_secret() {
    let (sandbox, _database, http) = start().await;
    let base = sandbox.gateway_url();
    let admin = admin_bearer(&http, &base).await;
    let token: Value = http
        .post(format!("{base}/api/_proxy/generate-imitate-customer-token"))
        .bearer_auth(&admin)
        .json(&json!({
            "customerId": seed::ALICE.simple().to_string(),
            "salesChannelId": seed::STOREFRONT_EU.simple().to_string(),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let exchanged = http
        .post(format!("{base}/store-api/account/login/imitate-customer"))
        .header("sw-access-key", seed::STOREFRONT_EU_ACCESS_KEY)
        .json(&json!({
            "token": token,
            "customerId": seed::ALICE.simple().to_string(),
            "userId": seed::ADMIN.simple().to_string(),
        }))
        .send()
        .await
        .unwrap();
    let context = exchanged.headers()["sw-context-token"]
        .to_str()
        .unwrap()
        .to_owned();
    // The coworker flow carries its token in the URL path.
    let tina: Value = http
        .post(format!("{base}/api/public/auth/login"))
        .json(&json!({ "email": "tina@example.com", "password": "tina-demo-password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tina_bearer = tina["access_token"].as_str().unwrap().to_owned();
    let coworker_token: Value = http
        .get(format!("{base}/api/public/coworkers/1002/impersonate"))
        .bearer_auth(&tina_bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let coworker_token = coworker_token["token"].as_str().unwrap().to_owned();
    let as_max: Value = http
        .post(format!("{base}/api/public/auth/login/{coworker_token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let as_max = as_max["access_token"].as_str().unwrap().to_owned();
    sandbox.stop().await.unwrap();

    let logs = String::from_utf8(telemetry().logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("impersonated session started"),
        "the flow was logged"
    );
    for (what, secret) in [
        ("admin password", "admin-demo-password"),
        ("team admin password", "tina-demo-password"),
        ("admin bearer", admin.as_str()),
        ("impersonation token", token.as_str()),
        ("its signature", token.rsplit('.').next().unwrap()),
        ("context token", context.as_str()),
        ("coworker bearer", tina_bearer.as_str()),
        ("coworker token in the path", coworker_token.as_str()),
        ("impersonated bearer", as_max.as_str()),
    ] {
        assert!(!logs.contains(secret), "the logs contain the {what}");
    }
    // Nor do span attributes.
    for span in telemetry().spans.get_finished_spans().unwrap() {
        for attribute in &span.attributes {
            let value = attribute.value.to_string();
            assert!(
                !value.contains(&coworker_token) && !value.contains(&token) && !value.contains(&admin),
                "span {} attribute {} carries a secret",
                span.name,
                attribute.key
            );
        }
    }
}

/// Client mistakes are not server faults: a bad bearer, a wrong password,
/// a garbage token and an unknown customer leave no ERROR line in any of
/// the four services (they answer 4xx; ERROR means the server is at fault).
#[tokio::test]
async fn client_mistakes_log_no_error() {
    let (sandbox, _database, http) = start().await;
    let base = sandbox.gateway_url();
    let admin = admin_bearer(&http, &base).await;
    let mut statuses = Vec::new();
    let me = http
        .get(format!("{base}/api/_info/me"))
        .bearer_auth("not-a-session")
        .send()
        .await
        .unwrap();
    statuses.push(me.status());
    let wrong_password = http
        .post(format!("{base}/api/oauth/token"))
        .json(&json!({ "grant_type": "password", "username": "admin@example.com", "password": "wrong" }))
        .send()
        .await
        .unwrap();
    statuses.push(wrong_password.status());
    let garbage = http
        .post(format!("{base}/store-api/account/login/imitate-customer"))
        .header("sw-access-key", seed::STOREFRONT_EU_ACCESS_KEY)
        .json(&json!({
            "token": "not.a.token",
            "customerId": seed::ALICE.simple().to_string(),
            "userId": seed::ADMIN.simple().to_string(),
        }))
        .send()
        .await
        .unwrap();
    statuses.push(garbage.status());
    let unknown_customer = http
        .post(format!("{base}/api/_proxy/generate-imitate-customer-token"))
        .bearer_auth(&admin)
        .json(&json!({
            "customerId": uuid::Uuid::new_v4().simple().to_string(),
            "salesChannelId": seed::STOREFRONT_EU.simple().to_string(),
        }))
        .send()
        .await
        .unwrap();
    statuses.push(unknown_customer.status());
    sandbox.stop().await.unwrap();
    assert!(
        statuses.iter().all(|status| status.is_client_error()),
        "{statuses:?}"
    );

    let logs = String::from_utf8(telemetry().logs.0.lock().unwrap().clone()).unwrap();
    let errors: Vec<&str> = logs.lines().filter(|line| line.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "ERROR lines for client mistakes: {errors:#?}");
}
