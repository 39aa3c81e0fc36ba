//! The generated gRPC contract (proto/actas/v1) and its descriptor set.

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("actas.v1");

/// Encoded `FileDescriptorSet` of every actas proto, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("actas_descriptor");
