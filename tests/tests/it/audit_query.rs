//! The audit trail for admins: who holds `impersonation:audit` lists the
//! records by actor, target and time range, a page at a time; nobody else
//! does, and not from a borrowed identity.

use actas_permission::seed;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestSystem, assert_error, simple};

impl TestSystem {
    async fn audit_query(&self, bearer: &str, query: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/api/_action/audit-records?{query}")))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }
}

fn kinds(body: &Value) -> Vec<String> {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn admins_with_the_privilege_page_through_the_trail_by_time() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    system.exchange_alice(&system.alice_token(&admin).await).await;
    let alice = simple(seed::ALICE);

    let all: Value = system
        .audit_query(&admin, &format!("targetId={alice}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kinds(&all), ["impersonation_started", "token_issued"]);
    assert_eq!(
        (all["page"].clone(), all["limit"].clone()),
        (1.into(), 100.into())
    );
    let second: Value = system
        .audit_query(&admin, &format!("targetId={alice}&limit=1&page=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kinds(&second), ["token_issued"]);
    let by_actor: Value = system
        .audit_query(&admin, &format!("actorId={}&limit=1", simple(seed::ADMIN)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kinds(&by_actor), ["impersonation_started"]);

    let since = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let in_range: Value = system
        .audit_query(&admin, &format!("targetId={alice}&since={since}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kinds(&in_range).len(), 2);
    for (range, what) in [
        ("since=2099-01-01T00:00:00Z", "the future"),
        ("until=2001-01-01T00:00:00%2B01:00", "the past"),
    ] {
        let none: Value = system
            .audit_query(&admin, &format!("targetId={alice}&{range}"))
            .await
            .json()
            .await
            .unwrap();
        assert!(kinds(&none).is_empty(), "{what}");
    }

    for (query, code) in [
        ("since=yesterday", "FRAMEWORK__INVALID_REQUEST_BODY"),
        ("limit=0", "FRAMEWORK__INVALID_LIMIT_QUERY"),
        ("limit=501", "FRAMEWORK__INVALID_LIMIT_QUERY"),
        ("page=0", "FRAMEWORK__INVALID_PAGE_QUERY"),
        ("actorId=admin", "FRAMEWORK__INVALID_UUID"),
    ] {
        let refused = system.audit_query(&admin, query).await;
        assert_error(refused, StatusCode::BAD_REQUEST, code).await;
    }

    let viewer = system
        .admin_login("viewer@example.com", "viewer-demo-password")
        .await;
    let error = assert_error(
        system.audit_query(&viewer, "").await,
        StatusCode::FORBIDDEN,
        "FRAMEWORK__MISSING_PRIVILEGE_ERROR",
    )
    .await;
    assert!(error["detail"].as_str().unwrap().contains("impersonation:audit"));
    let operator = system.operator().await;
    let token =
        crate::coworkers::token_of(system.impersonate_user(&operator, &simple(seed::ADMIN)).await).await;
    let as_admin: Value = system.exchange_token(&token).await.json().await.unwrap();
    assert_error(
        system
            .audit_query(as_admin["access_token"].as_str().unwrap(), "")
            .await,
        StatusCode::FORBIDDEN,
        "ACTAS__FORBIDDEN_WHILE_IMPERSONATING",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn nobody_reads_the_trail_without_a_credential_of_their_own() {
    use actas_shared::proto::{ListAuditRecordsRequest, session_service_client::SessionServiceClient};
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    system.exchange_alice(&system.alice_token(&admin).await).await;
    let mut sessions = SessionServiceClient::connect(system.sandbox().grpc_url(system.sandbox().session))
        .await
        .unwrap();
    for reader in ["", "not-a-session"] {
        let refused = sessions
            .list_audit_records(ListAuditRecordsRequest {
                target_id: seed::ALICE.to_string(),
                reader_session_token: reader.to_owned(),
                ..Default::default()
            })
            .await
            .expect_err("a bare call reads nothing");
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{reader:?}");
    }
    assert!(
        !system.audit_trail(seed::ALICE).await.is_empty(),
        "with the operator's session the same call reads"
    );
    system.stop().await;
}
