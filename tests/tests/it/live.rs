//! The live impersonations list: who acts as whom, since when, where, for
//! those holding `impersonation:revoke`, paged by session id; "End" on one
//! row ends that session only, on the record.

use actas_permission::seed;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::{
    coworkers::token_of,
    helpers::{EU_KEY, TestSystem, assert_error, simple},
};

const ADMIN_LIST: &str = "/api/_action/impersonations";
const OPERATOR_LIST: &str = "/api/sys/impersonations";

impl TestSystem {
    async fn live(&self, route: &str, bearer: &str, query: &[(&str, &str)]) -> Response {
        self.http
            .get(self.url(route))
            .query(query)
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_live_list_shows_who_acts_as_whom_and_end_ends_that_row_only() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let operator = system.operator().await;
    // The same admin as Alice twice, and the operator as the admin.
    let first = system.exchange_alice(&system.alice_token(&admin).await).await;
    let second = system.exchange_alice(&system.alice_token(&admin).await).await;
    let token = token_of(system.impersonate_user(&operator, &simple(seed::ADMIN)).await).await;
    let operator_as_admin: Value = system.exchange_token(&token).await.json().await.unwrap();
    let operator_as_admin = operator_as_admin["access_token"].as_str().unwrap().to_owned();

    let answer = system.live(ADMIN_LIST, &admin, &[]).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let list: Value = answer.json().await.unwrap();
    let rows = list["impersonations"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{list}");
    assert_eq!(list["nextAfter"], Value::Null);
    let of_alice: Vec<&Value> = rows
        .iter()
        .filter(|row| row["targetId"] == simple(seed::ALICE))
        .collect();
    assert_eq!(of_alice.len(), 2, "{list}");
    for row in &of_alice {
        assert_eq!(row["actorId"], simple(seed::ADMIN));
        assert_eq!(row["actorName"], "Ada Admin");
        assert_eq!(row["targetName"], "Alice Example");
        assert_eq!(row["salesChannelId"], simple(seed::STOREFRONT_EU));
        assert_eq!(row["action"], "imitate_customer");
        assert_eq!(row["readOnly"], false);
        assert!(row["startedAt"].as_str().unwrap() <= row["expiresAt"].as_str().unwrap());
    }
    let by_operator = rows
        .iter()
        .find(|row| row["targetId"] == simple(seed::ADMIN))
        .expect("the operator's impersonation of the admin");
    assert_eq!(by_operator["action"], "impersonate_user");
    assert_eq!(by_operator["actorName"], "Oli Operator");
    let first_id = of_alice[0]["sessionId"].as_str().unwrap().to_owned();

    // Paged by session id: each row once, in pages of one.
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = system
            .live(OPERATOR_LIST, &operator, &[("limit", "1"), ("after", &after)])
            .await
            .json()
            .await
            .unwrap();
        let rows = page["impersonations"].as_array().unwrap();
        assert!(rows.len() <= 1, "{page}");
        seen.extend(
            rows.iter()
                .map(|row| row["sessionId"].as_str().unwrap().to_owned()),
        );
        match page["nextAfter"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    let mut all: Vec<String> = list["impersonations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["sessionId"].as_str().unwrap().to_owned())
        .collect();
    all.sort();
    let mut paged = seen.clone();
    paged.sort();
    assert_eq!(paged, all);

    // Who may not read it, and what is not a query.
    let viewer = system
        .admin_login("viewer@example.com", "viewer-demo-password")
        .await;
    let error = assert_error(
        system.live(ADMIN_LIST, &viewer, &[]).await,
        StatusCode::FORBIDDEN,
        "FRAMEWORK__MISSING_PRIVILEGE_ERROR",
    )
    .await;
    assert!(error["detail"].as_str().unwrap().contains("impersonation:revoke"));
    assert_error(
        system.live(ADMIN_LIST, &operator_as_admin, &[]).await,
        StatusCode::FORBIDDEN,
        "ACTAS__FORBIDDEN_WHILE_IMPERSONATING",
    )
    .await;
    assert_error(
        system.live(ADMIN_LIST, &admin, &[("limit", "0")]).await,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_LIMIT_QUERY",
    )
    .await;
    assert_error(
        system.live(ADMIN_LIST, &admin, &[("after", "yesterday")]).await,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_UUID",
    )
    .await;

    // "End" on the first of Alice's rows: that session ends, its twin
    // (the same admin as the same customer) lives on.
    let ended = system
        .http
        .post(system.url("/api/_action/impersonations/revoke"))
        .bearer_auth(&admin)
        .json(&json!({ "sessionId": first_id, "reason": "done here" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::OK);
    assert_eq!(ended.json::<Value>().await.unwrap(), json!({ "revoked": 1 }));
    let mut statuses = [
        system.context(EU_KEY, &first).await.status(),
        system.context(EU_KEY, &second).await.status(),
    ];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
    let left: Value = system.live(ADMIN_LIST, &admin, &[]).await.json().await.unwrap();
    let left: Vec<&str> = left["impersonations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&first_id.as_str()));

    // The trail, filtered by kind, names the revocation and its people.
    let revoked: Value = system
        .http
        .get(system.url("/api/_action/audit-records"))
        .query(&[
            ("kind", "impersonation_revoked"),
            ("targetId", &simple(seed::ALICE)),
        ])
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = revoked["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{revoked}");
    assert_eq!(records[0]["sessionId"], first_id.as_str());
    assert_eq!(records[0]["actorName"], "Ada Admin");
    assert_eq!(records[0]["targetName"], "Alice Example");
    assert!(records[0]["reason"].as_str().unwrap().ends_with("done here"));
    assert_error(
        system
            .http
            .get(system.url("/api/_action/audit-records"))
            .query(&[("kind", "impersonation")])
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_REQUEST_PARAMETER",
    )
    .await;
    system.stop().await;
}
