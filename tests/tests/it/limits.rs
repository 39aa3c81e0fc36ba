//! Rate limits: per client address on redeem, per actor on issue; 429 with
//! a stable code and Retry-After. Behind a trusted proxy the client is the
//! first untrusted address of X-Forwarded-For, and the audit trail says so.

use actas_permission::seed;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EU_KEY, TestSystem, assert_error, simple};

const TOO_MANY: &str = "FRAMEWORK__TOO_MANY_REQUESTS";
const INVALID: &str = "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN";

impl TestSystem {
    async fn exchange_from(&self, forwarded_for: Option<&str>, body: Value) -> Response {
        let mut request = self
            .http
            .post(self.url("/store-api/account/login/imitate-customer"))
            .header("sw-access-key", EU_KEY)
            .json(&body);
        if let Some(hops) = forwarded_for {
            request = request.header("x-forwarded-for", hops);
        }
        request.send().await.unwrap()
    }
}

fn guess() -> Value {
    json!({ "token": "eyJhbGciOiJFZERTQSJ9.e30.AAAA", "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) })
}

async fn assert_limited(response: Response) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, TOO_MANY).await;
}

#[tokio::test]
async fn redeeming_is_limited_per_client_address() {
    let system = TestSystem::start_with(|options| {
        options.redeem_limit_per_minute = 3;
        options.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    for _ in 0..3 {
        let refused = system.exchange_from(Some("203.0.113.1"), guess()).await;
        assert_error(refused, StatusCode::BAD_REQUEST, INVALID).await;
    }
    assert_limited(system.exchange_from(Some("203.0.113.1"), guess()).await).await;
    // The public exchange is the same door for the same client.
    let public = system
        .http
        .post(system.url("/api/public/auth/login/eyJhbGciOiJFZERTQSJ9.e30.AAAA"))
        .header("x-forwarded-for", "203.0.113.1")
        .send()
        .await
        .unwrap();
    assert_limited(public).await;
    // Other clients are not held back by one that guesses.
    let other = system.exchange_from(Some("203.0.113.2"), guess()).await;
    assert_error(other, StatusCode::BAD_REQUEST, INVALID).await;
    system.stop().await;
}

#[tokio::test]
async fn issuing_is_limited_per_actor() {
    let system = TestSystem::start_with(|options| options.issue_limit_per_minute = 2).await;
    let admin = system.admin().await;
    let body = json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) });
    for _ in 0..2 {
        assert_eq!(
            system.generate(&admin, body.clone()).await.status(),
            StatusCode::OK
        );
    }
    assert_limited(system.generate(&admin, body.clone()).await).await;
    // A second session of the same admin is the same actor.
    let again = system.admin().await;
    assert_limited(system.generate(&again, body).await).await;
    // Another actor is not.
    let login: Value = system
        .http
        .post(system.url("/api/public/auth/login"))
        .json(&json!({ "email": "tina@example.com", "password": "tina-demo-password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tina = login["access_token"].as_str().unwrap();
    let team = system
        .http
        .get(system.url(&format!(
            "/api/public/coworkers/{}/impersonate",
            seed::PROFILE_MAX_ACME
        )))
        .bearer_auth(tina)
        .send()
        .await
        .unwrap();
    assert_eq!(team.status(), StatusCode::OK);
    system.stop().await;
}

/// The audit record's client address of one exchange.
async fn recorded_ip(system: &TestSystem, forwarded_for: &str) -> String {
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let exchanged = system
        .exchange_from(
            Some(forwarded_for),
            json!({ "token": token, "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) }),
        )
        .await;
    assert_eq!(exchanged.status(), StatusCode::OK);
    let ops: Value = system
        .http
        .post(system.url("/api/sys/auth/login"))
        .json(&json!({ "email": "ops@example.com", "password": "ops-demo-password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records: Value = system
        .http
        .get(system.url(&format!(
            "/api/sys/audit-records?targetId={}",
            simple(seed::ALICE)
        )))
        .bearer_auth(ops["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    records["records"][0]["clientIp"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_client_address_comes_from_trusted_proxies_only() {
    let direct = TestSystem::start().await;
    assert_eq!(
        recorded_ip(&direct, "198.51.100.7").await,
        "127.0.0.1",
        "a client's own X-Forwarded-For is not believed"
    );
    direct.stop().await;

    let proxied = TestSystem::start_with(|options| {
        options.trusted_proxies = "127.0.0.0/8, 10.0.0.0/8".into();
    })
    .await;
    assert_eq!(
        recorded_ip(&proxied, "192.0.2.66, 198.51.100.7, 10.1.2.3").await,
        "198.51.100.7",
        "the nearest untrusted hop; what the client wrote to its left is not believed"
    );
    proxied.stop().await;
}
