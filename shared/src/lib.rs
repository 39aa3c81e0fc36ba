//! The common library of every actas service: the generated gRPC contract,
//! the public error codes, ids, secrets, configuration, database and gRPC
//! plumbing, and telemetry.

pub mod action;
pub mod audience;
pub mod audit;
pub mod cache;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod ids;
pub mod metrics;
pub mod principal;
pub mod proto;
pub mod reason;
pub mod secret;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{ApiError, ErrorCode};
