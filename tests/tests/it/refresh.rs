//! The OAuth refresh grant of the Admin API: the password grant answers a
//! refresh token; using it rotates both (the old bearer and the used
//! refresh token stop working), once; it is bound to its session and ends
//! with it; impersonated sessions have none to use.

use actas_permission::seed;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestSystem, assert_error, simple};

const INVALID_GRANT: &str = "FRAMEWORK__INVALID_GRANT";

impl TestSystem {
    async fn oauth(&self, body: Value) -> Response {
        self.http
            .post(self.url("/api/oauth/token"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn password_grant(&self) -> Value {
        let response = self
            .oauth(json!({
                "grant_type": "password",
                "client_id": "administration",
                "scopes": "write",
                "username": "admin@example.com",
                "password": "admin-demo-password",
            }))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn refresh_grant(&self, refresh_token: &str) -> Response {
        self.oauth(json!({
            "grant_type": "refresh_token",
            "client_id": "administration",
            "refresh_token": refresh_token,
        }))
        .await
    }
}

fn text(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {body}"))
        .to_owned()
}

#[tokio::test]
async fn a_refresh_rotates_both_tokens_once() {
    let system = TestSystem::start().await;
    let first = system.password_grant().await;
    let (bearer, refresh) = (text(&first, "access_token"), text(&first, "refresh_token"));
    assert_ne!(bearer, refresh);
    assert_eq!(system.me_status(&bearer).await, StatusCode::OK);

    let refreshed = system.refresh_grant(&refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let second: Value = refreshed.json().await.unwrap();
    let (new_bearer, new_refresh) = (text(&second, "access_token"), text(&second, "refresh_token"));
    assert_eq!(second["token_type"], "Bearer");
    assert!(second["expires_in"].as_i64().unwrap() > 0, "{second}");
    assert!(new_bearer != bearer && new_refresh != refresh);
    assert_eq!(system.me_status(&new_bearer).await, StatusCode::OK);
    // The old bearer is over (its cache entries live at most a second).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(system.me_status(&bearer).await, StatusCode::UNAUTHORIZED);

    // Single use: the used one, and a bearer passed as one, refresh nothing.
    assert_error(
        system.refresh_grant(&refresh).await,
        StatusCode::BAD_REQUEST,
        INVALID_GRANT,
    )
    .await;
    assert_error(
        system.refresh_grant(&new_bearer).await,
        StatusCode::BAD_REQUEST,
        INVALID_GRANT,
    )
    .await;
    let missing = system
        .oauth(json!({ "grant_type": "refresh_token", "client_id": "administration" }))
        .await;
    assert_error(
        missing,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__MISSING_REQUEST_PARAMETER",
    )
    .await;
    // The session is the same one: still one admin session, and its newest
    // refresh token works.
    let third = system.refresh_grant(&new_refresh).await;
    assert_eq!(third.status(), StatusCode::OK);
    system.stop().await;
}

#[tokio::test]
async fn of_concurrent_uses_of_one_refresh_token_one_wins() {
    let system = TestSystem::start().await;
    let refresh = text(&system.password_grant().await, "refresh_token");
    let uses = (0..8).map(|_| system.refresh_grant(&refresh));
    let statuses: Vec<StatusCode> = futures::future::join_all(uses)
        .await
        .iter()
        .map(Response::status)
        .collect();
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(won, 1, "{statuses:?}");
    system.stop().await;
}

#[tokio::test]
async fn a_refresh_token_ends_with_its_session_and_impersonations_have_none() {
    let system = TestSystem::start().await;
    let grant = system.password_grant().await;
    let refresh = text(&grant, "refresh_token");

    // An operator signs in as the admin: that session has no refresh
    // token, and its bearer refreshes nothing.
    let operator = system.operator().await;
    let issued = system.impersonate_user(&operator, &simple(seed::ADMIN)).await;
    assert_eq!(issued.status(), StatusCode::OK);
    let token = text(&issued.json().await.unwrap(), "token");
    let exchanged = system.exchange_token(&token).await;
    assert_eq!(exchanged.status(), StatusCode::OK);
    let as_admin: Value = exchanged.json().await.unwrap();
    assert!(
        as_admin.get("refresh_token").is_none_or(Value::is_null),
        "{as_admin}"
    );
    let as_admin = text(&as_admin, "access_token");
    assert_error(
        system.refresh_grant(&as_admin).await,
        StatusCode::BAD_REQUEST,
        INVALID_GRANT,
    )
    .await;

    // Deactivating the admin ends its session: its refresh token with it.
    let deactivated = system
        .http
        .post(system.url(&format!("/api/sys/principals/{}/deactivate", simple(seed::ADMIN))))
        .bearer_auth(&operator)
        .json(&json!({ "reason": "left" }))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), StatusCode::OK);
    assert_error(
        system.refresh_grant(&refresh).await,
        StatusCode::BAD_REQUEST,
        INVALID_GRANT,
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn a_refresh_token_outlives_its_bearer_up_to_the_sessions_maximum() {
    let system = TestSystem::start_with(|options| {
        options.admin_session_ttl_secs = 1;
        options.admin_session_max_secs = 4;
    })
    .await;
    let signed_in = std::time::Instant::now();
    let grant = system.password_grant().await;
    assert!(grant["expires_in"].as_i64().unwrap() <= 1, "{grant}");
    let (bearer, mut refresh) = (text(&grant, "access_token"), text(&grant, "refresh_token"));

    // The bearer runs out, as Shopware's client waits for before it
    // refreshes; the refresh token still works.
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(system.me_status(&bearer).await, StatusCode::UNAUTHORIZED);
    let refreshed = system.refresh_grant(&refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let answer: Value = refreshed.json().await.unwrap();
    assert_eq!(
        system.me_status(&text(&answer, "access_token")).await,
        StatusCode::OK
    );
    refresh = text(&answer, "refresh_token");

    // Past the maximum since the sign-in, nothing refreshes it.
    let past_max = std::time::Duration::from_millis(4300).saturating_sub(signed_in.elapsed());
    tokio::time::sleep(past_max).await;
    assert_error(
        system.refresh_grant(&refresh).await,
        StatusCode::BAD_REQUEST,
        INVALID_GRANT,
    )
    .await;
    system.stop().await;
}
