//! End-to-end: the four services against real PostgreSQL and Redis, driven
//! through the gateway's HTTP routes and the gRPC APIs.

mod admin_api;
mod helpers;
mod invariants;
mod store_api;
mod storefront;
