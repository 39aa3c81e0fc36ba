//! The impersonated person is told: every impersonation start and end goes
//! through the outbox to the webhook, signed with HMAC-SHA256, and a
//! receiver that fails gets it again.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode as HttpStatus},
    routing::post,
};
use hmac::{Hmac, Mac as _};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;

use actas_permission::seed;

use crate::helpers::{EU_KEY, TestSystem};

const SECRET: &str = "webhook-test-secret";

/// What the receiver saw: (event id, timestamp, signature, body), in order.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

async fn receive(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> HttpStatus {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut seen = seen.lock().expect("not poisoned");
    seen.push((
        header("x-actas-event-id"),
        header("x-actas-timestamp"),
        header("x-actas-signature"),
        String::from_utf8_lossy(&body).into_owned(),
    ));
    // The very first delivery fails: the drainer must come back.
    if seen.len() == 1 {
        HttpStatus::SERVICE_UNAVAILABLE
    } else {
        HttpStatus::NO_CONTENT
    }
}

#[tokio::test]
async fn impersonation_events_reach_the_webhook_signed_and_retried() {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiver = Router::new()
        .route("/hook", post(receive))
        .with_state(seen.clone());
    let server = tokio::spawn(async move { axum::serve(listener, receiver).await });

    let system = TestSystem::start_with(|options| options.webhook = Some((url, SECRET.into()))).await;
    let admin = system.admin().await;
    let context = system.exchange_alice(&system.alice_token(&admin).await).await;
    let logout = system
        .http
        .post(system.url("/store-api/account/logout"))
        .header("sw-access-key", EU_KEY)
        .header("sw-context-token", &context)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);

    // Start (failed once, then again) and end: three deliveries, two events.
    let mut deliveries = Vec::new();
    for _ in 0..100 {
        deliveries = seen.lock().unwrap().clone();
        let mut ids: Vec<&String> = deliveries.iter().map(|d| &d.0).collect();
        ids.sort();
        ids.dedup();
        if deliveries.len() >= 3 && ids.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(deliveries.len() >= 3, "{deliveries:?}");
    let failed = &deliveries[0].0;
    assert!(
        deliveries[1..].iter().any(|d| &d.0 == failed),
        "the failed event comes again: {deliveries:?}"
    );

    let mut types = Vec::new();
    for (id, timestamp, signature, body) in &deliveries {
        let mut mac = <Hmac<Sha256>>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.{body}").as_bytes());
        assert_eq!(
            *signature,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
            "signed"
        );
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["id"], id.as_str());
        assert_eq!(event["actorId"], seed::ADMIN.to_string());
        assert_eq!(event["targetId"], seed::ALICE.to_string());
        assert!(!body.contains(&context), "no session token leaves");
        types.push(event["type"].as_str().unwrap().to_owned());
    }
    // Order is not kept across a retry: receivers order by `occurredAt`.
    types.sort();
    types.dedup();
    assert_eq!(types, ["impersonation.ended", "impersonation.started"]);
    system.stop().await;
    server.abort();
}
