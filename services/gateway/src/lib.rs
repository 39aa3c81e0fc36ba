//! actas HTTP edge gateway: translates the admin API, the Store API and the
//! storefront pages into gRPC calls; one place maps errors to HTTP.

pub mod app;
pub mod config;
pub mod document;
pub mod error;
pub mod exchange;
pub mod extract;
pub mod guard;
pub mod history;
pub mod limits;
pub mod names;
pub mod openapi;
pub mod public_session;
pub mod routes;
pub mod serve;
pub mod state;
pub mod ui;
pub mod wire;

pub use app::Application;
pub use config::Config;
