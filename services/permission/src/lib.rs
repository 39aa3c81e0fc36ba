//! actas permission service: the directory (principals, credentials, roles
//! and privileges, sales channels) and every authorization decision.

pub mod app;
pub mod directory;
pub mod error;
pub mod grpc;
pub mod model;
pub mod password;
pub mod seed;
pub mod store;

pub use app::{Application, Config};
pub use directory::{Directory, Permission};
pub use error::Error;
