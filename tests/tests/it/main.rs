//! End-to-end: the four services against real PostgreSQL and Redis, driven
//! through the gateway's HTTP routes and the gRPC APIs.

#![allow(clippy::unwrap_used)]

mod actions;
mod admin_api;
mod audit_query;
mod bodies;
mod connections;
mod coworkers;
mod deactivation;
mod dev_run;
mod grpc_api;
mod guests;
mod helpers;
mod invariants;
mod keys;
mod limits;
mod live;
mod policy;
mod reasons;
mod refresh;
mod revocation;
mod shopware_client;
mod single_use;
mod store_api;
mod storefront;
mod team;
mod tls;
mod token_events;
mod users;
mod webhook;
