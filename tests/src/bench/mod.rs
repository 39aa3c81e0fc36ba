//! actas-bench's parts: the gateway client, the scenarios, the load runner
//! and the report. Compiled into the `actas-bench` binary only.

pub mod cpu;
pub mod gateway;
pub mod in_process;
pub mod report;
pub mod revocation;
pub mod runner;
pub mod scenario;
