//! Startup wiring: typed config, gRPC clients, the router, and the HTTP
//! server on an injected listener with graceful shutdown.

use std::{future::Future, net::SocketAddr, sync::atomic::Ordering, time::Duration};

use actas_shared::{ErrorCode, proto::RecordActionRequest};
use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::Method,
    middleware::{self, Next},
    response::{IntoResponse as _, Response},
};
use tokio::net::TcpListener;
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

use crate::{config::Config, error::HttpError, guard, serve::ConnectionLimits, state::AppState};

pub struct Application {
    listener: TcpListener,
    state: AppState,
    limits: ConnectionLimits,
}

/// Request bodies here are a few fields; anything larger is a mistake or an attack.
const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// A request gets this long in all; downstream gRPC calls time out sooner (10 s).
const REQUEST_DEADLINE: Duration = Duration::from_secs(15);
/// Requests in flight at once; more wait for a slot (backpressure, not errors).
const MAX_IN_FLIGHT: usize = 4096;

/// Counts and times each request by matched route, method and status.
async fn record(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_str().to_owned();
    metrics::counter!("actas_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("actas_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Puts each state-changing request served under an impersonated session
/// on that session's trail (method, route template, status): the session
/// behind it is noted by [`guard::admit`]. Requests that end the
/// impersonation are on the trail as its end already. A failed report is
/// logged, and the answer goes out all the same: what was done is done.
async fn record_actions(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |path| path.as_str().to_owned());
    let acting = guard::ActingSession::default();
    request.extensions_mut().insert(acting.clone());
    let response = next.run(request).await;
    let Some(token) = acting.take() else {
        return response;
    };
    if guard::ends_impersonation(method.as_str(), &route) {
        return response;
    }
    let reported = state
        .sessions
        .clone()
        .record_action(RecordActionRequest {
            token,
            action: format!("{method} {route}"),
            detail: String::new(),
            outcome: response.status().as_str().to_owned(),
            reporter: "gateway".to_owned(),
        })
        .await;
    if let Err(status) = reported {
        tracing::warn!(code = ?status.code(), route, "recording an impersonated request failed");
    }
    response
}

/// Answers 503 with the error envelope when a request outlives its deadline.
async fn deadline(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("request deadline exceeded");
            HttpError::new(ErrorCode::Unavailable, "The request took too long; try again.").into_response()
        }
    }
}

pub fn router(state: AppState) -> Router {
    let (router, _) = crate::routes::table()
        .routes(utoipa_axum::routes!(crate::document::serve))
        .split_for_parts();
    router
        .fallback(|| async { HttpError::new(ErrorCode::RouteNotFound, "No route matches this path.") })
        .method_not_allowed_fallback(|| async {
            HttpError::new(
                ErrorCode::MethodNotAllowed,
                "This route does not accept this method.",
            )
        })
        // Route layers run after routing, so they see the matched route.
        .route_layer(middleware::from_fn_with_state(state.clone(), record_actions))
        .route_layer(middleware::from_fn(record))
        .route_layer(
            // Spans name the matched route, never the raw URI: paths and
            // query strings may carry tokens.
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                let span = tracing::info_span!(
                    "http",
                    service = "actas-gateway",
                    method = %request.method(),
                    route,
                    trace_id = tracing::field::Empty
                );
                actas_shared::telemetry::set_parent(&span, request.headers());
                span
            }),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(deadline))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(MAX_IN_FLIGHT))
        // Tokens, sessions and personal data: nothing here may be cached (RFC 6749 §5.1).
        .layer(SetResponseHeaderLayer::if_not_present(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}

impl Application {
    pub async fn build(config: &Config, listener: TcpListener) -> anyhow::Result<Self> {
        let state = AppState::new(config)?;
        let limits = config.connection_limits()?;
        Ok(Self {
            listener,
            state,
            limits,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The router over this application's state, for driving it without a
    /// socket (the request-body property tests).
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr()?, "gateway listening");
        let ready = self.state.ready.clone();
        let app = router(self.state);
        crate::serve::serve(self.listener, app, self.limits, async move {
            shutdown.await;
            // Readiness off first, so load balancers stop sending.
            ready.store(false, Ordering::Relaxed);
        })
        .await?;
        Ok(())
    }
}

/// How long in-flight requests get to finish after the shutdown signal.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);
