//! The real `actas-gateway` binary, configured by environment variables.

mod binary;
mod openapi;
mod pages;
