//! The member portal in Chromium: sign-in with profile selection, the team
//! permissions page, signing in as a member with the banner and Stop.

use std::time::Duration;

use actas_permission::{
    model::{NewPrincipal, Profile, TeamRole},
    password, seed,
    store::{DirectoryStore as _, SqlDirectory},
};
use actas_shared::{db::Pool, ids::PrincipalId, principal::PrincipalKind};
use serde_json::{Value, json};

use crate::{Browsing, snippet};

const OLGA: uuid::Uuid = uuid::Uuid::from_u128(0x018f8d3a_5e00_7000_8000_00000000d0b1);
const PROFILE_OLGA_ACME: i64 = 1009;

impl Browsing {
    pub(crate) async fn portal_sign_in(&self, lang: &str, email: &str, password: &str) {
        self.browser()
            .goto(&self.eu(&format!("/portal?lang={lang}")))
            .await
            .expect("portal page");
        self.type_into("#portal-email", email).await;
        self.type_into("#portal-password", password).await;
        self.click("#portal-signin-submit").await;
    }

    /// Signs in to the portal (en-GB) and continues with `profile` from
    /// the selection.
    pub(crate) async fn portal_continue_as(&self, email: &str, password: &str, profile: i64) {
        self.portal_sign_in("en-GB", email, password).await;
        self.until("the selection", || self.displayed("#portal-select"))
            .await;
        self.click(&format!("#portal-profiles [data-profile-id=\"{profile}\"]"))
            .await;
    }

    /// A public API answer as `email` sees it, outside the browser.
    pub(crate) async fn public_json(&self, email: &str, path: &str) -> Value {
        let http = reqwest::Client::new();
        let password = format!("{}-demo-password", email.split('@').next().unwrap_or_default());
        let session: Value = http
            .post(self.eu("/api/public/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("session");
        let bearer = session["access_token"].as_str().expect("a bearer");
        http.get(self.eu(path))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON")
    }

    /// The audit records of impersonations of Max, as Max reads them.
    async fn records_of_max(&self) -> Vec<Value> {
        self.public_json("max@example.com", "/api/public/account/impersonations")
            .await["records"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// An owner for Acme, and Mia opting out: every kind of closed row.
async fn owner_and_an_opt_out(b: &Browsing) {
    let pool = Pool::connect(&b.database_url, 1).await.expect("the database");
    let directory = SqlDirectory::new(pool.clone());
    directory
        .insert_principal(&NewPrincipal {
            id: PrincipalId::from_uuid(OLGA),
            kind: PrincipalKind::Customer,
            email: "olga@example.com".to_owned(),
            display_name: "Olga Owner".to_owned(),
            password_hash: password::hash("olga-demo-password").expect("hash"),
            active: true,
            guest: false,
            roles: vec![],
            sales_channel_ids: vec![],
        })
        .await
        .expect("olga");
    directory
        .insert_profile(&Profile {
            id: PROFILE_OLGA_ACME,
            person_id: PrincipalId::from_uuid(OLGA),
            team_id: seed::TEAM_ACME,
            team_name: String::new(),
            role: TeamRole::Owner,
            full_name: "Olga Owner".to_owned(),
        })
        .await
        .expect("olga's profile");
    directory
        .set_team_impersonation_opt_out(PrincipalId::from_uuid(seed::MIA), true)
        .await
        .expect("mia opts out");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_admin_signs_in_as_a_member_from_the_selection_and_stops_in_both_languages() {
    let b = Browsing::start().await;
    for lang in ["en-GB", "de-DE"] {
        b.portal_sign_in(lang, "tina@example.com", "tina-demo-password")
            .await;
        // One profile, but members to sign in as: the selection shows both.
        b.until("the selection", || b.displayed("#portal-select")).await;
        assert_eq!(
            b.text("#portal-select-heading").await,
            snippet(lang, "portal.select.heading")
        );
        let own = b
            .text(&format!(
                "#portal-profiles [data-profile-id=\"{}\"]",
                seed::PROFILE_TINA_ACME
            ))
            .await;
        assert_eq!(own, "Tina Acme, Acme");
        assert_eq!(
            b.text("#portal-select-members-heading").await,
            snippet(lang, "portal.select.membersHeading").replace("{team}", "Acme")
        );
        let max = format!(
            "#portal-select-members [data-member-id=\"{}\"]",
            seed::PROFILE_MAX_ACME
        );
        assert_eq!(
            b.text(&max).await,
            snippet(lang, "portal.select.member").replace("{name}", "Max Mustermann")
        );
        assert!(
            !b.displayed(&format!(
                "#portal-select-members [data-member-id=\"{}\"]",
                seed::PROFILE_TINA_ACME
            ))
            .await,
            "not herself"
        );
        b.screenshot(&format!("portal-selection-{lang}")).await;

        // Choosing Max asks to confirm, then the page is Max's, with the banner.
        b.click(&max).await;
        b.until("the dialog", || b.displayed("#portal-impersonate-modal"))
            .await;
        assert_eq!(
            b.text("#portal-reason-label").await,
            snippet(lang, "portal.modal.reasonOptional")
        );
        b.click("#portal-impersonate-confirm").await;
        b.until("the banner", || b.displayed("#portal-banner")).await;
        let banner = b.text("#portal-banner-text").await;
        let before_since = snippet(lang, "portal.banner.text")
            .replace("{actor}", "Tina Acme")
            .replace("{target}", "Max Mustermann")
            .replace("{team}", "Acme");
        let before_since = before_since.split("{since}").next().unwrap_or_default();
        assert!(
            banner.starts_with(before_since),
            "{banner} starts with {before_since}"
        );
        assert_eq!(b.text("#portal-stop").await, snippet(lang, "portal.banner.stop"));
        assert_eq!(
            b.text("#portal-home-heading").await,
            snippet(lang, "portal.home.heading").replace("{name}", "Max Mustermann")
        );
        assert!(!b.displayed("#portal-team").await, "no team page as Max");
        assert!(!b.displayed("#portal-signout").await, "only Stop leaves");
        b.screenshot(&format!("portal-banner-{lang}")).await;

        // Stop ends Max's session only: Tina is back on her own, team page and all.
        b.click("#portal-stop").await;
        b.until("the banner gone", || async {
            !b.displayed("#portal-banner").await
        })
        .await;
        b.until("the team page", || b.displayed("#portal-team")).await;
        assert_eq!(
            b.text("#portal-home-heading").await,
            snippet(lang, "portal.home.heading").replace("{name}", "Tina Acme")
        );
        b.click("#portal-signout").await;
        b.until("the sign-in form", || b.displayed("#portal-signin"))
            .await;
    }
    // Max reads it on his side: two impersonations by Tina, both ended.
    let records = b.records_of_max().await;
    let count = |kind: &str| records.iter().filter(|record| record["kind"] == kind).count();
    assert_eq!(
        (count("impersonation_started"), count("impersonation_ended")),
        (2, 2),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .all(|record| record["actorId"] == crate::simple(seed::TINA))
    );

    // A person with two profiles and nobody to act as picks one.
    b.portal_sign_in("en-GB", "max@example.com", "max-demo-password")
        .await;
    b.until("the selection", || b.displayed("#portal-select")).await;
    assert!(
        !b.displayed("#portal-select-members-block").await,
        "Max administers no team"
    );
    b.click(&format!(
        "#portal-profiles [data-profile-id=\"{}\"]",
        seed::PROFILE_MAX_GLOBEX
    ))
    .await;
    b.until("the home page", || b.displayed("#portal-home")).await;
    assert_eq!(b.text("#portal-home-team").await, "Team Globex");
    let profiles = b
        .public_json("max@example.com", "/api/public/coworkers/profiles")
        .await;
    assert!(profiles["Profiles"].as_array().is_some_and(|all| all.len() == 2));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_permissions_page_says_why_a_member_is_closed_and_asks_the_required_reason() {
    let b = Browsing::start_with(|options| options.require_reason = true).await;
    owner_and_an_opt_out(&b).await;
    b.portal_continue_as("tina@example.com", "tina-demo-password", seed::PROFILE_TINA_ACME)
        .await;
    b.until("the team page", || b.displayed("#portal-team")).await;
    assert_eq!(
        b.text("#portal-team-heading").await,
        snippet("en-GB", "portal.team.heading").replace("{team}", "Acme")
    );
    let row = |profile: i64| format!("#portal-team-members tr[data-member-id=\"{profile}\"]");
    let button = |profile: i64| format!("{} button.impersonate-account", row(profile));
    for (profile, role, why) in [
        (seed::PROFILE_TINA_ACME, "admin", Some("you")),
        (seed::PROFILE_MAX_ACME, "member", None),
        (seed::PROFILE_MIA_ACME, "member", Some("optedOut")),
        (PROFILE_OLGA_ACME, "owner", Some("owner")),
    ] {
        let cells = b.text(&row(profile)).await;
        let role = snippet("en-GB", &format!("portal.team.roles.{role}"));
        assert!(cells.contains(&role), "{cells} shows the role {role}");
        let enabled = b
            .find(&button(profile))
            .await
            .is_enabled()
            .await
            .expect("enabled state");
        assert_eq!(enabled, why.is_none(), "{cells}");
        if let Some(why) = why {
            assert_eq!(
                b.text(&format!("#portal-denial-{profile}")).await,
                snippet("en-GB", &format!("portal.team.denied.{why}"))
            );
        }
    }
    b.screenshot("portal-team-permissions").await;

    // Reasons are required: the dialog says so and waits for one.
    b.click(&button(seed::PROFILE_MAX_ACME)).await;
    b.until("the dialog", || b.displayed("#portal-impersonate-modal"))
        .await;
    assert_eq!(
        b.text("#portal-reason-label").await,
        snippet("en-GB", "portal.modal.reasonRequired")
    );
    b.click("#portal-impersonate-confirm").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        b.displayed("#portal-impersonate-modal").await,
        "the dialog waits for a reason"
    );
    assert!(!b.displayed("#portal-banner").await);
    // Beyond Latin-1 on purpose: it travels as an RFC 8187 header value.
    b.type_into("#portal-reason", "Prüfung der Buchung – Ticket 12")
        .await;
    b.click("#portal-impersonate-confirm").await;
    b.until("the banner", || b.displayed("#portal-banner")).await;
    let started = b
        .records_of_max()
        .await
        .into_iter()
        .find(|record| record["kind"] == "impersonation_started")
        .expect("the start is on Max's record");
    let reason = started["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("Prüfung der Buchung – Ticket 12"), "{reason}");
    b.stop().await;
}
