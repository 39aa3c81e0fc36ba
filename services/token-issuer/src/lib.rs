//! actas token issuer: one-time impersonation tokens (signed JWTs), signed
//! for grants the session service decided and recorded, redeemed at most
//! once. A leaf: it calls no other service.

pub mod app;
pub mod error;
pub mod grpc;
pub mod issuer;
pub mod keys;
pub mod store;

pub use app::{Application, Config};
pub use error::Error;
