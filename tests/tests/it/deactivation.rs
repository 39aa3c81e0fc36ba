//! Deactivating a principal ends all of its sessions, on the record: its
//! own, the impersonations it started and those acting as it. Only holders
//! of `principal:deactivate` who outrank it may, never from a borrowed
//! identity; reactivating lets it sign in again.

use actas_permission::seed;
use actas_shared::proto::AuditKind;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EU_KEY, TestSystem, assert_error, simple};

impl TestSystem {
    async fn set_active(&self, route: &str, bearer: &str, principal: uuid::Uuid, change: &str) -> Response {
        self.http
            .post(self.url(&format!("{route}/{}/{change}", simple(principal))))
            .bearer_auth(bearer)
            .json(&json!({ "reason": "left the company" }))
            .send()
            .await
            .unwrap()
    }

    async fn context_status(&self, context_token: &str) -> StatusCode {
        self.context(EU_KEY, context_token).await.status()
    }
}

const SYS: &str = "/api/sys/principals";
const ACTION: &str = "/api/_action/principals";

#[tokio::test]
async fn deactivating_a_principal_ends_all_of_its_sessions_on_the_record() {
    let system = TestSystem::start().await;
    let operator = system.operator().await;
    let admin = system.admin().await;
    let second_admin_session = system.admin().await;
    let admin_as_alice = system.exchange_alice(&system.alice_token(&admin).await).await;
    let alice_own = system.alice_own_context().await;
    assert_eq!(system.context_status(&admin_as_alice).await, StatusCode::OK);

    // Who may not: an admin without the privilege learns nothing, nobody
    // deactivates themself, and an impersonated session cannot.
    let by_admin = system.set_active(ACTION, &admin, seed::ALICE, "deactivate").await;
    let error = assert_error(
        by_admin,
        StatusCode::FORBIDDEN,
        "FRAMEWORK__MISSING_PRIVILEGE_ERROR",
    )
    .await;
    assert!(error["detail"].as_str().unwrap().contains("principal:deactivate"));
    let nobody = system
        .set_active(ACTION, &admin, uuid::Uuid::from_u128(7), "deactivate")
        .await;
    assert_error(
        nobody,
        StatusCode::FORBIDDEN,
        "FRAMEWORK__MISSING_PRIVILEGE_ERROR",
    )
    .await;
    let themself = system.set_active(SYS, &operator, seed::OPS, "deactivate").await;
    assert_error(themself, StatusCode::FORBIDDEN, "ACTAS__DEACTIVATION_NOT_ALLOWED").await;
    let bad_id = system
        .http
        .post(system.url(&format!("{SYS}/alice/deactivate")))
        .bearer_auth(&operator)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(bad_id, StatusCode::BAD_REQUEST, "FRAMEWORK__INVALID_UUID").await;

    // The operator deactivates the admin: both of its own sessions and its
    // impersonation of alice end; alice's own session lives on.
    let deactivated = system.set_active(SYS, &operator, seed::ADMIN, "deactivate").await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    let answer: Value = deactivated.json().await.unwrap();
    assert_eq!(answer["principal"]["id"], simple(seed::ADMIN));
    assert_eq!(answer["principal"]["active"], false);
    assert_eq!(answer["endedSessions"], 3, "{answer}");
    assert_eq!(system.me_status(&admin).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        system.me_status(&second_admin_session).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        system.context_status(&admin_as_alice).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(system.context_status(&alice_own).await, StatusCode::OK);
    let login = system
        .http
        .post(system.url("/api/oauth/token"))
        .json(&json!({ "grant_type": "password", "client_id": "administration", "username": "admin@example.com", "password": "admin-demo-password" }))
        .send()
        .await
        .unwrap();
    assert_error(login, StatusCode::BAD_REQUEST, "FRAMEWORK__INVALID_GRANT").await;

    let trail = system.audit_trail(seed::ADMIN).await;
    let deactivation = trail
        .iter()
        .find(|record| record.kind() == AuditKind::PrincipalDeactivated)
        .expect("the deactivation is on the record");
    assert_eq!(deactivation.actor_id, seed::OPS.to_string());
    assert_eq!(
        deactivation.reason,
        format!("deactivated by {}: left the company", seed::OPS)
    );
    let revoked: Vec<_> = system
        .audit_trail(seed::ALICE)
        .await
        .into_iter()
        .filter(|record| record.kind() == AuditKind::ImpersonationRevoked)
        .collect();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0].actor_id, seed::ADMIN.to_string());
    assert_eq!(revoked[0].reason, deactivation.reason);

    // Reactivated, the admin signs in again; that too is on the record.
    let reactivated = system.set_active(SYS, &operator, seed::ADMIN, "reactivate").await;
    let answer: Value = reactivated.json().await.unwrap();
    assert_eq!(answer["principal"]["active"], true, "{answer}");
    assert_eq!(answer["endedSessions"], 0);
    let again = system.admin().await;
    assert_eq!(system.me_status(&again).await, StatusCode::OK);
    assert!(
        system
            .audit_trail(seed::ADMIN)
            .await
            .iter()
            .any(|record| record.kind() == AuditKind::PrincipalReactivated)
    );
    system.stop().await;
}

/// However a principal became inactive (a revocation that failed half-way,
/// a login that raced the deactivation, the directory changed by hand), its
/// own sessions end within the re-check interval: they are served only
/// while the principal is active.
#[tokio::test]
async fn own_sessions_end_when_the_principal_turns_inactive_by_any_path() {
    let system = TestSystem::start().await;
    let alice = system.alice_own_context().await;
    let admin = system.admin().await;
    assert_eq!(system.context_status(&alice).await, StatusCode::OK);
    let mut database = <sqlx::PgConnection as sqlx::Connection>::connect(&system.database.url)
        .await
        .unwrap();
    for principal in [seed::ALICE, seed::ADMIN] {
        sqlx::query("UPDATE principal SET active = FALSE WHERE id = $1")
            .bind(principal.to_string())
            .execute(&mut database)
            .await
            .unwrap();
    }
    // The caches of both layers hold a context for at most a second in all.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (customer, admin_status) = (
            system.context_status(&alice).await,
            system.me_status(&admin).await,
        );
        if customer == StatusCode::UNAUTHORIZED && admin_status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still served: {customer} {admin_status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (ended, reason): (bool, String) = sqlx::query_as(
        "SELECT ended_at IS NOT NULL, COALESCE(end_reason, '') FROM session \
         WHERE principal_id = $1 AND imitating_user_id IS NULL ORDER BY created_at DESC LIMIT 1",
    )
    .bind(seed::ALICE.to_string())
    .fetch_one(&mut database)
    .await
    .unwrap();
    assert!(ended, "ended in the store, not only refused");
    assert_eq!(reason, "principal deactivated");
    system.stop().await;
}
