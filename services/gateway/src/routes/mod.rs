//! The HTTP routes, one module per audience.

pub mod admin;
pub mod store;
pub mod storefront;
