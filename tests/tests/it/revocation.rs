//! Revocation: an admin or operator with `impersonation:revoke` ends every
//! live impersonation of a target or of an actor at once, each on the
//! record; nobody else can, and nothing else ends.

use actas_permission::seed;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::{
    coworkers::token_of,
    helpers::{EU_KEY, TestSystem, US_KEY, assert_error, context_token_of, simple},
};

impl TestSystem {
    async fn revoke(&self, route: &str, bearer: &str, body: Value) -> Response {
        self.http
            .post(self.url(route))
            .bearer_auth(bearer)
            .header("user-agent", "security-console/2.0")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A public session of `user` started by the operator.
    async fn operator_as(&self, operator: &str, user: uuid::Uuid) -> String {
        let token = token_of(self.impersonate_user(operator, &simple(user)).await).await;
        let session: Value = self.exchange_token(&token).await.json().await.unwrap();
        session["access_token"].as_str().unwrap().to_owned()
    }

    async fn public_status(&self, bearer: &str) -> StatusCode {
        self.bearer_status("/api/public/coworkers/profiles", bearer).await
    }

    async fn bearer_status(&self, route: &str, bearer: &str) -> StatusCode {
        self.http
            .get(self.url(route))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
            .status()
    }
}

const ADMIN_ROUTE: &str = "/api/_action/impersonations/revoke";
const OPERATOR_ROUTE: &str = "/api/sys/impersonations/revoke";

#[tokio::test]
async fn revoking_by_target_or_actor_ends_exactly_those_impersonations() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let operator = system.operator().await;
    let alice_own = system.alice_own_context().await;
    let admin_as_alice = system.exchange_alice(&system.alice_token(&admin).await).await;
    let operator_as_alice = system.operator_as(&operator, seed::ALICE).await;
    let bob_token = system
        .generate(
            &admin,
            json!({ "customerId": simple(seed::BOB), "salesChannelId": simple(seed::STOREFRONT_US) }),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_as_bob = context_token_of(
        system
            .exchange(
                US_KEY,
                json!({ "token": bob_token, "customerId": simple(seed::BOB), "userId": simple(seed::ADMIN) }),
            )
            .await,
    )
    .await;

    // Who may not, and what is not a request.
    let viewer = system
        .admin_login("viewer@example.com", "viewer-demo-password")
        .await;
    let by_viewer = system
        .revoke(ADMIN_ROUTE, &viewer, json!({ "targetId": simple(seed::ALICE) }))
        .await;
    let error = assert_error(
        by_viewer,
        StatusCode::FORBIDDEN,
        "FRAMEWORK__MISSING_PRIVILEGE_ERROR",
    )
    .await;
    assert!(error["detail"].as_str().unwrap().contains("impersonation:revoke"));
    let operator_as_admin = system.operator_as(&operator, seed::ADMIN).await;
    let borrowed = system
        .revoke(
            ADMIN_ROUTE,
            &operator_as_admin,
            json!({ "targetId": simple(seed::ALICE) }),
        )
        .await;
    assert_error(
        borrowed,
        StatusCode::FORBIDDEN,
        "ACTAS__FORBIDDEN_WHILE_IMPERSONATING",
    )
    .await;
    let nothing = system.revoke(ADMIN_ROUTE, &admin, json!({})).await;
    assert_error(
        nothing,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__MISSING_REQUEST_PARAMETER",
    )
    .await;
    let bad_id = system
        .revoke(ADMIN_ROUTE, &admin, json!({ "targetId": "alice" }))
        .await;
    assert_error(bad_id, StatusCode::BAD_REQUEST, "FRAMEWORK__INVALID_UUID").await;
    let customer = system
        .revoke(
            ADMIN_ROUTE,
            &alice_own,
            json!({ "targetId": simple(seed::ALICE) }),
        )
        .await;
    assert_error(customer, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;

    // By target: both impersonations of alice end, at once.
    let revoked = system
        .revoke(
            ADMIN_ROUTE,
            &admin,
            json!({ "targetId": simple(seed::ALICE), "reason": "INC-7 suspected account takeover" }),
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(revoked.json::<Value>().await.unwrap(), json!({ "revoked": 2 }));
    assert_eq!(
        system.context(EU_KEY, &admin_as_alice).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        system.public_status(&operator_as_alice).await,
        StatusCode::UNAUTHORIZED
    );
    // Nothing else ends: alice's own session, the other impersonations.
    assert_eq!(system.context_json(&alice_own).await["imitated"], false);
    assert_eq!(
        system.context(US_KEY, &admin_as_bob).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        system.bearer_status("/api/_info/me", &operator_as_admin).await,
        StatusCode::OK
    );

    let records: Value = system
        .http
        .get(system.url(&format!(
            "/api/sys/audit-records?targetId={}",
            simple(seed::ALICE)
        )))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revocations: Vec<&Value> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record["kind"] == "impersonation_revoked")
        .collect();
    assert_eq!(revocations.len(), 2, "{records}");
    for record in revocations {
        let reason = record["reason"].as_str().unwrap();
        assert!(
            reason.contains(&seed::ADMIN.to_string()) && reason.ends_with("INC-7 suspected account takeover"),
            "{reason}"
        );
        assert_eq!(record["userAgent"], "security-console/2.0");
    }
    let again = system
        .revoke(ADMIN_ROUTE, &admin, json!({ "targetId": simple(seed::ALICE) }))
        .await;
    assert_eq!(again.json::<Value>().await.unwrap(), json!({ "revoked": 0 }));

    // By actor, from the operator route: the admin's remaining one (bob).
    let by_actor = system
        .revoke(
            OPERATOR_ROUTE,
            &operator,
            json!({ "actorId": simple(seed::ADMIN) }),
        )
        .await;
    assert_eq!(by_actor.json::<Value>().await.unwrap(), json!({ "revoked": 1 }));
    assert_eq!(
        system.context(US_KEY, &admin_as_bob).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        system.bearer_status("/api/_info/me", &operator_as_admin).await,
        StatusCode::OK,
        "the operator's own impersonation of the admin is not the admin's"
    );
    system.stop().await;
}

/// A second gateway replica on the same services, as a deployment with
/// several behind a load balancer has: its base URL.
async fn second_gateway(system: &TestSystem) -> String {
    let sandbox = system.sandbox.as_ref().expect("a running sandbox");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    let gateway = actas_gateway::Application::build(
        &actas_gateway::Config {
            permission_url: sandbox.grpc_url(sandbox.permission),
            session_url: sandbox.grpc_url(sandbox.session),
            token_issuer_url: sandbox.grpc_url(sandbox.token_issuer),
            ..Default::default()
        },
        listener,
    )
    .await
    .expect("the second gateway builds");
    // It serves until the test's runtime ends.
    tokio::spawn(gateway.run_until_stopped(std::future::pending()));
    base
}

/// Each gateway keeps a session context it read for half a second, and the
/// session service keeps its read as long again: a revocation made through
/// one replica holds at the next request to the same one, and at every
/// other replica within one second (SECURITY.md).
#[tokio::test]
async fn a_revocation_through_one_gateway_holds_at_every_other_within_a_second() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let imitated = system.exchange_alice(&system.alice_token(&admin).await).await;
    let other = second_gateway(&system).await;
    let read_at_other = || async {
        system
            .http
            .get(format!("{other}/store-api/context"))
            .header("sw-access-key", EU_KEY)
            .header("sw-context-token", &imitated)
            .send()
            .await
            .expect("request")
            .status()
    };
    // Both replicas have read (and kept) the live session.
    assert_eq!(system.context(EU_KEY, &imitated).await.status(), StatusCode::OK);
    assert_eq!(read_at_other().await, StatusCode::OK);

    let revoked = system
        .revoke(ADMIN_ROUTE, &admin, json!({ "targetId": simple(seed::ALICE) }))
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let at_once = system.context(EU_KEY, &imitated).await;
    assert_error(at_once, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    // Whatever the other replica kept has expired a second later.
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    assert_eq!(read_at_other().await, StatusCode::UNAUTHORIZED);
    system.stop().await;
}

/// Revoking is set-based: tens of thousands of live impersonations of one
/// customer all end, each with its record, and the answer carries the count
/// within the gateway's deadline; the session in use ends with them.
#[tokio::test]
async fn a_revocation_ends_tens_of_thousands_of_impersonations_within_the_deadline() {
    const LEFT_OPEN: i64 = 25_000;
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let watched = system.exchange_alice(&system.alice_token(&admin).await).await;
    // What a support tool run wild leaves behind, written straight into the
    // session table (the flow would take minutes to make as many).
    let mut database = <sqlx::PgConnection as sqlx::Connection>::connect(&system.database.url)
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    sqlx::query(actas_e2e::fixtures::INSERT_OPEN_IMPERSONATIONS)
        .bind(seed::ALICE.to_string())
        .bind(seed::STOREFRONT_EU.to_string())
        .bind(seed::ADMIN.to_string())
        .bind(now)
        .bind(LEFT_OPEN)
        .execute(&mut database)
        .await
        .unwrap();

    let revoked = system
        .revoke(ADMIN_ROUTE, &admin, json!({ "targetId": simple(seed::ALICE) }))
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        revoked.json::<Value>().await.unwrap(),
        json!({ "revoked": LEFT_OPEN + 1 })
    );
    let (open, records): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM session WHERE principal_id = $1 AND imitating_user_id IS NOT NULL \
         AND ended_at IS NULL), \
         (SELECT COUNT(*) FROM audit_record WHERE target_id = $1 AND kind = 'impersonation_revoked')",
    )
    .bind(seed::ALICE.to_string())
    .fetch_one(&mut database)
    .await
    .unwrap();
    assert_eq!(
        (open, records),
        (0, LEFT_OPEN + 1),
        "every one ended, each on the record"
    );
    assert_eq!(
        system.context(EU_KEY, &watched).await.status(),
        StatusCode::UNAUTHORIZED,
        "the session in use ended too"
    );
    system.stop().await;
}
