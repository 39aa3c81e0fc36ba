//! The HTTP routes, one module per audience.

pub mod actions;
pub mod admin;
pub mod audit;
pub mod coworkers;
pub mod history;
pub mod jwks;
pub mod live;
pub mod names;
pub mod policy;
pub mod portal;
pub mod principals;
pub mod revoke;
pub mod store;
pub mod storefront;
pub mod sys;
pub mod team;
