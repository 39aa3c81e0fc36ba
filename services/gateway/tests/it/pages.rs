//! The pages' texts: both snippet files hold the same keys, and every key
//! the templates and the pages' scripts use exists (a missing one would show
//! its key instead of a text). Language negotiation picks what users expect.

use std::collections::BTreeSet;

use actas_gateway::ui::{Lang, TEMPLATES, snippets};

const ADMIN_JS: &str = include_str!("../../assets/admin.js");
const PORTAL_JS: &str = include_str!("../../assets/portal.js");
const OPERATOR_JS: &str = include_str!("../../assets/operator.js");
const CONSOLE_JS: &str = include_str!("../../assets/console.js");
const HISTORY_JS: &str = include_str!("../../assets/history.js");
const PAGE_JS: &str = include_str!("../../assets/page.js");
const GROUPS: [&str; 10] = [
    "common.",
    "admin.",
    "account.",
    "login.",
    "privileges.",
    "portal.",
    "operator.",
    "console.",
    "history.",
    "consent.",
];

fn keys(lang: Lang) -> BTreeSet<String> {
    snippets(lang).keys().map(str::to_owned).collect()
}

/// Every quoted string that looks like a snippet key (`admin.signin.submit`).
fn quoted_keys(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for quote in ['"', '\''] {
        for (i, piece) in source.split(quote).enumerate() {
            // A prefix the page completes (`history.endings.`) or a
            // template's file name is no key.
            let is_key = i % 2 == 1
                && GROUPS.iter().any(|group| piece.starts_with(group))
                && !piece.ends_with('.')
                && !piece.ends_with(".html")
                && piece
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
            if is_key {
                found.insert(piece.to_owned());
            }
        }
    }
    found
}

#[test]
fn both_languages_have_the_same_non_empty_snippets() {
    let english = keys(Lang::EnGb);
    let german = keys(Lang::DeDe);
    assert!(english.len() > 40, "snippets loaded: {}", english.len());
    assert_eq!(english, german, "en-GB and de-DE differ in keys");
    for lang in Lang::ALL {
        for key in &english {
            let text = snippets(lang).get(key).unwrap_or_default();
            assert!(!text.trim().is_empty(), "{} {key} is empty", lang.code());
        }
    }
    // Translated, not copied.
    assert_ne!(
        snippets(Lang::EnGb).get("account.banner"),
        snippets(Lang::DeDe).get("account.banner")
    );
}

#[test]
fn every_key_the_pages_use_exists() {
    let known = keys(Lang::EnGb);
    let mut used = quoted_keys(ADMIN_JS);
    used.extend(quoted_keys(PORTAL_JS));
    used.extend(quoted_keys(OPERATOR_JS));
    used.extend(quoted_keys(CONSOLE_JS));
    used.extend(quoted_keys(HISTORY_JS));
    used.extend(quoted_keys(PAGE_JS));
    // "Who accessed my account" names how each impersonation ended.
    for ending in [
        "impersonation_ended",
        "impersonation_revoked",
        "impersonation_expired",
        "ongoing",
    ] {
        used.insert(format!("history.endings.{ending}"));
    }
    // The operator console names each user's kind.
    for kind in ["admin", "customer"] {
        used.insert(format!("operator.kind.{kind}"));
    }
    // The portal builds these from a member's role and refusal.
    for role in ["member", "admin", "owner"] {
        used.insert(format!("portal.team.roles.{role}"));
    }
    for why in ["you", "admin", "owner", "optedOut", "policyOff", "other"] {
        used.insert(format!("portal.team.denied.{why}"));
    }
    for (_, source) in TEMPLATES {
        used.extend(quoted_keys(source));
    }
    // The title keys the handlers pass.
    used.extend(
        [
            "admin.title",
            "account.title",
            "login.title",
            "portal.title",
            "operator.title",
        ]
        .map(str::to_owned),
    );
    assert!(used.len() > 30, "the scan finds the keys: {used:?}");
    let missing: Vec<_> = used.difference(&known).collect();
    assert!(
        missing.is_empty(),
        "keys used but not in the snippet files: {missing:?}"
    );
}

#[test]
fn every_privilege_an_admin_page_shows_has_a_label_in_both_languages() {
    let privileges = [
        "api_proxy_login-as-customer",
        "customer:read",
        "impersonation:revoke",
        "impersonation:audit",
        "sys_impersonate-users",
    ];
    for lang in Lang::ALL {
        for privilege in privileges {
            let label = snippets(lang).get(&format!("privileges.{privilege}"));
            assert!(
                label.is_some_and(|l| !l.is_empty()),
                "{} {privilege}",
                lang.code()
            );
        }
    }
}

#[test]
fn snippets_embed_safely_in_a_script_element() {
    let json = snippets(Lang::DeDe).script_json();
    assert!(!json.contains('<') && !json.contains('&'), "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("still JSON");
    assert!(parsed["admin"].is_object());
}

#[test]
fn accept_language_picks_the_best_offered_language() {
    assert_eq!(Lang::negotiate("de-DE,de;q=0.9,en;q=0.8"), Some(Lang::DeDe));
    assert_eq!(Lang::negotiate("fr-FR, en-US;q=0.7, de;q=0.5"), Some(Lang::EnGb));
    assert_eq!(Lang::negotiate("en;q=0.2, de-AT;q=0.8"), Some(Lang::DeDe));
    assert_eq!(Lang::negotiate("fr, it"), None);
    assert_eq!(Lang::negotiate("de;q=0, en;q=0.1"), Some(Lang::EnGb));
    assert_eq!(Lang::negotiate("de;q=banana"), None);
    assert_eq!(Lang::negotiate(""), None);
}
