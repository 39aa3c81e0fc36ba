//! The HTTP routes, one module per audience.

pub mod actions;
pub mod admin;
pub mod audit;
pub mod coworkers;
pub mod jwks;
pub mod live;
pub mod policy;
pub mod portal;
pub mod principals;
pub mod probes;
pub mod revoke;
pub mod store;
pub mod storefront;
pub mod sys;
pub mod team;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every route with its handler, each documented by its `#[utoipa::path]`:
/// the router ([`crate::app::router`]) and the OpenAPI document
/// ([`crate::document::document`]) are built from this one table.
pub fn table() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(utoipa_axum::routes!(admin::oauth_token))
        .routes(utoipa_axum::routes!(admin::me))
        .routes(utoipa_axum::routes!(admin::generate_imitate_customer_token))
        .routes(utoipa_axum::routes!(admin::search_customers))
        .routes(utoipa_axum::routes!(coworkers::login))
        .routes(utoipa_axum::routes!(coworkers::exchange))
        .routes(utoipa_axum::routes!(coworkers::profiles))
        .routes(utoipa_axum::routes!(coworkers::switch_profile))
        .routes(utoipa_axum::routes!(coworkers::impersonate))
        .routes(utoipa_axum::routes!(coworkers::logout))
        .routes(utoipa_axum::routes!(team::members))
        .routes(utoipa_axum::routes!(audit::my_impersonations))
        .routes(utoipa_axum::routes!(audit::consent, audit::set_consent))
        .routes(utoipa_axum::routes!(sys::login))
        .routes(utoipa_axum::routes!(sys::impersonate))
        .routes(utoipa_axum::routes!(sys::search_users))
        .routes(utoipa_axum::routes!(audit::records))
        .routes(utoipa_axum::routes!(audit::records_for_admins))
        .routes(utoipa_axum::routes!(actions::records))
        .routes(utoipa_axum::routes!(actions::records_for_admins))
        .routes(utoipa_axum::routes!(actions::my_records))
        .routes(utoipa_axum::routes!(live::by_admin))
        .routes(utoipa_axum::routes!(live::by_operator))
        .routes(utoipa_axum::routes!(revoke::by_admin))
        .routes(utoipa_axum::routes!(revoke::by_operator))
        .routes(utoipa_axum::routes!(principals::deactivate_by_admin))
        .routes(utoipa_axum::routes!(principals::reactivate_by_admin))
        .routes(utoipa_axum::routes!(principals::deactivate_by_operator))
        .routes(utoipa_axum::routes!(principals::reactivate_by_operator))
        .routes(utoipa_axum::routes!(policy::get_by_admin, policy::set_by_admin))
        .routes(utoipa_axum::routes!(
            policy::get_by_operator,
            policy::set_by_operator
        ))
        .routes(utoipa_axum::routes!(store::login))
        .routes(utoipa_axum::routes!(store::imitate_customer))
        .routes(utoipa_axum::routes!(store::logout))
        .routes(utoipa_axum::routes!(store::context, store::update_context))
        .routes(utoipa_axum::routes!(storefront::account))
        .routes(utoipa_axum::routes!(storefront::login_page, storefront::login))
        .routes(utoipa_axum::routes!(storefront::imitate_customer))
        .routes(utoipa_axum::routes!(storefront::stop_imitation))
        .routes(utoipa_axum::routes!(storefront::logout))
        .routes(utoipa_axum::routes!(admin::page))
        .routes(utoipa_axum::routes!(portal::page))
        .routes(utoipa_axum::routes!(sys::page))
        .routes(utoipa_axum::routes!(crate::ui::asset))
        .routes(utoipa_axum::routes!(probes::healthz))
        .routes(utoipa_axum::routes!(probes::ready))
        .routes(utoipa_axum::routes!(jwks::jwks))
}
