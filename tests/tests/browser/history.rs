//! "Who accessed my account" in Chromium: in the member portal's "My
//! account" (with the opt-out of team-administrator impersonation) and on
//! the storefront's account page; neither shown to whoever acts as them.

use actas_permission::seed;
use actas_shared::proto::{RecordActionRequest, session_service_client::SessionServiceClient};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Browsing, simple, snippet};

impl Browsing {
    /// Tina signs in as Max through the API with `reason`: his bearer.
    async fn tina_acts_as_max(&self, reason: &str) -> String {
        let http = reqwest::Client::new();
        let tina = self
            .bearer("/api/public/auth/login", "tina@example.com", "tina-demo-password")
            .await;
        let issued: Value = http
            .get(self.eu(&format!(
                "/api/public/coworkers/{}/impersonate",
                seed::PROFILE_MAX_ACME
            )))
            .bearer_auth(&tina)
            .header("X-Impersonation-Reason", reason)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON");
        let token = issued["token"]
            .as_str()
            .unwrap_or_else(|| panic!("a token: {issued}"));
        self.post_json(&format!("/api/public/auth/login/{token}"), None, &[], json!({}))
            .await["access_token"]
            .as_str()
            .expect("Max's bearer")
            .to_owned()
    }

    /// An internal service reports what it did on `token`'s behalf.
    async fn report_action(&self, token: &str, action: &str, detail: &str) {
        let sandbox = self.sandbox.as_ref().expect("the system");
        let channel = sandbox.grpc_channel(sandbox.session).expect("a channel");
        SessionServiceClient::new(channel)
            .record_action(RecordActionRequest {
                token: token.to_owned(),
                action: action.to_owned(),
                detail: detail.to_owned(),
                outcome: "ok".to_owned(),
                reporter: "orders".to_owned(),
            })
            .await
            .expect("recorded");
    }

    async fn logout(&self, path: &str, headers: &[(&str, &str)], bearer: Option<&str>) {
        let mut request = reqwest::Client::new().post(self.eu(path));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let status = request.send().await.expect("request").status();
        assert!(status.is_success(), "{path}: {status}");
    }

    /// The rows of a history table, each as `(data-ending, text)`.
    async fn history_rows(&self, css: &str) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        for row in self
            .browser()
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
        {
            let ending = row.attr("data-ending").await.ok().flatten().unwrap_or_default();
            rows.push((ending, row.text().await.unwrap_or_default()));
        }
        rows
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_reads_who_accessed_his_account_and_opts_out_of_team_admins() {
    let b = Browsing::start().await;

    // Tina's own portal has "My account"; acting as Max it is gone.
    b.portal_continue_as("tina@example.com", "tina-demo-password", seed::PROFILE_TINA_ACME)
        .await;
    b.until("her account", || b.displayed("#portal-account")).await;
    b.until("her empty list", || b.displayed("#portal-history-empty"))
        .await;
    b.click(&format!(
        "#portal-team-members tr[data-member-id=\"{}\"] button.impersonate-account",
        seed::PROFILE_MAX_ACME
    ))
    .await;
    b.until("the dialog", || b.displayed("#portal-impersonate-modal"))
        .await;
    b.click("#portal-impersonate-confirm").await;
    b.until("the banner", || b.displayed("#portal-banner")).await;
    assert!(!b.displayed("#portal-account").await, "not Max's to show Tina");
    b.click("#portal-stop").await;
    b.until("her account again", || b.displayed("#portal-account"))
        .await;
    b.click("#portal-signout").await;
    b.until("the sign-in form", || b.displayed("#portal-signin"))
        .await;

    // Once more through the API, with a reason and an order cancelled.
    let as_max = b.tina_acts_as_max("Ticket 77: invoice address").await;
    b.report_action(&as_max, "orders.cancel", "order 10042").await;
    b.logout("/api/public/auth/logout", &[], Some(&as_max)).await;

    b.portal_continue_as("max@example.com", "max-demo-password", seed::PROFILE_MAX_ACME)
        .await;
    b.until("two accesses", || async {
        b.history_rows("#portal-history-rows tr").await.len() == 2
    })
    .await;
    let rows = b.history_rows("#portal-history-rows tr").await;
    let (ending, newest) = &rows[0];
    assert_eq!(ending, "impersonation_ended", "{rows:?}");
    for expected in [
        "Tina Acme",
        "Ticket 77: invoice address",
        "orders.cancel · order 10042 · ok",
        &snippet("en-GB", "history.endings.impersonation_ended"),
        &snippet("en-GB", "history.lessThanMinute"),
    ] {
        assert!(newest.contains(expected), "{expected} in {newest}");
    }
    let (_, first) = &rows[1];
    // Without a stated reason the trail keeps the rule that allowed it.
    assert!(
        first.contains("Tina Acme")
            && !first.contains("Ticket 77")
            && first.contains(&snippet("en-GB", "history.nothingDone")),
        "the first, from the portal, did nothing: {first}"
    );
    let consent = b.find("#portal-consent").await;
    assert!(consent.is_selected().await.expect("state"), "allowed by default");
    b.browser()
        .execute(
            "document.getElementById('portal-account').scrollIntoView({ block: 'start', inline: 'nearest' })",
            vec![],
        )
        .await
        .expect("scroll");
    b.screenshot("portal-my-account").await;

    // He opts out: Tina's team page says so, and she cannot sign in as him.
    b.click("#portal-consent").await;
    b.until("the saved choice", || async {
        b.text("#portal-consent-result").await == snippet("en-GB", "consent.savedOff")
    })
    .await;
    let choice = b
        .public_json("max@example.com", "/api/public/account/impersonation-consent")
        .await;
    assert_eq!(choice["teamAdmins"], false);
    let team = b
        .public_json("tina@example.com", "/api/public/coworkers/team")
        .await;
    let max = team["Members"]
        .as_array()
        .and_then(|members| {
            members
                .iter()
                .find(|member| member["Id"] == seed::PROFILE_MAX_ACME)
        })
        .unwrap_or_else(|| panic!("Max in {team}"));
    assert_eq!(max["CanImpersonate"], false, "{max}");
    assert_eq!(max["Denial"]["Code"], "ACTAS__IMPERSONATION_OPTED_OUT", "{max}");

    // And back in: the box is the choice in force.
    b.click("#portal-consent").await;
    b.until("the saved choice", || async {
        b.text("#portal-consent-result").await == snippet("en-GB", "consent.savedOn")
    })
    .await;
    assert!(
        b.find("#portal-consent")
            .await
            .is_selected()
            .await
            .expect("state")
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_reads_on_her_account_page_who_acted_as_her_and_what_was_done() {
    let b = Browsing::start().await;
    let eu = seed::STOREFRONT_EU_ACCESS_KEY;
    let ada = b.admin_bearer("admin@example.com", "admin-demo-password").await;
    let context = b
        .admin_acts_as_with(
            &ada,
            seed::ALICE,
            seed::STOREFRONT_EU,
            eu,
            "Ticket 4711: checkout fails",
        )
        .await;
    let patched = reqwest::Client::new()
        .patch(b.eu("/store-api/context"))
        .header("sw-access-key", eu)
        .header("sw-context-token", &context)
        .json(&json!({ "languageId": simple(seed::LANGUAGE_EN_GB) }))
        .send()
        .await
        .expect("request");
    assert_eq!(patched.status(), StatusCode::OK);
    b.logout(
        "/store-api/account/logout",
        &[("sw-access-key", eu), ("sw-context-token", &context)],
        None,
    )
    .await;

    // An imitated account page has the banner and no list.
    let token = b
        .post_json(
            "/api/_proxy/generate-imitate-customer-token",
            Some(&ada),
            &[],
            json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }),
        )
        .await["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    b.browser()
        .goto(&b.eu("/account/login"))
        .await
        .expect("login page");
    let submit = format!(
        "const form = document.createElement('form');
         form.method = 'post'; form.action = '/account/login/imitate-customer';
         for (const [name, value] of Object.entries({{ token: '{token}', customerId: '{}', userId: '{}' }})) {{
           const input = document.createElement('input');
           input.type = 'hidden'; input.name = name; input.value = value; form.append(input);
         }}
         document.body.append(form); form.submit();",
        simple(seed::ALICE),
        simple(seed::ADMIN),
    );
    b.browser()
        .execute(&submit, vec![])
        .await
        .expect("the exchange form");
    b.wait_for_url(&b.eu("/account")).await;
    assert!(b.displayed("#imitation-banner").await);
    assert!(!b.displayed("#history").await, "not Alice's to show Ada");
    b.click("#imitation-stop").await;
    b.wait_for_url(&b.eu("/account/login")).await;

    // Alice herself: both, newest first, the first with its reason and the write.
    b.type_into("#login-email", "alice@example.com").await;
    b.type_into("#login-password", "alice-demo-password").await;
    b.click("#login-submit").await;
    b.wait_for_url(&b.eu("/account")).await;
    let rows = b.history_rows("#history-rows tr").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|(ending, row)| ending == "impersonation_ended" && row.contains("Ada Admin"))
    );
    let (_, first) = &rows[1];
    for expected in [
        "Ticket 4711: checkout fails",
        "PATCH /store-api/context · 200",
        &snippet("en-GB", "history.endings.impersonation_ended"),
    ] {
        assert!(first.contains(expected), "{expected} in {first}");
    }
    b.screenshot("storefront-history").await;

    // In German too: the page's texts, not only its data.
    b.browser()
        .goto(&b.eu("/account?lang=de-DE"))
        .await
        .expect("account page");
    assert_eq!(
        b.text("#history-heading").await,
        snippet("de-DE", "history.heading")
    );
    b.stop().await;
}
