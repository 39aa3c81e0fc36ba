//! actas token issuer: one-time impersonation tokens (signed JWTs), issued
//! only after the permission service allowed them, redeemed at most once.

pub mod app;
pub mod error;
pub mod grpc;
pub mod issuer;
pub mod keys;
pub mod store;

pub use app::{Application, Config};
pub use error::Error;
