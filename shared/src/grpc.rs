//! gRPC plumbing shared by every service: one server with health and
//! reflection (v1 and v1alpha) beside the service's own APIs, graceful
//! shutdown, and lazily connected client channels; mutual TLS on both when
//! configured.

pub mod calls;
pub mod probe;
pub mod reflection;
pub mod tls;

pub use tls::{Tls, TlsConfig};

use std::{future::Future, sync::Arc, time::Duration};

use futures::future::BoxFuture;

use tokio::net::TcpListener;
use tonic::{
    Request, Status,
    service::{Interceptor, Routes, interceptor::InterceptedService},
    transport::{Endpoint, Server, server::TcpIncoming},
};
use tonic_health::ServingStatus;
use tower_http::{
    classify::{GrpcCode, GrpcErrorsAsFailures, SharedClassifier},
    trace::TraceLayer,
};

use crate::proto::FILE_DESCRIPTOR_SET;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid gRPC endpoint {url:?}")]
    Endpoint {
        url: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("gRPC endpoint {url:?} must be https:// with ACTAS_GRPC_TLS_* set, http:// without")]
    Scheme { url: String },
    #[error("the gRPC TLS settings were refused")]
    Tls(#[source] tonic::transport::Error),
    #[error("gRPC reflection could not be built")]
    Reflection(#[source] prost::DecodeError),
    #[error("gRPC server failed")]
    Serve(#[source] tonic::transport::Error),
}

/// A client channel to another actas service: one multiplexed HTTP/2
/// connection, with the caller's trace context injected into every call.
pub type Channel = InterceptedService<tonic::transport::Channel, PropagateContext>;

/// Puts the current span's W3C trace context into each outgoing call.
#[derive(Clone, Copy, Debug, Default)]
pub struct PropagateContext;

impl Interceptor for PropagateContext {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        crate::telemetry::inject(request.metadata_mut());
        Ok(request)
    }
}

/// Whether a service's backends answer (database, Redis).
pub type Probe = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// How often the backends are probed for the health status.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// A probe slower than this counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// One actas service's gRPC server: its routes on its listener, with
/// health and reflection, and with mutual TLS when configured.
///
/// ```text
/// GrpcServer::new("actas-permission", listener, routes, tls.as_ref())
///     .health(&["actas.v1.PermissionService"], probe)
///     .serve(shutdown)
/// ```
pub struct GrpcServer<'a> {
    service: &'static str,
    listener: TcpListener,
    routes: Routes,
    service_names: &'a [&'a str],
    probe: Probe,
    tls: Option<&'a Tls>,
}

impl<'a> GrpcServer<'a> {
    /// `service` names the process in spans and metrics. With `tls`
    /// (mutual TLS), every connection must present a client certificate
    /// signed by the configured CA; a caller says which, so plaintext is
    /// never the default.
    pub fn new(service: &'static str, listener: TcpListener, routes: Routes, tls: Option<&'a Tls>) -> Self {
        Self {
            service,
            listener,
            routes,
            service_names: &[],
            probe: Arc::new(|| Box::pin(async { true })),
            tls,
        }
    }

    /// The health of `service_names` follows `probe` (see [`Self::serve`]).
    pub fn health(mut self, service_names: &'a [&'a str], probe: Probe) -> Self {
        self.service_names = service_names;
        self.probe = probe;
        self
    }

    /// Serves the routes on the listener with health and reflection until `shutdown`
    /// resolves; then reports NOT_SERVING and drains in-flight calls. Every call
    /// gets a span named for `service`, child of the caller's trace context.
    ///
    /// The health status of `service_names` follows `probe` (checked every
    /// second): NOT_SERVING while a backend is down. The overall status (`""`)
    /// stays SERVING while the process runs, so liveness probes do not restart
    /// pods during a database outage.
    ///
    /// With `tls`, every connection must complete a TLS handshake presenting a
    /// client certificate signed by the configured CA (mutual TLS).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let Self {
            service,
            listener,
            routes,
            service_names,
            probe,
            tls,
        } = self;
        let (reporter, health) = tonic_health::server::health_reporter();
        for name in service_names {
            reporter.set_service_status(*name, ServingStatus::Serving).await;
        }
        let names: Vec<String> = service_names.iter().map(|s| (*s).to_owned()).collect();
        let prober = tokio::spawn({
            let reporter = reporter.clone();
            let names = names.clone();
            async move {
                let mut serving = true;
                let mut ticks = tokio::time::interval(PROBE_INTERVAL);
                loop {
                    ticks.tick().await;
                    let up = tokio::time::timeout(PROBE_TIMEOUT, probe())
                        .await
                        .unwrap_or(false);
                    metrics::gauge!("actas_backend_up", "service" => service).set(if up { 1.0 } else { 0.0 });
                    if up != serving {
                        serving = up;
                        tracing::warn!(service, up, "backend health changed");
                        let status = if up {
                            ServingStatus::Serving
                        } else {
                            ServingStatus::NotServing
                        };
                        for name in &names {
                            reporter.set_service_status(name, status).await;
                        }
                    }
                }
            }
        });
        // Reflection lists what this port serves, and only that: its own
        // service, health, and reflection itself (every port is built from
        // the same descriptor set, which holds all three actas services).
        let listed: Vec<&str> = service_names
            .iter()
            .copied()
            .chain([HEALTH_SERVICE, REFLECTION_V1, REFLECTION_V1ALPHA])
            .collect();
        let reflection = Arc::new(
            reflection::Reflection::new(
                &[
                    FILE_DESCRIPTOR_SET,
                    tonic_health::pb::FILE_DESCRIPTOR_SET,
                    tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                ],
                &listed,
            )
            .map_err(Error::Reflection)?,
        );
        let reflection_v1 = tonic_reflection::pb::v1::server_reflection_server::ServerReflectionServer::new(
            reflection::ReflectionV1(reflection.clone()),
        );
        let reflection_v1alpha =
            tonic_reflection::pb::v1alpha::server_reflection_server::ServerReflectionServer::new(
                reflection::ReflectionV1alpha(reflection),
            );
        let signal = async move {
            shutdown.await;
            prober.abort();
            for name in &names {
                reporter.set_service_status(name, ServingStatus::NotServing).await;
            }
            tracing::info!("grpc server draining");
        };
        // A status the caller caused (a bad argument, an unknown session, a
        // denial) is an answer, logged at debug with every response; only the
        // server's own faults (internal, unavailable, deadline) are failures
        // logged at ERROR, so outsiders cannot fill the error log at will.
        let classifier = [
            GrpcCode::Cancelled,
            GrpcCode::InvalidArgument,
            GrpcCode::NotFound,
            GrpcCode::AlreadyExists,
            GrpcCode::PermissionDenied,
            GrpcCode::ResourceExhausted,
            GrpcCode::FailedPrecondition,
            GrpcCode::OutOfRange,
            GrpcCode::Unauthenticated,
        ]
        .into_iter()
        .fold(GrpcErrorsAsFailures::new(), GrpcErrorsAsFailures::with_success);
        let traced = TraceLayer::new(SharedClassifier::new(classifier)).make_span_with(
            move |request: &http::Request<_>| {
                let span = tracing::info_span!(
                    "grpc",
                    service,
                    rpc = %request.uri().path(),
                    trace_id = tracing::field::Empty
                );
                crate::telemetry::set_parent(&span, request.headers());
                span
            },
        );
        let mut server = Server::builder();
        if let Some(tls) = tls {
            server = server.tls_config(tls.server()).map_err(Error::Tls)?;
        }
        server
            .timeout(Duration::from_secs(30))
            .layer(traced)
            .layer(crate::metrics::RecordRpcLayer { service })
            .add_routes(routes)
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            // TCP_NODELAY on every accepted connection: Server::tcp_nodelay only
            // applies to sockets tonic binds itself. Without it, an HTTP/2
            // response written in several frames waits ~40 ms for the client's
            // delayed ACK (Nagle), on every call after the first.
            .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), signal)
            .await
            .map_err(Error::Serve)
    }
}

/// The standard services every port serves besides its own.
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// A channel to another actas service; connects on first use (services may
/// start in any order) and multiplexes every call over one HTTP/2 connection.
///
/// With `tls`, `url` must be `https://`: the server is verified against the
/// CA for the URL's host name (or IP address), and this service presents its
/// own certificate. Without, `url` must be `http://`.
pub fn channel(url: &str, tls: Option<&Tls>) -> Result<Channel, Error> {
    let endpoint_error = |source| Error::Endpoint {
        url: url.to_owned(),
        source,
    };
    let mut endpoint = Endpoint::from_shared(url.to_owned()).map_err(endpoint_error)?;
    let scheme = endpoint.uri().scheme_str();
    match tls {
        Some(tls) if scheme == Some("https") => {
            endpoint = endpoint.tls_config(tls.client()).map_err(endpoint_error)?;
        }
        None if scheme == Some("http") => {}
        _ => return Err(Error::Scheme { url: url.to_owned() }),
    }
    let channel = endpoint
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .connect_lazy();
    Ok(InterceptedService::new(channel, PropagateContext))
}

/// Resolves on SIGTERM or Ctrl-C: the one shutdown signal of a process.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
