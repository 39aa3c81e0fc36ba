//! The operator finds the users they may act as (admins and customers by
//! email or name, never an operator, over `POST /api/sys/search/user`), and
//! ends what they hold by its bearer at `POST /api/public/auth/logout`.

use actas_permission::seed;
use actas_shared::proto::AuditKind;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::coworkers::token_of;
use crate::helpers::{TestSystem, assert_error, simple};

impl TestSystem {
    async fn search_users(&self, bearer: &str, body: Value) -> Response {
        self.http
            .post(self.url("/api/sys/search/user"))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn logout(&self, bearer: &str) -> StatusCode {
        self.http
            .post(self.url("/api/public/auth/logout"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn the_operator_finds_admins_and_customers_and_never_an_operator() {
    let system = TestSystem::start().await;
    let operator = system.operator().await;

    let answer = system
        .search_users(&operator, json!({ "term": "example.com", "limit": 100 }))
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let found: Value = answer.json().await.unwrap();
    let users = found["data"].as_array().unwrap();
    assert_eq!(found["total"], users.len(), "{found}");
    let kind_of = |id: uuid::Uuid| {
        users
            .iter()
            .find(|user| user["id"] == simple(id))
            .map(|user| user["kind"].as_str().unwrap().to_owned())
    };
    assert_eq!(kind_of(seed::ADMIN).as_deref(), Some("admin"), "{found}");
    assert_eq!(kind_of(seed::ALICE).as_deref(), Some("customer"), "{found}");
    assert_eq!(kind_of(seed::OPS), None, "never an operator: {found}");
    assert!(users.iter().all(|user| user["kind"] != "operator"));

    // Alice by name, with what the console shows of her.
    let alice: Value = system
        .search_users(&operator, json!({ "term": "ALICE" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alice["total"], 1, "{alice}");
    assert_eq!(alice["data"][0]["name"], "Alice Example");
    assert_eq!(alice["data"][0]["email"], "alice@example.com");
    assert_eq!(alice["data"][0]["active"], true);
    assert_eq!(
        (alice["page"].clone(), alice["limit"].clone()),
        (json!(1), json!(25))
    );

    // Paging, and what is not a search.
    let page: Value = system
        .search_users(&operator, json!({ "term": "example.com", "page": 2, "limit": 1 }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0], users[1], "the second of the whole list");
    assert_error(
        system.search_users(&operator, json!({ "limit": 101 })).await,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_LIMIT_QUERY",
    )
    .await;
    assert_error(
        system.search_users(&operator, json!({ "page": 0 })).await,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_PAGE_QUERY",
    )
    .await;
    assert_error(
        system.search_users(&operator, json!({ "term": 7 })).await,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_REQUEST_BODY",
    )
    .await;

    // An admin's bearer is no operator's.
    let admin = system.admin().await;
    assert_error(
        system.search_users(&admin, json!({})).await,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
}

#[tokio::test]
async fn the_operator_stops_acting_as_an_admin_and_signs_out_by_logout() {
    let system = TestSystem::start().await;
    let operator = system.operator().await;
    let issued = system.impersonate_user(&operator, &simple(seed::ADMIN)).await;
    let as_admin: Value = system
        .exchange_token(&token_of(issued).await)
        .await
        .json()
        .await
        .unwrap();
    let admin_bearer = as_admin["access_token"].as_str().unwrap().to_owned();
    assert_eq!(system.me_status(&admin_bearer).await, StatusCode::OK);

    // Stop: the impersonation ends on the record, the operator's own goes on.
    assert_eq!(system.logout(&admin_bearer).await, StatusCode::NO_CONTENT);
    assert_eq!(system.me_status(&admin_bearer).await, StatusCode::UNAUTHORIZED);
    let trail = system.audit_trail(seed::ADMIN).await;
    assert_eq!(trail[0].kind(), AuditKind::ImpersonationEnded, "{trail:?}");
    assert_eq!(trail[0].actor_id, seed::OPS.to_string());
    let search = system.search_users(&operator, json!({})).await;
    assert_eq!(search.status(), StatusCode::OK);

    // An admin's own session ends when it expires, not here.
    let admin = system.admin().await;
    assert_eq!(system.logout(&admin).await, StatusCode::UNAUTHORIZED);
    assert_eq!(system.me_status(&admin).await, StatusCode::OK);

    // A Store API context ends at the Store API's logout, not here.
    let alice = system.alice_own_context().await;
    assert_eq!(system.logout(&alice).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        system.context_json(&alice).await["customer"]["email"],
        "alice@example.com"
    );

    // Signing out ends the operator's own session.
    assert_eq!(system.logout(&operator).await, StatusCode::NO_CONTENT);
    assert_error(
        system.search_users(&operator, json!({})).await,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
    assert_eq!(system.logout(&operator).await, StatusCode::UNAUTHORIZED);
}
