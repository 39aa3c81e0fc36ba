//! Token events on the record: every issued token has its audit record
//! before it exists (no record, no token, no grant in Redis), and every
//! refused redemption of a validly signed token names who and from where.

use actas_permission::seed;
use actas_shared::testing::redis_url;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::helpers::{EU_KEY, TestSystem, assert_error, simple};

impl TestSystem {
    /// The operator's view of the records about `target`, newest first.
    async fn records_of(&self, target: uuid::Uuid) -> Vec<Value> {
        let operator = self.operator().await;
        let records: Value = self
            .http
            .get(self.url(&format!("/api/sys/audit-records?targetId={}", simple(target))))
            .bearer_auth(operator)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        records["records"].as_array().unwrap().clone()
    }

    async fn grants_in_redis(&self) -> usize {
        let client = redis::Client::open(redis_url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}grant:*", self.redis_key_prefix))
            .query_async(&mut connection)
            .await
            .unwrap();
        keys.len()
    }
}

fn of_kind<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|record| record["kind"] == kind).collect()
}

#[tokio::test]
async fn issued_tokens_and_refused_redemptions_are_on_the_record() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let issued = system
        .http
        .post(system.url("/api/_proxy/generate-imitate-customer-token"))
        .bearer_auth(&admin)
        .header("user-agent", "support-console/3.0")
        .json(&json!({
            "customerId": simple(seed::ALICE),
            "salesChannelId": simple(seed::STOREFRONT_EU),
            "reason": "Ticket 99",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), StatusCode::OK);
    let token = issued.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let records = system.records_of(seed::ALICE).await;
    let issue = of_kind(&records, "token_issued");
    assert_eq!(issue.len(), 1, "{records:?}");
    assert_eq!(issue[0]["actorId"], simple(seed::ADMIN));
    assert_eq!(issue[0]["action"], "imitate_customer");
    assert_eq!(issue[0]["clientIp"], "127.0.0.1");
    assert_eq!(issue[0]["userAgent"], "support-console/3.0");
    assert!(
        issue[0]["reason"]
            .as_str()
            .unwrap()
            .ends_with("stated reason: Ticket 99")
    );

    // Presented for the wrong customer: refused, spent, recorded.
    let wrong = system
        .exchange(
            EU_KEY,
            json!({ "token": token, "customerId": simple(seed::BOB), "userId": simple(seed::ADMIN) }),
        )
        .await;
    assert_error(
        wrong,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;
    // Presented again: spent, recorded again.
    let again = system
        .exchange(
            EU_KEY,
            json!({ "token": token, "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) }),
        )
        .await;
    assert_error(
        again,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;
    // Garbage names nobody: metrics only.
    let garbage = system
        .exchange(
            EU_KEY,
            json!({ "token": "not.a.token", "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) }),
        )
        .await;
    assert_error(
        garbage,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;

    let records = system.records_of(seed::ALICE).await;
    let failures = of_kind(&records, "token_redeem_failed");
    assert_eq!(failures.len(), 2, "{records:?}");
    assert!(
        failures[0]["reason"].as_str().unwrap().contains("spent"),
        "{:?}",
        failures[0]
    );
    assert!(
        failures[1]["reason"].as_str().unwrap().contains("does not match"),
        "{:?}",
        failures[1]
    );
    for failure in failures {
        assert_eq!(failure["actorId"], simple(seed::ADMIN));
        assert_eq!(failure["clientIp"], "127.0.0.1");
    }
    assert!(of_kind(&records, "impersonation_started").is_empty());
    system.stop().await;
}

#[tokio::test]
async fn no_audit_record_no_token() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let mut database = sqlx::PgConnection::connect(&system.database.url).await.unwrap();
    sqlx::query("ALTER TABLE audit_record RENAME TO audit_record_away")
        .execute(&mut database)
        .await
        .unwrap();
    let refused = system
        .generate(
            &admin,
            json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }),
        )
        .await;
    assert_error(
        refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "FRAMEWORK__SERVICE_UNAVAILABLE",
    )
    .await;
    assert_eq!(system.grants_in_redis().await, 0, "Redis holds no grant");
    sqlx::query("ALTER TABLE audit_record_away RENAME TO audit_record")
        .execute(&mut database)
        .await
        .unwrap();
    system.alice_token(&admin).await;
    assert_eq!(system.grants_in_redis().await, 1);
    system.stop().await;
}
