//! The administration page's consoles in Chromium: the audit trail by kind,
//! the live impersonations with End / End all of this actor, the policy.

use actas_permission::{
    model::{MANAGE_POLICY, NewPrincipal},
    password, seed,
    store::{DirectoryStore as _, SqlDirectory},
};
use actas_shared::{db::Pool, ids::PrincipalId, principal::PrincipalKind};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Browsing, simple, snippet};

const PIA: uuid::Uuid = uuid::Uuid::from_u128(0x018f8d3a_5e00_7000_8000_00000000a0b1);

/// A snippet with its `{name}` placeholders filled, as the page fills them.
fn filled(lang: &str, key: &str, params: &[(&str, &str)]) -> String {
    params.iter().fold(snippet(lang, key), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}

impl Browsing {
    pub(crate) async fn post_json(
        &self,
        path: &str,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Value {
        let mut request = reqwest::Client::new().post(self.eu(path)).json(&body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), StatusCode::OK, "POST {path}");
        response.json().await.expect("JSON")
    }

    pub(crate) async fn get_json(&self, path: &str, bearer: &str) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .get(self.eu(path))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn admin_bearer(&self, email: &str, password: &str) -> String {
        let body = json!({
            "grant_type": "password", "client_id": "administration",
            "username": email, "password": password,
        });
        self.post_json("/api/oauth/token", None, &[], body).await["access_token"]
            .as_str()
            .expect("an admin bearer")
            .to_owned()
    }

    /// The demo admin signs in on `channel` as `customer`: the context token.
    pub(crate) async fn admin_acts_as(
        &self,
        admin: &str,
        customer: uuid::Uuid,
        channel: uuid::Uuid,
        key: &str,
    ) -> String {
        self.admin_acts_as_with(admin, customer, channel, key, "").await
    }

    /// The same, giving `reason`.
    pub(crate) async fn admin_acts_as_with(
        &self,
        admin: &str,
        customer: uuid::Uuid,
        channel: uuid::Uuid,
        key: &str,
        reason: &str,
    ) -> String {
        let body =
            json!({ "customerId": simple(customer), "salesChannelId": simple(channel), "reason": reason });
        let token = self
            .post_json(
                "/api/_proxy/generate-imitate-customer-token",
                Some(admin),
                &[],
                body,
            )
            .await["token"]
            .as_str()
            .expect("a token")
            .to_owned();
        let context = self
            .post_json(
                "/store-api/account/login/imitate-customer",
                None,
                &[("sw-access-key", key)],
                json!({ "token": token }),
            )
            .await;
        context["contextToken"]
            .as_str()
            .expect("a context token")
            .to_owned()
    }

    /// The `access_token` of an email and password sign-in at `path`
    /// (`/api/public/auth/login`, `/api/sys/auth/login`).
    pub(crate) async fn bearer(&self, path: &str, email: &str, password: &str) -> String {
        let session = self
            .post_json(path, None, &[], json!({ "email": email, "password": password }))
            .await;
        session["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("a bearer from {path}: {session}"))
            .to_owned()
    }

    /// The operator signs in as the demo admin through the `/api/sys` flow.
    async fn operator_acts_as_admin(&self) {
        let operator = self
            .bearer("/api/sys/auth/login", "ops@example.com", "ops-demo-password")
            .await;
        let (status, token) = self
            .get_json(
                &format!("/api/sys/users/impersonate?userId={}", simple(seed::ADMIN)),
                &operator,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{token}");
        let token = token["token"].as_str().expect("a token");
        let session = self
            .post_json(&format!("/api/public/auth/login/{token}"), None, &[], json!({}))
            .await;
        assert!(session["access_token"].is_string(), "{session}");
    }

    /// How the Store API answers `context` on the storefront of `key`.
    async fn context_status(&self, key: &str, context: String) -> StatusCode {
        reqwest::Client::new()
            .get(self.eu("/store-api/context"))
            .header("sw-access-key", key)
            .header("sw-context-token", context)
            .send()
            .await
            .expect("request")
            .status()
    }

    async fn live_rows(&self) -> usize {
        self.browser()
            .find_all(Locator::Css("#live-rows tr"))
            .await
            .map(|rows| rows.len())
            .unwrap_or(0)
    }

    async fn audit_kinds(&self) -> Vec<String> {
        let mut kinds = Vec::new();
        for row in self
            .browser()
            .find_all(Locator::Css("#audit-rows tr[data-kind]"))
            .await
            .unwrap_or_default()
        {
            kinds.push(row.attr("data-kind").await.ok().flatten().unwrap_or_default());
        }
        kinds
    }

    /// Opens the "end" dialog of `button` on the row of `session`, gives
    /// `reason` and confirms.
    async fn end_from_row(&self, session: &str, action: &str, reason: &str) {
        self.click(&format!(
            "#live-rows tr[data-session-id=\"{session}\"] button[data-action=\"{action}\"]"
        ))
        .await;
        self.until("the end dialog", || self.displayed("#end-modal"))
            .await;
        self.type_into("#end-reason", reason).await;
        self.click("#end-modal-confirm").await;
        self.until("the dialog to close", || async {
            !self.displayed("#end-modal").await
        })
        .await;
    }
}

/// The session id of the live row acting as `target`, read from the page.
async fn row_of(b: &Browsing, actor: uuid::Uuid, target: uuid::Uuid) -> String {
    let admin = b.admin_bearer("admin@example.com", "admin-demo-password").await;
    let (_, list) = b.get_json("/api/_action/impersonations", &admin).await;
    list["impersonations"]
        .as_array()
        .expect("the live list")
        .iter()
        .find(|row| row["actorId"] == simple(actor) && row["targetId"] == simple(target))
        .and_then(|row| row["sessionId"].as_str())
        .unwrap_or_else(|| panic!("no live row {actor} as {target}: {list}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_ends_one_live_row_then_all_of_an_actor_and_reads_it_in_the_trail() {
    let b = Browsing::start().await;
    // Ada as Alice (EU) and as Bob (US); the operator as Ada.
    let ada = b.admin_bearer("admin@example.com", "admin-demo-password").await;
    let as_alice = b
        .admin_acts_as(
            &ada,
            seed::ALICE,
            seed::STOREFRONT_EU,
            seed::STOREFRONT_EU_ACCESS_KEY,
        )
        .await;
    let as_bob = b
        .admin_acts_as(
            &ada,
            seed::BOB,
            seed::STOREFRONT_US,
            seed::STOREFRONT_US_ACCESS_KEY,
        )
        .await;
    b.operator_acts_as_admin().await;
    // One write as Alice: the gateway records it under her impersonation.
    let patched = reqwest::Client::new()
        .patch(b.eu("/store-api/context"))
        .header("sw-access-key", seed::STOREFRONT_EU_ACCESS_KEY)
        .header("sw-context-token", &as_alice)
        .json(&json!({ "languageId": "2fbb5fe2e29a4d70aa5854ce7ce3e20b" }))
        .send()
        .await
        .expect("request");
    assert_eq!(patched.status(), StatusCode::OK);
    let bob_row = row_of(&b, seed::ADMIN, seed::BOB).await;
    let alice_row = row_of(&b, seed::ADMIN, seed::ALICE).await;

    b.admin_sign_in("admin@example.com", "admin-demo-password").await;
    b.until("three live rows", || async { b.live_rows().await == 3 })
        .await;
    assert_eq!(
        b.text("#live-status").await,
        filled("en-GB", "console.live.count.other", &[("count", "3")])
    );
    let bob = b
        .text(&format!("#live-rows tr[data-session-id=\"{bob_row}\"]"))
        .await;
    assert!(
        bob.contains("Ada Admin")
            && bob.contains("Bob Example")
            && bob.contains(&simple(seed::STOREFRONT_US)),
        "the row says who acts as whom where: {bob}"
    );
    assert!(!b.displayed("#policy-panel").await, "Ada may not change policies");
    b.browser()
        .execute(
            "document.getElementById('live-panel').scrollIntoView({ block: 'start', inline: 'nearest' })",
            vec![],
        )
        .await
        .expect("scroll");
    b.screenshot("admin-live-impersonations").await;

    // End on Bob's row ends that session only.
    b.end_from_row(&bob_row, "end", "Ticket 4712: done").await;
    b.until("two live rows", || async { b.live_rows().await == 2 })
        .await;
    assert_eq!(
        b.text("#live-result").await,
        filled("en-GB", "console.live.ended.one", &[("count", "1")])
    );
    let eu = seed::STOREFRONT_EU_ACCESS_KEY;
    let us = seed::STOREFRONT_US_ACCESS_KEY;
    assert_eq!(
        b.context_status(us, as_bob.clone()).await,
        StatusCode::UNAUTHORIZED,
        "Bob's ended"
    );
    assert_eq!(
        b.context_status(eu, as_alice.clone()).await,
        StatusCode::OK,
        "Alice's stays"
    );

    // End all of this actor on Alice's row: Ada's last one goes, the
    // operator's impersonation of Ada stays.
    b.end_from_row(&alice_row, "end-actor", "Shift over").await;
    b.until("one live row", || async { b.live_rows().await == 1 })
        .await;
    let left = b.text("#live-rows tr").await;
    assert!(left.contains("Oli Operator"), "the operator's row stays: {left}");
    assert_eq!(
        b.context_status(eu, as_alice).await,
        StatusCode::UNAUTHORIZED,
        "Alice's ended"
    );

    // The trail by kind: the two revocations, with their reasons and names.
    b.find("#audit-kind option[value=\"impersonation_revoked\"]")
        .await
        .click()
        .await
        .expect("choose the kind");
    b.click("#audit-apply").await;
    b.until("two revocations", || async {
        b.audit_kinds().await == ["impersonation_revoked", "impersonation_revoked"]
    })
    .await;
    let trail = b.text("#audit-rows").await;
    for expected in [
        "Ticket 4712: done",
        "Shift over",
        "Bob Example",
        "Alice Example",
        "Ada Admin",
        &snippet("en-GB", "console.kinds.impersonation_revoked"),
    ] {
        assert!(trail.contains(expected), "{expected} in the trail: {trail}");
    }
    assert_eq!(
        b.text("#audit-page").await,
        filled("en-GB", "console.page", &[("page", "1")])
    );
    assert!(
        !b.find("#audit-next").await.is_enabled().await.expect("state"),
        "one page"
    );

    // Any kind: the whole story, newest first, for the screenshot.
    b.find("#audit-kind option[value=\"\"]")
        .await
        .click()
        .await
        .expect("any kind");
    b.click("#audit-apply").await;
    b.until("the whole trail", || async { b.audit_kinds().await.len() > 2 })
        .await;
    let kinds = b.audit_kinds().await;
    assert!(kinds.contains(&"impersonation_started".to_owned()), "{kinds:?}");
    // What was done as Alice, under the start of that impersonation.
    b.until("the actions under the starts", || async {
        b.text("#audit-rows")
            .await
            .contains("PATCH /store-api/context · 200")
    })
    .await;
    assert!(
        b.text("#audit-rows")
            .await
            .contains(&snippet("en-GB", "console.audit.nothingDone")),
        "the impersonation of Bob did nothing"
    );
    b.browser()
        .execute(
            "document.getElementById('audit-panel').scrollIntoView({ block: 'start', inline: 'nearest' })",
            vec![],
        )
        .await
        .expect("scroll");
    b.screenshot("admin-audit-trail").await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_holding_the_policy_privilege_switches_a_channel_to_read_only() {
    let b = Browsing::start().await;
    let pool = Pool::connect(&b.database_url, 1).await.expect("the database");
    let directory = SqlDirectory::new(pool.clone());
    directory
        .insert_role("policy", "Policy", &[MANAGE_POLICY, "customer:read"])
        .await
        .expect("a policy role");
    directory
        .insert_principal(&NewPrincipal {
            id: PrincipalId::from_uuid(PIA),
            kind: PrincipalKind::Admin,
            email: "pia@example.com".to_owned(),
            display_name: "Pia Policy".to_owned(),
            password_hash: password::hash("pia-demo-password").expect("hash"),
            active: true,
            guest: false,
            roles: vec!["policy".to_owned()],
            sales_channel_ids: vec![],
        })
        .await
        .expect("pia");
    pool.close().await;

    // The viewer holds none of the three: no console at all.
    b.admin_sign_in("viewer@example.com", "viewer-demo-password")
        .await;
    assert!(!b.displayed("#console").await, "the viewer sees no console");
    b.click("#signout").await;

    b.admin_sign_in("pia@example.com", "pia-demo-password").await;
    b.until("the policy panel", || b.displayed("#policy-panel")).await;
    assert!(!b.displayed("#live-panel").await, "no revoke privilege");
    assert!(!b.displayed("#audit-panel").await, "no audit privilege");
    b.type_into("#policy-id", &simple(seed::STOREFRONT_EU)).await;
    b.click("#policy-load").await;
    b.until("the policy editor", || b.displayed("#policy-editor"))
        .await;
    let on = b.find("input[name=\"policy-mode\"][value=\"on\"]").await;
    assert!(on.is_selected().await.expect("state"), "the seed's policy is on");
    b.click("input[name=\"policy-mode\"][value=\"read-only\"]").await;
    b.click("#policy-save").await;
    let scope = format!("sales_channel:{}", simple(seed::STOREFRONT_EU));
    b.until("the saved message", || async {
        b.text("#policy-result").await == filled("en-GB", "console.policy.saved", &[("scope", &scope)])
    })
    .await;
    b.screenshot("admin-policy").await;

    // The API agrees, and an impersonation on that channel is read-only now.
    let pia = b.admin_bearer("pia@example.com", "pia-demo-password").await;
    let (status, policy) = b
        .get_json(&format!("/api/_action/impersonation-policies/{scope}"), &pia)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (policy["enabled"].clone(), policy["readOnly"].clone()),
        (json!(true), json!(true))
    );
    let ada = b.admin_bearer("admin@example.com", "admin-demo-password").await;
    b.admin_acts_as(
        &ada,
        seed::ALICE,
        seed::STOREFRONT_EU,
        seed::STOREFRONT_EU_ACCESS_KEY,
    )
    .await;
    let (_, list) = b.get_json("/api/_action/impersonations", &ada).await;
    assert_eq!(list["impersonations"][0]["readOnly"], true, "{list}");
    b.stop().await;
}
