//! gRPC server reflection (`grpc.reflection.v1` and `v1alpha`) for one
//! port: it lists the services that port serves and nothing else, has the
//! descriptors of health and of reflection itself, and answers a lookup
//! that finds nothing with an `error_response` on the same stream, as the
//! reflection protocol says. `tonic-reflection` 0.14 ends the whole stream
//! with NOT_FOUND instead, which breaks clients that look up several
//! symbols on one stream (grpcurl's `describe`, Python's
//! `ProtoReflectionDescriptorDatabase`); its messages are used here, its
//! server is not.

use std::{
    collections::{HashMap, HashSet},
    pin::Pin,
    sync::Arc,
};

use prost::Message as _;
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status, Streaming};
use tonic_reflection::pb::{v1, v1alpha};

use v1::{
    server_reflection_request::MessageRequest as Asked, server_reflection_response::MessageResponse as Answer,
};

/// One file as reflection serves it.
#[derive(Debug)]
struct File {
    encoded: Vec<u8>,
    imports: Vec<String>,
}

/// What one port's reflection knows.
#[derive(Debug, Default)]
pub struct Reflection {
    services: Vec<String>,
    files: HashMap<String, File>,
    /// Fully qualified symbol (service, method, message, field, enum) to the file defining it.
    symbols: HashMap<String, String>,
}

impl Reflection {
    /// The files of every encoded `FileDescriptorSet` (the first of a name
    /// wins); `services` are listed, in this order.
    pub fn new(sets: &[&[u8]], services: &[&str]) -> Result<Self, prost::DecodeError> {
        let mut reflection = Reflection {
            services: services.iter().map(|name| (*name).to_owned()).collect(),
            ..Reflection::default()
        };
        for set in sets {
            for file in FileDescriptorSet::decode(*set)?.file {
                reflection.add(file);
            }
        }
        Ok(reflection)
    }

    fn add(&mut self, file: FileDescriptorProto) {
        let name = file.name().to_owned();
        if self.files.contains_key(&name) {
            return;
        }
        let prefix = match file.package() {
            "" => String::new(),
            package => format!("{package}."),
        };
        for service in &file.service {
            let service_name = format!("{prefix}{}", service.name());
            for method in &service.method {
                self.symbols
                    .insert(format!("{service_name}.{}", method.name()), name.clone());
            }
            self.symbols.insert(service_name, name.clone());
        }
        for message in &file.message_type {
            self.add_message(&prefix, message, &name);
        }
        for enumeration in &file.enum_type {
            self.symbols
                .insert(format!("{prefix}{}", enumeration.name()), name.clone());
        }
        let encoded = file.encode_to_vec();
        self.files.insert(
            name,
            File {
                encoded,
                imports: file.dependency,
            },
        );
    }

    fn add_message(&mut self, prefix: &str, message: &DescriptorProto, file: &str) {
        let full = format!("{prefix}{}", message.name());
        for field in &message.field {
            self.symbols
                .insert(format!("{full}.{}", field.name()), file.to_owned());
        }
        for enumeration in &message.enum_type {
            self.symbols
                .insert(format!("{full}.{}", enumeration.name()), file.to_owned());
        }
        let nested_prefix = format!("{full}.");
        for nested in &message.nested_type {
            self.add_message(&nested_prefix, nested, file);
        }
        self.symbols.insert(full, file.to_owned());
    }

    /// The file and every file it imports, transitively, each once, the
    /// file first: what a client needs to build its messages.
    fn with_imports(&self, name: &str) -> Option<Vec<Vec<u8>>> {
        self.files.get(name)?;
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        let mut next = vec![name.to_owned()];
        while let Some(name) = next.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(file) = self.files.get(&name) {
                found.push(file.encoded.clone());
                next.extend(file.imports.iter().rev().cloned());
            }
        }
        Some(found)
    }

    /// The answer to one request of a stream; a lookup that finds nothing
    /// is an `error_response`, and the stream goes on.
    pub fn answer(&self, request: v1::ServerReflectionRequest) -> v1::ServerReflectionResponse {
        let error = |code: tonic::Code, message: String| {
            Answer::ErrorResponse(v1::ErrorResponse {
                error_code: code as i32,
                error_message: message,
            })
        };
        let files = |files: Vec<Vec<u8>>| {
            Answer::FileDescriptorResponse(v1::FileDescriptorResponse {
                file_descriptor_proto: files,
            })
        };
        let answer = match &request.message_request {
            None => error(tonic::Code::InvalidArgument, "the request asks nothing".into()),
            Some(Asked::ListServices(_)) => Answer::ListServicesResponse(v1::ListServiceResponse {
                service: self
                    .services
                    .iter()
                    .map(|name| v1::ServiceResponse { name: name.clone() })
                    .collect(),
            }),
            Some(Asked::FileByFilename(name)) => self.with_imports(name).map_or_else(
                || error(tonic::Code::NotFound, format!("no file {name:?}")),
                files,
            ),
            Some(Asked::FileContainingSymbol(symbol)) => self
                .symbols
                .get(symbol.trim_start_matches('.'))
                .and_then(|file| self.with_imports(file))
                .map_or_else(
                    || error(tonic::Code::NotFound, format!("no symbol {symbol:?}")),
                    files,
                ),
            // No file here declares extensions.
            Some(Asked::FileContainingExtension(extension)) => error(
                tonic::Code::NotFound,
                format!(
                    "no extension {} of {:?}",
                    extension.extension_number, extension.containing_type
                ),
            ),
            Some(Asked::AllExtensionNumbersOfType(type_name)) => {
                if self.symbols.contains_key(type_name.trim_start_matches('.')) {
                    Answer::AllExtensionNumbersResponse(v1::ExtensionNumberResponse {
                        base_type_name: type_name.clone(),
                        extension_number: Vec::new(),
                    })
                } else {
                    error(tonic::Code::NotFound, format!("no type {type_name:?}"))
                }
            }
        };
        v1::ServerReflectionResponse {
            valid_host: request.host.clone(),
            original_request: Some(request),
            message_response: Some(answer),
        }
    }
}

type Answers<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// `grpc.reflection.v1.ServerReflection` over a [`Reflection`].
#[derive(Clone, Debug)]
pub struct ReflectionV1(pub Arc<Reflection>);

#[tonic::async_trait]
impl v1::server_reflection_server::ServerReflection for ReflectionV1 {
    type ServerReflectionInfoStream = Answers<v1::ServerReflectionResponse>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<v1::ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        let reflection = self.0.clone();
        let answers = request
            .into_inner()
            .map(move |asked| asked.map(|asked| reflection.answer(asked)));
        Ok(Response::new(Box::pin(answers)))
    }
}

/// `grpc.reflection.v1alpha.ServerReflection`: the same messages on the
/// wire as v1 (v1 is v1alpha renamed), so each is re-read as the other.
#[derive(Clone, Debug)]
pub struct ReflectionV1alpha(pub Arc<Reflection>);

fn reread<T: prost::Message, U: prost::Message + Default>(message: &T) -> Result<U, Status> {
    U::decode(message.encode_to_vec().as_slice())
        .map_err(|_| Status::internal("reflection messages of v1 and v1alpha differ"))
}

#[tonic::async_trait]
impl v1alpha::server_reflection_server::ServerReflection for ReflectionV1alpha {
    type ServerReflectionInfoStream = Answers<v1alpha::ServerReflectionResponse>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<v1alpha::ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        let reflection = self.0.clone();
        let answers = request.into_inner().map(move |asked| {
            let asked: v1::ServerReflectionRequest = reread(&asked?)?;
            reread(&reflection.answer(asked))
        });
        Ok(Response::new(Box::pin(answers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reflection() -> Reflection {
        Reflection::new(
            &[
                crate::proto::FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
            ],
            &["actas.v1.SessionService", "grpc.health.v1.Health"],
        )
        .expect("the descriptor sets decode")
    }

    fn ask(request: Asked) -> Option<Answer> {
        reflection()
            .answer(v1::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(request),
            })
            .message_response
    }

    #[test]
    fn symbols_find_their_file_with_its_imports_and_misses_are_error_responses() {
        let Some(Answer::FileDescriptorResponse(found)) = ask(Asked::FileContainingSymbol(
            "actas.v1.SessionService.GetContext".into(),
        )) else {
            panic!("the method's file");
        };
        let names: Vec<String> = found
            .file_descriptor_proto
            .iter()
            .map(|bytes| {
                FileDescriptorProto::decode(bytes.as_slice())
                    .unwrap()
                    .name()
                    .to_owned()
            })
            .collect();
        assert_eq!(names.first().map(String::as_str), Some("actas/v1/session.proto"));
        assert!(
            names.iter().any(|name| name == "actas/v1/directory.proto"),
            "{names:?}"
        );
        for symbol in [
            "actas.v1.SessionContext",
            "actas.v1.AuditKind",
            "grpc.health.v1.HealthCheckResponse.ServingStatus",
        ] {
            assert!(
                matches!(
                    ask(Asked::FileContainingSymbol(symbol.into())),
                    Some(Answer::FileDescriptorResponse(_))
                ),
                "{symbol}"
            );
        }
        let Some(Answer::ErrorResponse(missing)) =
            ask(Asked::FileContainingSymbol("actas.v1.Nothing".into()))
        else {
            panic!("an error response");
        };
        assert_eq!(missing.error_code, tonic::Code::NotFound as i32);
        assert!(matches!(
            ask(Asked::FileByFilename("nothing.proto".into())),
            Some(Answer::ErrorResponse(_))
        ));
        let Some(Answer::ListServicesResponse(listed)) = ask(Asked::ListServices(String::new())) else {
            panic!("a list");
        };
        let names: Vec<&str> = listed
            .service
            .iter()
            .map(|service| service.name.as_str())
            .collect();
        assert_eq!(names, ["actas.v1.SessionService", "grpc.health.v1.Health"]);
    }
}
