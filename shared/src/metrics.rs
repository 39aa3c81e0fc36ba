//! Prometheus metrics: one recorder per process, rendered at `/metrics` on
//! each service's admin port, and the gRPC server layer that counts and
//! times every call by service, method and status.
//!
//! Metric names (all prefixed `actas_`): `grpc_requests_total`,
//! `grpc_request_duration_seconds`, `http_requests_total`,
//! `http_request_duration_seconds`, `tokens_issued_total`,
//! `tokens_redeemed_total`, `tokens_rejected_total{reason}`,
//! `impersonated_sessions_active`, `backend_up`, `db_pool_connections{state}`.

use std::{
    future::Future,
    sync::OnceLock,
    task::{Context, Poll},
    time::Instant,
};

use axum::{Router, extract::State, routing::get};
use futures::future::BoxFuture;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Latency buckets, in seconds: sub-millisecond to a few seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Installs the process's recorder once and returns its handle.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)?
        .install_recorder()?;
    let handle = HANDLE.get_or_init(|| handle).clone();
    spawn_upkeep(handle.clone());
    Ok(handle)
}

/// How often histogram samples are folded into their buckets.
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// `install_recorder` leaves histogram samples queued until someone drains
/// them: without a scrape, every recorded latency stayed in memory (about
/// 15 KiB per login flow, found by the load benchmark). A plain thread, so
/// it runs whether or not a tokio runtime is up when the recorder is made.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "metrics upkeep thread could not start: histograms grow until scraped");
    }
}

/// Serves `GET /metrics` (and `/healthz`) on the admin listener until
/// `shutdown`.
pub async fn serve_admin(
    listener: TcpListener,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = Router::new()
        .route(
            "/metrics",
            get(|State(handle): State<PrometheusHandle>| async move { handle.render() }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .with_state(handle);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Counts and times each gRPC call of `service`.
#[derive(Clone, Copy, Debug)]
pub struct RecordRpcLayer {
    pub service: &'static str,
}

impl<S> tower::Layer<S> for RecordRpcLayer {
    type Service = RecordRpc<S>;

    fn layer(&self, inner: S) -> RecordRpc<S> {
        RecordRpc {
            inner,
            service: self.service,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RecordRpc<S> {
    inner: S,
    service: &'static str,
}

impl<S, B, R> tower::Service<http::Request<B>> for RecordRpc<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let service = self.service;
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            // Errors come trailers-only, with grpc-status in the headers;
            // a success carries it in the trailers: no header means OK.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "transport".to_owned(),
            };
            metrics::counter!("actas_grpc_requests_total", "service" => service, "method" => method.clone(), "code" => code)
                .increment(1);
            metrics::histogram!("actas_grpc_request_duration_seconds", "service" => service, "method" => method)
                .record(started.elapsed().as_secs_f64());
            result
        })
    }
}

/// Installs the recorder and serves `/metrics` on `addr` in the background,
/// for the life of the process. Called once by each binary's `main`.
pub async fn spawn_admin(addr: &str) -> anyhow::Result<std::net::SocketAddr> {
    let handle = install()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|error| anyhow::anyhow!("binding ACTAS_ADMIN_ADDR={addr}: {error}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = serve_admin(listener, handle, std::future::pending()).await {
            tracing::error!(%error, "admin server failed");
        }
    });
    tracing::info!(addr = %bound, "metrics at /metrics");
    Ok(bound)
}
