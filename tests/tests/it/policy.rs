//! Impersonation policy as data: switched off for a sales channel or a team,
//! nobody starts one there (and live ones end); a person may refuse their
//! team administrators, from their own session only.

use std::time::Duration;

use actas_permission::seed;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::{
    coworkers::token_of,
    helpers::{EU_KEY, TestSystem, assert_error, simple},
};

const DISABLED: &str = "ACTAS__IMPERSONATION_DISABLED";
const OPTED_OUT: &str = "ACTAS__IMPERSONATION_OPTED_OUT";
const READ_ONLY: &str = "ACTAS__READ_ONLY_IMPERSONATION";
const WHILE_IMPERSONATING: &str = "ACTAS__FORBIDDEN_WHILE_IMPERSONATING";

impl TestSystem {
    /// `PUT /api/sys/impersonation-policies/{scope}` as the demo operator.
    async fn put_policy(&self, scope: &str, body: Value) -> Response {
        let operator = self.operator().await;
        self.http
            .put(self.url(&format!("/api/sys/impersonation-policies/{scope}")))
            .bearer_auth(operator)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// The public bearer of tina (team administrator of Acme) acting as the
    /// member of `profile`: an impersonated public-API session.
    async fn tina_as(&self, profile: i64) -> String {
        let tina = self.bearer_of("tina@example.com").await;
        let response = self
            .http
            .get(self.url(&format!("/api/public/coworkers/{profile}/impersonate")))
            .bearer_auth(&tina)
            .send()
            .await
            .expect("request");
        let token = token_of(response).await;
        let session: Value = self.exchange_token(&token).await.json().await.expect("json");
        session["access_token"].as_str().expect("access_token").to_owned()
    }

    async fn patch_context(&self, context_token: &str, body: Value) -> Response {
        self.http
            .patch(self.url("/store-api/context"))
            .header("sw-access-key", EU_KEY)
            .header("sw-context-token", context_token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }
}

async fn set_policy(system: &TestSystem, scope: &str, enabled: bool) {
    let response = system.put_policy(scope, json!({ "enabled": enabled })).await;
    assert_eq!(response.status(), StatusCode::OK, "policy of {scope} set");
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
    let as_mia = system.tina_as(seed::PROFILE_MIA_ACME).await;
    let borrowed = set(as_mia, json!({ "teamAdmins": false })).await;
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

/// Polls `probe` for up to four seconds (the re-check stands one second).
async fn within_a_second_or_so(mut probe: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..40 {
        if probe().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn read_only_impersonations_look_and_end_but_change_nothing() {
    let system = TestSystem::start().await;
    let eu = format!("sales_channel:{}", simple(seed::STOREFRONT_EU));
    let admin = system.admin().await;
    let live = system.exchange_alice(&system.alice_token(&admin).await).await;
    let currency = json!({ "currencyId": simple(seed::CURRENCY_EUR) });
    assert_eq!(
        system.patch_context(&live, currency.clone()).await.status(),
        StatusCode::OK,
        "read-write before the policy"
    );

    let set = system
        .put_policy(&eu, json!({ "enabled": true, "readOnly": true }))
        .await;
    assert_eq!(
        set.json::<Value>().await.unwrap(),
        json!({ "scope": eu, "enabled": true, "readOnly": true })
    );
    // A live impersonation follows the policy within the re-check interval.
    let turned = within_a_second_or_so(async || {
        system.patch_context(&live, currency.clone()).await.status() == StatusCode::FORBIDDEN
    })
    .await;
    assert!(turned, "the live impersonation became read-only");
    assert_error(
        system.patch_context(&live, currency.clone()).await,
        StatusCode::FORBIDDEN,
        READ_ONLY,
    )
    .await;

    // A new one starts read-only, says so, and its record says why.
    let fresh = system.exchange_alice(&system.alice_token(&admin).await).await;
    let context = system.context_json(&fresh).await;
    assert_eq!(context["imitated"], true);
    assert_eq!(context["readOnly"], true);
    let before = context["payload"].clone();
    assert_error(
        system.patch_context(&fresh, currency.clone()).await,
        StatusCode::FORBIDDEN,
        READ_ONLY,
    )
    .await;
    assert_eq!(
        system.context_json(&fresh).await["payload"],
        before,
        "nothing changed"
    );
    let started = system
        .audit_trail(seed::ALICE)
        .await
        .into_iter()
        .find(|record| record.kind().as_str() == "impersonation_started")
        .expect("a start record");
    assert!(started.reason.contains("read-only"), "{}", started.reason);

    // Alice's own session is never read-only.
    let own = system.alice_own_context().await;
    assert_eq!(system.context_json(&own).await["readOnly"], false);
    assert_eq!(
        system.patch_context(&own, currency.clone()).await.status(),
        StatusCode::OK
    );

    // Ending it is the one change allowed.
    let ended = system
        .http
        .post(system.url("/store-api/account/logout"))
        .header("sw-access-key", EU_KEY)
        .header("sw-context-token", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::OK);
    assert_eq!(
        system.context(EU_KEY, &fresh).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Back to read-write: the live one may change again.
    system
        .put_policy(&eu, json!({ "enabled": true, "readOnly": false }))
        .await;
    let lifted = within_a_second_or_so(async || {
        system.patch_context(&live, currency.clone()).await.status() == StatusCode::OK
    })
    .await;
    assert!(lifted, "the mark lifts with the policy");

    // Team impersonations too: tina as max may not switch max's profile.
    system
        .put_policy(
            &format!("team:{}", seed::TEAM_ACME),
            json!({ "enabled": true, "readOnly": true }),
        )
        .await;
    let as_max = system.tina_as(seed::PROFILE_MAX_ACME).await;
    let switched = system
        .http
        .put(system.url("/api/public/coworkers/profiles/current"))
        .bearer_auth(&as_max)
        .json(&json!({ "id": seed::PROFILE_MAX_ACME }))
        .send()
        .await
        .unwrap();
    assert_error(switched, StatusCode::FORBIDDEN, READ_ONLY).await;
    system.stop().await;
}

#[tokio::test]
async fn policy_is_read_and_set_by_holders_of_the_privilege_only() {
    let system = TestSystem::start().await;
    let eu = format!("sales_channel:{}", simple(seed::STOREFRONT_EU));
    let operator = system.operator().await;
    let get = |bearer: String, route: String| {
        let request = system.http.get(system.url(&route)).bearer_auth(bearer);
        async move { request.send().await.unwrap() }
    };

    let default = get(operator.clone(), format!("/api/sys/impersonation-policies/{eu}")).await;
    assert_eq!(default.status(), StatusCode::OK);
    assert_eq!(
        default.json::<Value>().await.unwrap(),
        json!({ "scope": eu, "enabled": true, "readOnly": false }),
        "no policy: on, read-write"
    );
    // Either UUID form names the channel; answers use Shopware's.
    let dashed = format!("sales_channel:{}", seed::STOREFRONT_EU);
    let set = system.put_policy(&dashed, json!({ "enabled": "false" })).await;
    assert_eq!(
        set.json::<Value>().await.unwrap(),
        json!({ "scope": eu, "enabled": false, "readOnly": false })
    );
    let now = get(operator.clone(), format!("/api/sys/impersonation-policies/{eu}")).await;
    assert_eq!(now.json::<Value>().await.unwrap()["enabled"], false);

    // The support admin lacks impersonation:policy.
    let admin = system.admin().await;
    let refused = get(admin.clone(), format!("/api/_action/impersonation-policies/{eu}")).await;
    let body = assert_error(
        refused,
        StatusCode::FORBIDDEN,
        "FRAMEWORK__MISSING_PRIVILEGE_ERROR",
    )
    .await;
    assert!(body.to_string().contains("impersonation:policy"), "{body}");
    let put = system
        .http
        .put(system.url(&format!("/api/_action/impersonation-policies/{eu}")))
        .bearer_auth(&admin)
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap();
    assert_error(put, StatusCode::FORBIDDEN, "FRAMEWORK__MISSING_PRIVILEGE_ERROR").await;
    assert_eq!(
        get(operator.clone(), format!("/api/sys/impersonation-policies/{eu}"))
            .await
            .json::<Value>()
            .await
            .unwrap()["enabled"],
        false,
        "the refused change changed nothing"
    );

    // Mistakes, each with its code.
    for (scope, status, code) in [
        ("nonsense", StatusCode::BAD_REQUEST, "ACTAS__INVALID_POLICY_SCOPE"),
        ("team:x", StatusCode::BAD_REQUEST, "ACTAS__INVALID_POLICY_SCOPE"),
        (
            "sales_channel:123",
            StatusCode::BAD_REQUEST,
            "ACTAS__INVALID_POLICY_SCOPE",
        ),
        ("team:999", StatusCode::NOT_FOUND, "ACTAS__POLICY_SCOPE_NOT_FOUND"),
        (
            "sales_channel:0190aaaa00007000800000000000ffff",
            StatusCode::NOT_FOUND,
            "ACTAS__POLICY_SCOPE_NOT_FOUND",
        ),
    ] {
        let response = get(
            operator.clone(),
            format!("/api/sys/impersonation-policies/{scope}"),
        )
        .await;
        assert_error(response, status, code).await;
    }
    for (body, code) in [
        (json!({}), "FRAMEWORK__MISSING_REQUEST_PARAMETER"),
        (json!({ "enabled": "maybe" }), "FRAMEWORK__INVALID_REQUEST_BODY"),
        (
            json!({ "enabled": true, "readOnly": 1 }),
            "FRAMEWORK__INVALID_REQUEST_BODY",
        ),
    ] {
        assert_error(system.put_policy(&eu, body).await, StatusCode::BAD_REQUEST, code).await;
    }
    let anonymous = system
        .http
        .get(system.url(&format!("/api/sys/impersonation-policies/{eu}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    system.stop().await;
}

#[tokio::test]
async fn sensitive_actions_are_refused_while_impersonating() {
    let system = TestSystem::start().await;
    let operator = system.operator().await;
    // The operator acting as the support admin: an impersonated admin bearer.
    let as_admin_token = token_of(system.impersonate_user(&operator, &simple(seed::ADMIN)).await).await;
    let as_admin: Value = system.exchange_token(&as_admin_token).await.json().await.unwrap();
    let as_admin = as_admin["access_token"].as_str().unwrap().to_owned();
    // Tina acting as max: an impersonated public-API bearer.
    let as_max = system.tina_as(seed::PROFILE_MAX_ACME).await;
    let eu = format!("sales_channel:{}", simple(seed::STOREFRONT_EU));

    let chain = "ACTAS__IMPERSONATION_CHAIN_FORBIDDEN";
    let cases: Vec<(&str, reqwest::Method, String, Option<Value>, &str)> = vec![
        (
            &as_admin,
            reqwest::Method::POST,
            "/api/_proxy/generate-imitate-customer-token".into(),
            Some(json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) })),
            chain,
        ),
        (
            &as_admin,
            reqwest::Method::POST,
            "/api/_action/impersonations/revoke".into(),
            Some(json!({ "targetId": simple(seed::ALICE) })),
            WHILE_IMPERSONATING,
        ),
        (
            &as_admin,
            reqwest::Method::GET,
            "/api/_action/audit-records".into(),
            None,
            WHILE_IMPERSONATING,
        ),
        (
            &as_admin,
            reqwest::Method::PUT,
            format!("/api/_action/impersonation-policies/{eu}"),
            Some(json!({ "enabled": false })),
            WHILE_IMPERSONATING,
        ),
        (
            &as_max,
            reqwest::Method::GET,
            format!("/api/public/coworkers/{}/impersonate", seed::PROFILE_MIA_ACME),
            None,
            chain,
        ),
        (
            &as_max,
            reqwest::Method::PUT,
            "/api/public/account/impersonation-consent".into(),
            Some(json!({ "teamAdmins": false })),
            WHILE_IMPERSONATING,
        ),
        (
            &as_max,
            reqwest::Method::GET,
            "/api/public/account/impersonations".into(),
            None,
            WHILE_IMPERSONATING,
        ),
    ];
    for (bearer, method, route, body, code) in cases {
        let mut request = system
            .http
            .request(method.clone(), system.url(&route))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let error = assert_error(response, StatusCode::FORBIDDEN, code).await;
        assert!(
            error.to_string().contains("impersonated session may not"),
            "{method} {route}: {error}"
        );
    }
    // Nothing happened: the policy stands, max's consent stands.
    let policy: Value = system
        .http
        .get(system.url(&format!("/api/sys/impersonation-policies/{eu}")))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(policy["enabled"], true);
    let max = system.bearer_of("max@example.com").await;
    let consent: Value = system
        .http
        .get(system.url("/api/public/account/impersonation-consent"))
        .bearer_auth(&max)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(consent["teamAdmins"], true);
    // The same routes serve the people themselves.
    let own_records = system
        .http
        .get(system.url("/api/public/account/impersonations"))
        .bearer_auth(&max)
        .send()
        .await
        .unwrap();
    assert_eq!(own_records.status(), StatusCode::OK);
    system.stop().await;
}
