//! The real `actas-gateway` binary, configured by environment variables.

mod binary;
mod bodies;
mod client_ip;
mod openapi;
mod pages;
