//! The invariants of DESIGN.md, each proven here: a token redeems at most
//! once under concurrency and across replicas; no impersonated session
//! without its audit record (fail closed); no chains; the actor's right is
//! re-checked at exchange; tokens expire; every service reports health.

use std::time::Duration;

use actas_e2e::{Options, Sandbox};
use actas_permission::seed;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection as _;

use crate::helpers::{EU_KEY, TEST_SIGNING_KEY, TestSystem, assert_error, simple};

fn exchange_body(token: &str) -> serde_json::Value {
    json!({ "token": token, "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) })
}

#[tokio::test]
async fn concurrent_redeems_of_one_token_have_exactly_one_winner() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    for _round in 0..3 {
        let token = system.alice_token(&admin).await;
        let attempts = (0..16).map(|_| system.exchange(EU_KEY, exchange_body(&token)));
        let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|response| response.status())
            .collect();
        let winners = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
        assert_eq!((winners, refused), (1, 15), "{statuses:?}");
    }
    system.stop().await;
}

#[tokio::test]
async fn a_token_redeems_once_across_replicas() {
    let system = TestSystem::start_with(|options| {
        options.signing_key_pem = Some(TEST_SIGNING_KEY.to_owned());
    })
    .await;
    // A second replica of every service on the same database, Redis prefix and key.
    let mut options = Options::new(system.database.url.clone());
    options.redis_url = Some(actas_shared::testing::redis_url());
    options.redis_key_prefix = system.redis_key_prefix.clone();
    options.signing_key_pem = Some(TEST_SIGNING_KEY.to_owned());
    options.seed_demo = false;
    let replica = Sandbox::start(options).await.expect("replica starts");
    let replica_base = replica.gateway_url();
    let admin = system.admin().await;
    for _round in 0..3 {
        let token = system.alice_token(&admin).await;
        let attempts = (0..12).map(|i| {
            let base = if i % 2 == 0 {
                system.base.clone()
            } else {
                replica_base.clone()
            };
            system
                .http
                .post(format!("{base}/store-api/account/login/imitate-customer"))
                .header("sw-access-key", EU_KEY)
                .json(&exchange_body(&token))
                .send()
        });
        let winners = futures::future::join_all(attempts)
            .await
            .into_iter()
            .filter(|response| response.as_ref().is_ok_and(|r| r.status() == StatusCode::OK))
            .count();
        assert_eq!(winners, 1);
    }
    replica.stop().await.expect("replica stops");
    system.stop().await;
}

#[tokio::test]
async fn tokens_expire() {
    let system = TestSystem::start_with(|options| options.token_ttl_secs = 1).await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    // Expiry is about time passing; nothing else can stand in for it.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let late = system.exchange(EU_KEY, exchange_body(&token)).await;
    assert_error(
        late,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn every_impersonation_leaves_its_audit_record() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let response = system
        .http
        .post(system.url("/store-api/account/login/imitate-customer"))
        .header("sw-access-key", EU_KEY)
        .header("user-agent", "support-console/1.0")
        .json(&exchange_body(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let context_token = crate::helpers::context_token_of(response).await;
    let logout = system
        .http
        .post(system.url("/store-api/account/logout"))
        .header("sw-access-key", EU_KEY)
        .header("sw-context-token", &context_token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);

    let records = system.audit_trail(seed::ALICE).await;
    let kinds: Vec<&str> = records.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(
        kinds,
        ["impersonation_ended", "impersonation_started", "token_issued"]
    );
    let started = &records[1];
    assert_eq!(started.actor_id, seed::ADMIN.to_string());
    assert_eq!(started.target_id, seed::ALICE.to_string());
    assert_eq!(started.audience, seed::STOREFRONT_EU.to_string());
    assert!(
        started.reason.contains("api_proxy_login-as-customer"),
        "{}",
        started.reason
    );
    assert_eq!(started.client_ip, "127.0.0.1");
    assert_eq!(started.user_agent, "support-console/1.0");
    assert!(!started.session_id.is_empty());
    assert_eq!(records[0].session_id, started.session_id);
    system.stop().await;
}

#[tokio::test]
async fn no_audit_record_no_session() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let mut database = sqlx::PgConnection::connect(&system.database.url).await.unwrap();
    // The audit table becomes unwritable mid-run.
    sqlx::query("ALTER TABLE audit_record RENAME TO audit_record_away")
        .execute(&mut database)
        .await
        .unwrap();
    let refused = system.exchange(EU_KEY, exchange_body(&token)).await;
    assert_error(
        refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "FRAMEWORK__SERVICE_UNAVAILABLE",
    )
    .await;
    let imitated: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM session WHERE imitating_user_id IS NOT NULL")
            .fetch_one(&mut database)
            .await
            .unwrap();
    assert_eq!(imitated, 0, "no impersonated session without its audit record");
    sqlx::query("ALTER TABLE audit_record_away RENAME TO audit_record")
        .execute(&mut database)
        .await
        .unwrap();
    // Back to normal: a fresh token works.
    system.exchange_alice(&system.alice_token(&admin).await).await;
    system.stop().await;
}

#[tokio::test]
async fn the_actors_right_is_checked_again_at_exchange() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let mut database = sqlx::PgConnection::connect(&system.database.url).await.unwrap();
    sqlx::query("DELETE FROM principal_role WHERE principal_id = $1")
        .bind(seed::ADMIN.to_string())
        .execute(&mut database)
        .await
        .unwrap();
    let refused = system.exchange(EU_KEY, exchange_body(&token)).await;
    assert_error(
        refused,
        StatusCode::BAD_REQUEST,
        "CHECKOUT__IMITATE_CUSTOMER_INVALID_TOKEN",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn an_impersonated_session_cannot_start_another() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let imitated = system.exchange_alice(&system.alice_token(&admin).await).await;
    let chained = system
        .generate(
            &imitated,
            json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }),
        )
        .await;
    assert_error(chained, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    system.stop().await;
}

#[tokio::test]
async fn every_service_reports_serving_and_unknown_routes_get_the_envelope() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let system = TestSystem::start().await;
    let sandbox = system.sandbox();
    for (addr, service) in [
        (sandbox.permission, "actas.v1.PermissionService"),
        (sandbox.token_issuer, "actas.v1.TokenIssuer"),
        (sandbox.session, "actas.v1.SessionService"),
    ] {
        let channel = tonic::transport::Endpoint::from_shared(sandbox.grpc_url(addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel);
        let status = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
    let ready = system.http.get(system.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let unknown = system
        .http
        .get(system.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_error(unknown, StatusCode::NOT_FOUND, "FRAMEWORK__ROUTE_NOT_FOUND").await;
    let wrong_method = system
        .http
        .get(system.url("/api/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "FRAMEWORK__METHOD_NOT_ALLOWED",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn health_follows_the_backends_and_outages_answer_503() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let mut redis = actas_shared::testing::RedisServer::start().unwrap();
    let redis_url = redis.url.clone();
    let system = TestSystem::start_with(|options| options.redis_url = Some(redis_url)).await;
    let admin = system.admin().await;
    let sandbox = system.sandbox();
    let status_of = |addr: std::net::SocketAddr, service: &'static str| {
        let url = sandbox.grpc_url(addr);
        async move {
            let channel = tonic::transport::Endpoint::from_shared(url)
                .unwrap()
                .connect()
                .await
                .unwrap();
            HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: service.to_owned(),
                })
                .await
                .unwrap()
                .into_inner()
                .status
        }
    };
    // Polls until `service` reports `wanted`, for at most ten seconds.
    let wait_for = |addr, service, wanted: ServingStatus| {
        let status_of = &status_of;
        async move {
            for _ in 0..100 {
                if status_of(addr, service).await == wanted as i32 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        }
    };

    redis.kill();
    assert!(
        wait_for(
            sandbox.token_issuer,
            "actas.v1.TokenIssuer",
            ServingStatus::NotServing
        )
        .await,
        "token issuer reports NOT_SERVING without Redis"
    );
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
    // The overall status stays SERVING: the process is alive.
    assert_eq!(
        status_of(sandbox.token_issuer, "").await,
        ServingStatus::Serving as i32
    );

    // The database goes away under the permission and session services.
    let mut admin_connection = sqlx::PgConnection::connect(&actas_shared::testing::postgres_admin_url())
        .await
        .unwrap();
    let name = system.database.url.rsplit('/').next().unwrap().to_owned();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
    )))
    .execute(&mut admin_connection)
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    )))
    .execute(&mut admin_connection)
    .await
    .unwrap();
    for (addr, service) in [
        (sandbox.permission, "actas.v1.PermissionService"),
        (sandbox.session, "actas.v1.SessionService"),
    ] {
        assert!(
            wait_for(addr, service, ServingStatus::NotServing).await,
            "{service} reports NOT_SERVING without its database"
        );
    }
    let me = system
        .http
        .get(system.url("/api/_info/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_error(
        me,
        StatusCode::SERVICE_UNAVAILABLE,
        "FRAMEWORK__SERVICE_UNAVAILABLE",
    )
    .await;

    // Back: the status recovers.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
    )))
    .execute(&mut admin_connection)
    .await
    .unwrap();
    assert!(wait_for(sandbox.session, "actas.v1.SessionService", ServingStatus::Serving).await);
    system.stop().await;
}

#[tokio::test]
async fn revoking_the_actors_right_ends_the_impersonated_session() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let own = system.alice_own_context().await;
    let imitated = system.exchange_alice(&system.alice_token(&admin).await).await;
    assert_eq!(system.context_json(&imitated).await["imitated"], true);

    let mut database = sqlx::PgConnection::connect(&system.database.url).await.unwrap();
    sqlx::query("DELETE FROM principal_role WHERE principal_id = $1")
        .bind(seed::ADMIN.to_string())
        .execute(&mut database)
        .await
        .unwrap();
    // Within the re-check interval (1 s) the session is gone; bounded poll.
    let mut status = StatusCode::OK;
    for _ in 0..40 {
        status = system.context(EU_KEY, &imitated).await.status();
        if status != StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the impersonated session ended");
    // Ended for good, with its reason on the record; alice's own session lives on.
    let again = system.context(EU_KEY, &imitated).await;
    assert_error(again, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    assert_eq!(system.context_json(&own).await["imitated"], false);
    let records = system.audit_trail(seed::ALICE).await;
    assert_eq!(records[0].kind().as_str(), "impersonation_ended");
    assert!(records[0].reason.contains("revoked"), "{}", records[0].reason);
    system.stop().await;
}

/// The trail says when an impersonation really ended: the actor loses the
/// right and nobody reads the session again, and the sweeper ends it on the
/// record all the same.
#[tokio::test]
async fn an_impersonation_whose_actor_lost_the_right_ends_on_the_record_unread() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    system.exchange_alice(&system.alice_token(&admin).await).await;
    let mut database = sqlx::PgConnection::connect(&system.database.url).await.unwrap();
    sqlx::query("DELETE FROM principal_role WHERE principal_id = $1")
        .bind(seed::ADMIN.to_string())
        .execute(&mut database)
        .await
        .unwrap();
    // The sweeper runs every 2 s; bounded poll of the session row, no read.
    let mut ended_at: Option<i64> = None;
    for _ in 0..80 {
        ended_at = sqlx::query_scalar(
            "SELECT ended_at FROM session WHERE principal_id = $1 AND imitating_user_id = $2",
        )
        .bind(seed::ALICE.to_string())
        .bind(seed::ADMIN.to_string())
        .fetch_one(&mut database)
        .await
        .unwrap();
        if ended_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended_at.is_some(), "the impersonation ended without a read");
    let records = system.audit_trail(seed::ALICE).await;
    assert_eq!(records[0].kind().as_str(), "impersonation_ended", "{records:?}");
    assert!(records[0].reason.contains("revoked"), "{}", records[0].reason);
    system.stop().await;
}

#[tokio::test]
async fn an_impersonated_session_left_unused_ends() {
    // Idle 2 s: reads write last-seen at most every 0.5 s.
    let system = TestSystem::start_with(|options| options.impersonation_idle_secs = 2).await;
    let admin = system.admin().await;
    let own = system.alice_own_context().await;
    let imitated = system.exchange_alice(&system.alice_token(&admin).await).await;

    // Used now and then, it lives past the idle time: use keeps it open.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(system.context(EU_KEY, &imitated).await.status(), StatusCode::OK);
    }
    // Left alone longer than the idle time, it ends, on the record.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let idle = system.context(EU_KEY, &imitated).await;
    assert_error(idle, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    assert_eq!(
        system.context_json(&own).await["imitated"],
        false,
        "the customer's own session has no idle limit here"
    );
    let records = system.audit_trail(seed::ALICE).await;
    assert_eq!(records[0].kind().as_str(), "impersonation_ended");
    assert!(
        records[0].reason.contains("unused for longer than 2 s"),
        "{}",
        records[0].reason
    );
    system.stop().await;
}

#[tokio::test]
async fn an_impersonation_at_its_maximum_ends_on_the_record_even_unread() {
    let system = TestSystem::start_with(|options| options.impersonation_max_secs = 2).await;
    let admin = system.admin().await;
    let imitated = system.exchange_alice(&system.alice_token(&admin).await).await;
    let started = system.audit_trail(seed::ALICE).await[0].occurred_at_unix;
    // Nobody reads it: the sweeper ends it, dated at its expiry.
    let mut expired = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        expired = system
            .audit_trail(seed::ALICE)
            .await
            .into_iter()
            .find(|record| record.kind().as_str() == "impersonation_expired");
        if expired.is_some() {
            break;
        }
    }
    let expired = expired.expect("an impersonation_expired record");
    assert!(
        expired.reason.contains("maximum lifetime of 2 s"),
        "{}",
        expired.reason
    );
    assert!(
        (started + 2..=started + 3).contains(&expired.occurred_at_unix),
        "dated at the expiry: started {started}, expired {}",
        expired.occurred_at_unix
    );
    assert_eq!(expired.actor_id, seed::ADMIN.to_string());
    assert_error(
        system.context(EU_KEY, &imitated).await,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
    let records = system.audit_trail(seed::ALICE).await;
    assert_eq!(
        records
            .iter()
            .filter(|r| r.kind().as_str().starts_with("impersonation_e"))
            .count(),
        1,
        "one end, one record, whoever got there first"
    );
    system.stop().await;
}
