//! actas session service: sessions and their context, the exchange of a
//! one-time token for an impersonated session, and the audit records.

pub mod actions;
pub mod app;
pub mod error;
pub mod grpc;
pub mod guests;
pub mod model;
pub mod sessions;
pub mod store;
pub mod webhook;

pub use app::{Application, Config};
pub use error::Error;
