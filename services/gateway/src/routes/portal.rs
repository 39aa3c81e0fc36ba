//! The member portal's page: sign in, pick a profile, and, for a team
//! administrator, the team permissions page and signing in as a member.

use axum::response::Response;

use crate::ui::Locale;

#[utoipa::path(
    get,
    path = "/portal",
    tag = "pages",
    operation_id = "portalPage",
    summary = "The member portal (HTML)",
    description = "Sign in, choose a profile, and for team administrators the team permissions page with \"Impersonate account\" and the banner with Stop while impersonating. Texts in en-GB or de-DE (`?lang=`, then the `actas-lang` cookie, then `Accept-Language`). The page's script keeps its bearers in memory only.",
    security(()),
    params(
        ("lang" = Option<crate::ui::Lang>, Query, description = "`en-GB` or `de-DE`; remembered in the `actas-lang` cookie.")
    ),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
    ),
)]
/// `GET /portal`: the member portal. Its script talks to the public API
/// (`/api/public/*`) with the bearers kept in memory only.
pub async fn page(locale: Locale) -> Response {
    crate::ui::scripted_page("portal.html", "portal.title", locale)
}
