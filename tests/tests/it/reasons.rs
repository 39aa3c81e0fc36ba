//! The reason policy: with `ACTAS_REQUIRE_REASON` every impersonation start
//! (admin -> customer, team admin -> member, operator -> anyone) states a
//! reason, which the audit record keeps; reasons never ride in a URL.

use actas_permission::seed;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    coworkers::token_of,
    helpers::{EU_KEY, TestSystem, assert_error, simple},
};

const REQUIRED: &str = "ACTAS__REASON_REQUIRED";
const INVALID: &str = "ACTAS__INVALID_REASON";

fn alice_on_eu(reason: Option<&str>) -> Value {
    let mut body = json!({
        "customerId": simple(seed::ALICE),
        "salesChannelId": simple(seed::STOREFRONT_EU),
    });
    if let Some(reason) = reason {
        body["reason"] = json!(reason);
    }
    body
}

#[tokio::test]
async fn a_required_reason_is_asked_for_on_every_start_and_kept() {
    let system = TestSystem::start_with(|options| options.require_reason = true).await;
    let admin = system.admin().await;

    let me: Value = system
        .http
        .get(system.url("/api/_info/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["data"]["impersonationPolicy"],
        json!({ "reasonRequired": true, "reasonMaxLength": 500 })
    );

    for (reason, code) in [
        (None, REQUIRED),
        (Some("   "), REQUIRED),
        (Some("line one\nforged line"), INVALID),
        (Some(&*"x".repeat(501)), INVALID),
    ] {
        let refused = system.generate(&admin, alice_on_eu(reason)).await;
        assert_error(refused, StatusCode::BAD_REQUEST, code).await;
    }
    let issued = system.generate(&admin, alice_on_eu(Some(&"ü".repeat(500)))).await;
    assert_eq!(issued.status(), StatusCode::OK, "500 characters, not bytes");

    let issued = system
        .generate(&admin, alice_on_eu(Some("  Ticket 4711: checkout fails ")))
        .await;
    assert_eq!(issued.status(), StatusCode::OK);
    let token = issued.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let exchanged = system
        .exchange(
            EU_KEY,
            json!({ "token": token, "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) }),
        )
        .await;
    assert_eq!(exchanged.status(), StatusCode::OK);

    // Team administrator -> member: the reason travels in a header.
    let tina = system.bearer_of("tina@example.com").await;
    let impersonate = |reason: Option<&'static str>| {
        let mut request = system
            .http
            .get(system.url(&format!(
                "/api/public/coworkers/{}/impersonate",
                seed::PROFILE_MAX_ACME
            )))
            .bearer_auth(&tina);
        if let Some(reason) = reason {
            request = request.header("x-impersonation-reason", reason);
        }
        async move { request.send().await.unwrap() }
    };
    assert_error(impersonate(None).await, StatusCode::BAD_REQUEST, REQUIRED).await;
    assert_eq!(
        impersonate(Some("Max asked for help")).await.status(),
        StatusCode::OK
    );
    // Browsers send headers in Latin-1 only: other text comes RFC 8187
    // encoded, and must be percent-encoded UTF-8 then.
    assert_eq!(
        impersonate(Some("UTF-8''Pr%C3%BCfung f%C3%BCr Max %E2%80%93 Ticket 12"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_error(
        impersonate(Some("utf-8''%FF%FE")).await,
        StatusCode::BAD_REQUEST,
        INVALID,
    )
    .await;

    // Operator -> anyone: a reason in the query string is refused outright.
    let operator = system.operator().await;
    let in_url = system
        .http
        .get(system.url(&format!(
            "/api/sys/users/impersonate?userId={}&reason=INC-1",
            simple(seed::ALICE)
        )))
        .bearer_auth(&operator)
        .header("x-impersonation-reason", "INC-1")
        .send()
        .await
        .unwrap();
    assert_error(in_url, StatusCode::BAD_REQUEST, INVALID).await;
    let stated = system
        .http
        .get(system.url(&format!(
            "/api/sys/users/impersonate?userId={}",
            simple(seed::ALICE)
        )))
        .bearer_auth(&operator)
        .header("x-impersonation-reason", "INC-1 Störung")
        .send()
        .await
        .unwrap();
    let token = token_of(stated).await;
    assert_eq!(system.exchange_token(&token).await.status(), StatusCode::OK);

    // Both starts are on the record with what was stated.
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
    let reasons: Vec<&str> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record["kind"] == "impersonation_started")
        .map(|record| record["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{records}");
    assert!(
        reasons
            .iter()
            .any(|r| r.ends_with("stated reason: INC-1 Störung")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.ends_with("stated reason: Ticket 4711: checkout fails")),
        "trimmed: {reasons:?}"
    );
    let issued_for_max: Value = system
        .http
        .get(system.url(&format!("/api/sys/audit-records?targetId={}", simple(seed::MAX))))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        issued_for_max["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|record| {
                record["kind"] == "token_issued"
                    && record["reason"]
                        .as_str()
                        .unwrap()
                        .ends_with("stated reason: Prüfung für Max – Ticket 12")
            }),
        "decoded: {issued_for_max}"
    );
    system.stop().await;
}

#[tokio::test]
async fn without_the_policy_a_reason_is_optional_but_still_checked() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let me: Value = system
        .http
        .get(system.url("/api/_info/me"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"]["impersonationPolicy"]["reasonRequired"], false);
    assert_eq!(
        system.generate(&admin, alice_on_eu(None)).await.status(),
        StatusCode::OK
    );
    let forged = system
        .generate(&admin, alice_on_eu(Some("ok\r\nevent=impersonation_ended")))
        .await;
    assert_error(forged, StatusCode::BAD_REQUEST, INVALID).await;
    // Lines forged without a control character, and text that reads
    // backwards where the trail is shown: refused the same way.
    for forged in [
        "ok\u{2028}event=ended",
        "ok\u{2029}x",
        "ticket \u{202E}gro.live",
        "a\u{2067}b",
    ] {
        let refused = system.generate(&admin, alice_on_eu(Some(forged))).await;
        assert_error(refused, StatusCode::BAD_REQUEST, INVALID).await;
    }
    let kept = system
        .generate(&admin, alice_on_eu(Some("Ticket ü-42 支持")))
        .await;
    assert_eq!(kept.status(), StatusCode::OK);
    let trail = system.audit_trail(seed::ALICE).await;
    assert!(
        trail
            .iter()
            .all(|record| !record.reason.chars().any(actas_shared::reason::forges_lines)),
        "{trail:?}"
    );
    assert!(
        trail[0].reason.ends_with("stated reason: Ticket ü-42 支持"),
        "{trail:?}"
    );
    system.stop().await;
}
