//! Startup wiring: typed config, gRPC clients, the router, and the HTTP
//! server on an injected listener with graceful shutdown.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use actas_shared::grpc::Channel;
use actas_shared::{
    ErrorCode,
    cache::TtlCache,
    grpc,
    proto::{
        RecordActionRequest, SessionContext, permission_service_client::PermissionServiceClient,
        session_service_client::SessionServiceClient, token_issuer_client::TokenIssuerClient,
    },
};
use anyhow::Context as _;
use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse as _, Response},
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use ipnet::IpNet;

use crate::{
    error::HttpError,
    guard,
    limits::Limits,
    routes::{admin, audit, coworkers, store, storefront, sys},
    serve::ConnectionLimits,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `ACTAS_HTTP_ADDR`
    pub http_addr: String,
    /// `ACTAS_ADMIN_ADDR`: `/metrics` for Prometheus.
    pub admin_addr: String,
    /// `ACTAS_PERMISSION_URL`
    pub permission_url: String,
    /// `ACTAS_SESSION_URL`
    pub session_url: String,
    /// `ACTAS_TOKEN_ISSUER_URL`
    pub token_issuer_url: String,
    /// `ACTAS_COOKIE_SECURE`: mark the storefront cookie `Secure` (behind HTTPS).
    pub cookie_secure: bool,
    /// `ACTAS_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of
    /// the proxies in front; only their `X-Forwarded-For` is believed.
    pub trusted_proxies: String,
    /// `ACTAS_ISSUE_LIMIT_PER_MINUTE`: tokens one actor may ask for (0: off).
    pub issue_limit_per_minute: u32,
    /// `ACTAS_REDEEM_LIMIT_PER_MINUTE`: token redemptions per client address (0: off).
    pub redeem_limit_per_minute: u32,
    /// `ACTAS_GUEST_CONTEXT_LIMIT_PER_MINUTE`: new guest contexts per client
    /// address (0: off). A frontend that renders on a server opens them for
    /// its visitors: raise it, or list it in `ACTAS_TRUSTED_PROXIES` and
    /// forward the visitors' addresses.
    pub guest_context_limit_per_minute: u32,
    /// `ACTAS_HTTP_HEADER_READ_TIMEOUT_SECS`: a request's headers must be
    /// complete this long after its first byte (a new connection's, after the accept).
    pub http_header_read_timeout_secs: u64,
    /// `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`: a request body must have arrived
    /// this long after the handler started reading it (then 408).
    pub http_body_read_timeout_secs: u64,
    /// `ACTAS_HTTP_IDLE_TIMEOUT_SECS`: a kept-alive connection with no
    /// request in flight is closed after this.
    pub http_idle_timeout_secs: u64,
    /// `ACTAS_HTTP_MAX_CONNECTIONS`: connections served at once; more wait
    /// in the listen backlog.
    pub http_max_connections: usize,
    /// `ACTAS_GRPC_TLS_CERT`, `ACTAS_GRPC_TLS_KEY`, `ACTAS_GRPC_TLS_CA`:
    /// mutual TLS on the channels to the services.
    #[serde(flatten)]
    pub grpc_tls: grpc::TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        let defaults = ConnectionLimits::default();
        Self {
            http_addr: "127.0.0.1:8080".into(),
            admin_addr: "127.0.0.1:9104".into(),
            permission_url: "http://127.0.0.1:50051".into(),
            session_url: "http://127.0.0.1:50053".into(),
            token_issuer_url: "http://127.0.0.1:50052".into(),
            cookie_secure: false,
            trusted_proxies: String::new(),
            issue_limit_per_minute: 30,
            redeem_limit_per_minute: 30,
            guest_context_limit_per_minute: 300,
            http_header_read_timeout_secs: defaults.header_read_timeout.as_secs(),
            http_body_read_timeout_secs: DEFAULT_BODY_READ_TIMEOUT.as_secs(),
            http_idle_timeout_secs: defaults.idle_timeout.as_secs(),
            http_max_connections: defaults.max_connections,
            grpc_tls: grpc::TlsConfig::default(),
        }
    }
}

/// Bodies here are at most 64 KiB: 10 s is slower than any real client.
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Config {
    /// The connection limits, each of them checked: a zero would close every
    /// connection at once, or accept none.
    pub fn connection_limits(&self) -> anyhow::Result<ConnectionLimits> {
        anyhow::ensure!(
            self.http_max_connections > 0,
            "ACTAS_HTTP_MAX_CONNECTIONS must be at least 1"
        );
        Ok(ConnectionLimits {
            header_read_timeout: seconds(
                self.http_header_read_timeout_secs,
                "ACTAS_HTTP_HEADER_READ_TIMEOUT_SECS",
            )?,
            idle_timeout: seconds(self.http_idle_timeout_secs, "ACTAS_HTTP_IDLE_TIMEOUT_SECS")?,
            max_connections: self.http_max_connections,
        })
    }

    /// `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`, checked like the others.
    pub fn body_read_timeout(&self) -> anyhow::Result<Duration> {
        seconds(
            self.http_body_read_timeout_secs,
            "ACTAS_HTTP_BODY_READ_TIMEOUT_SECS",
        )
    }
}

/// A timeout of whole seconds; zero would close or refuse everything at once.
fn seconds(value: u64, variable: &str) -> anyhow::Result<Duration> {
    anyhow::ensure!(value > 0, "{variable} must be at least 1");
    Ok(Duration::from_secs(value))
}

/// What every handler gets: one multiplexed channel per downstream service.
#[derive(Clone)]
pub struct AppState {
    pub permission: PermissionServiceClient<Channel>,
    pub sessions: SessionServiceClient<Channel>,
    pub tokens: TokenIssuerClient<Channel>,
    pub cookie_secure: bool,
    pub limits: Arc<Limits>,
    pub trusted_proxies: Arc<Vec<IpNet>>,
    /// Sales channels by `sw-access-key`, trusted for a second: every
    /// Store API request names one, and they almost never change.
    pub access_keys: Arc<TtlCache<String, Arc<crate::extract::StoreChannel>>>,
    /// Customers as the directory holds them, trusted for a second: the
    /// context answers their email and flags, and a page asks it in bursts.
    pub customers: Arc<TtlCache<String, actas_shared::proto::Principal>>,
    /// Session contexts by token hash, as the session service answered them
    /// within [`CONTEXT_TTL`]: most requests of a session come in bursts
    /// (a storefront page is several calls), and each would otherwise be a
    /// gRPC call. Changes made through this gateway drop their entry at once.
    pub contexts: Arc<TtlCache<String, SessionContext>>,
    /// `ACTAS_HTTP_BODY_READ_TIMEOUT_SECS`
    pub body_read_timeout: Duration,
    ready: Arc<AtomicBool>,
}

/// How long a resolved access key is trusted (the same bound as sessions).
const ACCESS_KEY_TTL: Duration = Duration::from_secs(1);

/// How long this gateway trusts a session context. Half the revocation
/// bound: the session service may itself answer from its own cache of the
/// same age (`actas_session::sessions::RECHECK_INTERVAL`), and together
/// they stay within the second that SECURITY.md promises.
pub const CONTEXT_TTL: Duration = Duration::from_millis(500);

/// Contexts kept per gateway replica at most (a few MiB).
const CONTEXT_CAPACITY: usize = 50_000;

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

/// Every route with its handler, each documented by its `#[utoipa::path]`:
/// the router and the OpenAPI document are built from this one table.
pub fn routes() -> OpenApiRouter<AppState> {
    use crate::routes::{jwks, policy, principals, revoke};
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(utoipa_axum::routes!(admin::oauth_token))
        .routes(utoipa_axum::routes!(admin::me))
        .routes(utoipa_axum::routes!(admin::generate_imitate_customer_token))
        .routes(utoipa_axum::routes!(admin::search_customers))
        .routes(utoipa_axum::routes!(coworkers::login))
        .routes(utoipa_axum::routes!(coworkers::exchange))
        .routes(utoipa_axum::routes!(coworkers::profiles))
        .routes(utoipa_axum::routes!(coworkers::switch_profile))
        .routes(utoipa_axum::routes!(coworkers::impersonate))
        .routes(utoipa_axum::routes!(coworkers::logout))
        .routes(utoipa_axum::routes!(crate::routes::team::members))
        .routes(utoipa_axum::routes!(audit::my_impersonations))
        .routes(utoipa_axum::routes!(audit::consent, audit::set_consent))
        .routes(utoipa_axum::routes!(sys::login))
        .routes(utoipa_axum::routes!(sys::impersonate))
        .routes(utoipa_axum::routes!(sys::search_users))
        .routes(utoipa_axum::routes!(audit::records))
        .routes(utoipa_axum::routes!(audit::records_for_admins))
        .routes(utoipa_axum::routes!(crate::routes::actions::records))
        .routes(utoipa_axum::routes!(crate::routes::actions::records_for_admins))
        .routes(utoipa_axum::routes!(crate::routes::actions::my_records))
        .routes(utoipa_axum::routes!(crate::routes::live::by_admin))
        .routes(utoipa_axum::routes!(crate::routes::live::by_operator))
        .routes(utoipa_axum::routes!(revoke::by_admin))
        .routes(utoipa_axum::routes!(revoke::by_operator))
        .routes(utoipa_axum::routes!(principals::deactivate_by_admin))
        .routes(utoipa_axum::routes!(principals::reactivate_by_admin))
        .routes(utoipa_axum::routes!(principals::deactivate_by_operator))
        .routes(utoipa_axum::routes!(principals::reactivate_by_operator))
        .routes(utoipa_axum::routes!(policy::get_by_admin, policy::set_by_admin))
        .routes(utoipa_axum::routes!(
            policy::get_by_operator,
            policy::set_by_operator
        ))
        .routes(utoipa_axum::routes!(store::login))
        .routes(utoipa_axum::routes!(store::imitate_customer))
        .routes(utoipa_axum::routes!(store::logout))
        .routes(utoipa_axum::routes!(store::context, store::update_context))
        .routes(utoipa_axum::routes!(storefront::account))
        .routes(utoipa_axum::routes!(storefront::login_page, storefront::login))
        .routes(utoipa_axum::routes!(storefront::imitate_customer))
        .routes(utoipa_axum::routes!(storefront::stop_imitation))
        .routes(utoipa_axum::routes!(storefront::logout))
        .routes(utoipa_axum::routes!(admin::page))
        .routes(utoipa_axum::routes!(crate::routes::portal::page))
        .routes(utoipa_axum::routes!(sys::page))
        .routes(utoipa_axum::routes!(crate::ui::asset))
        .routes(utoipa_axum::routes!(healthz))
        .routes(utoipa_axum::routes!(ready))
        .routes(utoipa_axum::routes!(crate::openapi::serve))
        .routes(utoipa_axum::routes!(jwks::jwks))
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
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

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    operation_id = "healthz",
    summary = "Liveness",
    security(()),
    responses((status = 200, description = "The process is alive.", body = String, content_type = "text/plain")),
)]
async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    operation_id = "readyz",
    summary = "Readiness (off while draining)",
    security(()),
    responses(
        (status = 200, description = "Ready; empty body."),
        (status = 503, description = "Draining after the shutdown signal; empty body (no envelope)."),
    ),
)]
async fn ready(State(state): State<AppState>) -> StatusCode {
    if state.ready.load(Ordering::Relaxed) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

impl Application {
    pub async fn build(config: &Config, listener: TcpListener) -> anyhow::Result<Self> {
        let tls = config.grpc_tls.load()?;
        let channel = |url: &str, variable: &'static str| grpc::channel(url, tls.as_ref()).context(variable);
        let state = AppState {
            permission: PermissionServiceClient::new(channel(
                &config.permission_url,
                "ACTAS_PERMISSION_URL",
            )?),
            sessions: SessionServiceClient::new(channel(&config.session_url, "ACTAS_SESSION_URL")?),
            tokens: TokenIssuerClient::new(channel(&config.token_issuer_url, "ACTAS_TOKEN_ISSUER_URL")?),
            cookie_secure: config.cookie_secure,
            limits: Arc::new(Limits::new(
                config.issue_limit_per_minute,
                config.redeem_limit_per_minute,
                config.guest_context_limit_per_minute,
            )),
            trusted_proxies: Arc::new(parse_trusted_proxies(&config.trusted_proxies)?),
            // Only keys that resolved are kept, so guessing fills nothing.
            access_keys: Arc::new(TtlCache::new("access_key", ACCESS_KEY_TTL, 10_000)),
            customers: Arc::new(TtlCache::new("customer", ACCESS_KEY_TTL, CONTEXT_CAPACITY)),
            contexts: Arc::new(TtlCache::new("context", CONTEXT_TTL, CONTEXT_CAPACITY)),
            body_read_timeout: config.body_read_timeout()?,
            ready: Arc::new(AtomicBool::new(true)),
        };
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

/// `ACTAS_TRUSTED_PROXIES`: `10.0.0.0/8, 192.168.1.7` (a bare address is a /32 or /128).
pub fn parse_trusted_proxies(text: &str) -> anyhow::Result<Vec<IpNet>> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("ACTAS_TRUSTED_PROXIES: {item:?} is not an IP address or CIDR range")
                })
        })
        .collect()
}

/// How long in-flight requests get to finish after the shutdown signal.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);
