//! Impersonation policy as data: switched off for a sales channel or a team,
//! nobody starts one there (and live ones end); a person may refuse their
//! team administrators, from their own session only.

use std::time::Duration;

use actas_permission::{
    seed,
    store::{DirectoryStore as _, SqlDirectory},
};
use actas_shared::db::Pool;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    coworkers::token_of,
    helpers::{EU_KEY, TestSystem, assert_error, simple},
};

const DISABLED: &str = "ACTAS__IMPERSONATION_DISABLED";
const OPTED_OUT: &str = "ACTAS__IMPERSONATION_OPTED_OUT";

async fn set_policy(system: &TestSystem, scope: &str, enabled: bool) {
    let pool = Pool::connect(&system.database.url, 1).await.unwrap();
    SqlDirectory::new(pool.clone())
        .set_impersonation_enabled(scope, enabled)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn switched_off_for_a_channel_or_team_nobody_starts_one_there() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let live = system.exchange_alice(&system.alice_token(&admin).await).await;

    set_policy(&system, &format!("sales_channel:{}", seed::STOREFRONT_EU), false).await;
    let eu = system
        .generate(
            &admin,
            json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }),
        )
        .await;
    assert_error(eu, StatusCode::FORBIDDEN, DISABLED).await;
    let ch = system
        .generate(
            &admin,
            json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_CH) }),
        )
        .await;
    assert_eq!(ch.status(), StatusCode::OK, "other channels are not affected");
    // The live one on EU ends within the re-check interval.
    let mut status = StatusCode::OK;
    for _ in 0..40 {
        status = system.context(EU_KEY, &live).await.status();
        if status != StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    set_policy(&system, &format!("team:{}", seed::TEAM_ACME), false).await;
    let tina = system.bearer_of("tina@example.com").await;
    let team = system
        .http
        .get(system.url(&format!(
            "/api/public/coworkers/{}/impersonate",
            seed::PROFILE_MAX_ACME
        )))
        .bearer_auth(&tina)
        .send()
        .await
        .unwrap();
    assert_error(team, StatusCode::FORBIDDEN, DISABLED).await;
    system.stop().await;
}

#[tokio::test]
async fn a_person_may_refuse_their_team_administrators() {
    let system = TestSystem::start().await;
    let consent_url = system.url("/api/public/account/impersonation-consent");
    let max = system.bearer_of("max@example.com").await;
    let tina = system.bearer_of("tina@example.com").await;
    let impersonate_max = || {
        system
            .http
            .get(system.url(&format!(
                "/api/public/coworkers/{}/impersonate",
                seed::PROFILE_MAX_ACME
            )))
            .bearer_auth(&tina)
            .send()
    };
    let set = |bearer: String, body: Value| {
        let request = system.http.put(&consent_url).bearer_auth(bearer).json(&body);
        async move { request.send().await.unwrap() }
    };

    let initial: Value = system
        .http
        .get(&consent_url)
        .bearer_auth(&max)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(initial, json!({ "teamAdmins": true }));
    let refused = set(max.clone(), json!({ "teamAdmins": false })).await;
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({ "teamAdmins": false })
    );
    assert_error(impersonate_max().await.unwrap(), StatusCode::FORBIDDEN, OPTED_OUT).await;

    // The opt-out is about team administrators, not operators.
    let operator = system.operator().await;
    let by_operator = system.impersonate_user(&operator, &simple(seed::MAX)).await;
    assert_eq!(by_operator.status(), StatusCode::OK);

    // Nobody changes it while acting as someone: tina as mia tries for mia.
    let as_mia_token = token_of(
        system
            .http
            .get(system.url(&format!(
                "/api/public/coworkers/{}/impersonate",
                seed::PROFILE_MIA_ACME
            )))
            .bearer_auth(&tina)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let as_mia: Value = system.exchange_token(&as_mia_token).await.json().await.unwrap();
    let borrowed = set(
        as_mia["access_token"].as_str().unwrap().to_owned(),
        json!({ "teamAdmins": false }),
    )
    .await;
    assert_error(
        borrowed,
        StatusCode::FORBIDDEN,
        "ACTAS__FORBIDDEN_WHILE_IMPERSONATING",
    )
    .await;
    for body in [json!({}), json!({ "teamAdmins": "no" })] {
        let bad = set(max.clone(), body).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    }

    set(max.clone(), json!({ "teamAdmins": true })).await;
    assert_eq!(impersonate_max().await.unwrap().status(), StatusCode::OK);
    system.stop().await;
}
