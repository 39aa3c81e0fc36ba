//! The operator console in Chromium: sign in, find a user, act as them with
//! a reason under the banner, see it in the live list and the trail, Stop.

use actas_permission::seed;
use reqwest::StatusCode;

use crate::{Browsing, simple, snippet};

impl Browsing {
    async fn operator_sign_in(&self, lang: &str) {
        self.browser()
            .goto(&self.eu(&format!("/operator?lang={lang}")))
            .await
            .expect("operator page");
        self.type_into("#operator-email", "ops@example.com").await;
        self.type_into("#operator-password", "ops-demo-password").await;
        self.click("#operator-signin-submit").await;
        self.until("the workspace", || self.displayed("#workspace")).await;
    }

    /// Finds `term`, opens `user`'s card, and acts as them giving `reason`.
    async fn operator_acts_as(&self, term: &str, user: uuid::Uuid, reason: &str) {
        self.type_into("#operator-search-term", term).await;
        self.click("#operator-search-submit").await;
        self.click(&format!(".customer-result[data-user-id=\"{}\"]", simple(user)))
            .await;
        self.until("the card", || self.displayed("#operator-card")).await;
        self.click("#operator-impersonate").await;
        self.until("the reason dialog", || self.displayed("#operator-modal"))
            .await;
        self.type_into("#operator-reason", reason).await;
        self.click("#operator-modal-confirm").await;
        self.until("the banner", || self.displayed("#operator-banner"))
            .await;
    }

    /// The kinds of the trail's records about `target`, newest first, as
    /// the operator API answers them.
    async fn trail_kinds(&self, target: uuid::Uuid) -> Vec<String> {
        let operator = self
            .bearer("/api/sys/auth/login", "ops@example.com", "ops-demo-password")
            .await;
        let (status, trail) = self
            .get_json(
                &format!("/api/sys/audit-records?targetId={}", simple(target)),
                &operator,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{trail}");
        trail["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|record| record["kind"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_finds_alice_acts_as_her_with_a_reason_and_stops() {
    let b = Browsing::start().await;
    b.operator_sign_in("en-GB").await;
    assert_eq!(
        b.text("#workspace-heading").await,
        snippet("en-GB", "operator.workspace.heading")
    );
    // The search lists admins and customers, never an operator.
    b.until("the first page of users", || async {
        b.text("#operator-search-status").await.contains("users found")
    })
    .await;
    let everyone = b.text("#operator-results").await;
    assert!(
        everyone.contains("Ada Admin") && !everyone.contains("Oli Operator"),
        "{everyone}"
    );

    // A reason is asked for: the dialog does not go on without one.
    b.type_into("#operator-search-term", "alice").await;
    b.click("#operator-search-submit").await;
    b.click(&format!(
        ".customer-result[data-user-id=\"{}\"]",
        simple(seed::ALICE)
    ))
    .await;
    b.until("Alice's card", || async {
        b.text("#operator-card-name").await == "Alice Example"
    })
    .await;
    // The eyebrow is set in capitals; the text is the snippet's.
    assert_eq!(
        b.text("#operator-card-kind").await.to_lowercase(),
        snippet("en-GB", "operator.kind.customer").to_lowercase()
    );
    b.click("#operator-impersonate").await;
    b.until("the reason dialog", || b.displayed("#operator-modal"))
        .await;
    b.click("#operator-modal-confirm").await;
    assert!(b.displayed("#operator-modal").await, "no reason, no start");
    // Blanks are no reason either (the page's own check, past the browser's).
    b.type_into("#operator-reason", "   ").await;
    b.click("#operator-modal-confirm").await;
    assert!(b.displayed("#operator-modal").await, "blanks, no start");
    b.type_into("#operator-reason", "Ticket 5150: checkout fails")
        .await;
    b.click("#operator-modal-confirm").await;
    b.until("the banner", || b.displayed("#operator-banner")).await;
    let banner = b.text("#operator-banner-text").await;
    assert!(
        banner.starts_with("You are acting as Alice Example (Customer) since "),
        "{banner}"
    );
    assert!(
        !b.find("#operator-impersonate")
            .await
            .is_enabled()
            .await
            .expect("state"),
        "one impersonation at a time"
    );
    assert_eq!(
        b.text("#operator-impersonate-hint").await,
        snippet("en-GB", "operator.card.disabled.acting")
    );

    // The consoles over /api/sys: the live row and the trail with the reason.
    b.click("#live-refresh").await;
    b.until("the live row", || async {
        let rows = b.text("#live-rows").await;
        rows.contains("Oli Operator") && rows.contains("Alice Example")
    })
    .await;
    b.click("#audit-apply").await;
    b.until("the start in the trail", || async {
        b.text("#audit-rows")
            .await
            .contains("Ticket 5150: checkout fails")
    })
    .await;
    b.browser()
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .expect("scroll");
    b.screenshot("operator-console").await;

    // Stop ends the impersonation on the record; the operator goes on.
    b.click("#operator-stop").await;
    b.until("the banner to go", || async {
        !b.displayed("#operator-banner").await
    })
    .await;
    assert_eq!(
        b.trail_kinds(seed::ALICE).await.first().map(String::as_str),
        Some("impersonation_ended")
    );
    assert!(
        b.find("#operator-impersonate")
            .await
            .is_enabled()
            .await
            .expect("state"),
        "free to act again"
    );
    b.click("#live-refresh").await;
    b.until("no live row", || async { b.displayed("#live-empty").await })
        .await;

    // Signing out forgets everything on the page.
    b.click("#operator-signout").await;
    b.until("the sign-in form", || b.displayed("#operator-signin"))
        .await;
    assert!(b.text("#operator-results").await.is_empty());
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_acts_as_an_admin_in_german_and_stop_ends_it() {
    let b = Browsing::start().await;
    b.operator_sign_in("de-DE").await;
    assert_eq!(
        b.text("#workspace-heading").await,
        snippet("de-DE", "operator.workspace.heading")
    );
    b.operator_acts_as("ada", seed::ADMIN, "Prüfung der Rechte").await;
    let banner = b.text("#operator-banner-text").await;
    assert!(
        banner.starts_with("Sie handeln seit ") && banner.contains("als Ada Admin (Administrator)"),
        "{banner}"
    );
    assert_eq!(
        b.text("#operator-stop").await,
        snippet("de-DE", "operator.banner.stop")
    );
    assert_eq!(
        b.trail_kinds(seed::ADMIN).await.first().map(String::as_str),
        Some("impersonation_started")
    );
    // The reason beyond ASCII travelled as RFC 8187 and is kept as typed.
    let operator = b
        .bearer("/api/sys/auth/login", "ops@example.com", "ops-demo-password")
        .await;
    let (_, trail) = b
        .get_json(
            &format!(
                "/api/sys/audit-records?targetId={}&kind=impersonation_started",
                simple(seed::ADMIN)
            ),
            &operator,
        )
        .await;
    let reason = trail["records"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.ends_with("stated reason: Prüfung der Rechte"), "{trail}");
    b.click("#operator-stop").await;
    b.until("the banner to go", || async {
        !b.displayed("#operator-banner").await
    })
    .await;
    assert_eq!(
        b.trail_kinds(seed::ADMIN).await.first().map(String::as_str),
        Some("impersonation_ended")
    );
    b.stop().await;
}
