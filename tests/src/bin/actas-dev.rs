//! `actas-dev`: the whole system in one process for a local run. Embedded
//! backends by default (SQLite under `.actas/`, in-memory token store);
//! `DATABASE_URL=postgres://…` and `REDIS_URL=redis://…` switch to the real
//! ones. Seeds the demo directory when it is empty, and prints a walk-through.

use actas_e2e::{Options, Sandbox};
use actas_permission::seed;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct DevConfig {
    /// `ACTAS_HTTP_ADDR`
    http_addr: String,
    /// `ACTAS_PERMISSION_ADDR`, `ACTAS_TOKEN_ISSUER_ADDR`, `ACTAS_SESSION_ADDR`
    permission_addr: String,
    token_issuer_addr: String,
    session_addr: String,
    /// `DATABASE_URL`; default: SQLite in `ACTAS_DATA_DIR`.
    database_url: Option<String>,
    /// `REDIS_URL`; default: the in-memory token store.
    redis_url: Option<String>,
    /// `ACTAS_DATA_DIR`
    data_dir: String,
    /// `ACTAS_TOKEN_TTL_SECS`
    token_ttl_secs: u64,
    /// `ACTAS_ADMIN_ADDR`: `/metrics` of all four services (labelled by service).
    admin_addr: String,
    /// `ACTAS_ISSUE_LIMIT_PER_MINUTE`, `ACTAS_REDEEM_LIMIT_PER_MINUTE`,
    /// `ACTAS_GUEST_CONTEXT_LIMIT_PER_MINUTE` (0: off)
    issue_limit_per_minute: u32,
    redeem_limit_per_minute: u32,
    guest_context_limit_per_minute: u32,
    /// `ACTAS_TRUSTED_PROXIES`
    trusted_proxies: String,
}

impl Default for DevConfig {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8080".into(),
            permission_addr: "127.0.0.1:50051".into(),
            token_issuer_addr: "127.0.0.1:50052".into(),
            session_addr: "127.0.0.1:50053".into(),
            database_url: None,
            redis_url: None,
            data_dir: ".actas".into(),
            token_ttl_secs: 120,
            admin_addr: "127.0.0.1:9100".into(),
            issue_limit_per_minute: 30,
            redeem_limit_per_minute: 30,
            guest_context_limit_per_minute: actas_gateway::Config::default().guest_context_limit_per_minute,
            trusted_proxies: String::new(),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: DevConfig = actas_shared::config::load()?;
    let _telemetry = actas_shared::telemetry::init("actas-dev")?;
    let admin = actas_shared::metrics::spawn_admin(&config.admin_addr).await?;
    let database_url = match &config.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&config.data_dir)?;
            format!("sqlite://{}/actas.db", config.data_dir)
        }
    };
    let mut options = Options::new(database_url.clone());
    options.redis_url = config.redis_url.clone();
    options.token_ttl_secs = config.token_ttl_secs;
    options.http_addr = config.http_addr.clone();
    options.permission_addr = config.permission_addr.clone();
    options.token_issuer_addr = config.token_issuer_addr.clone();
    options.session_addr = config.session_addr.clone();
    options.issue_limit_per_minute = config.issue_limit_per_minute;
    options.redeem_limit_per_minute = config.redeem_limit_per_minute;
    options.guest_context_limit_per_minute = config.guest_context_limit_per_minute;
    options.trusted_proxies = config.trusted_proxies.clone();
    let mut sandbox = Sandbox::start(options).await?;

    let backends = format!(
        "{} + {}",
        if database_url.starts_with("sqlite:") {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        if config.redis_url.is_some() {
            "Redis"
        } else {
            "in-memory token store"
        },
    );
    println!(
        "{}",
        walkthrough(&sandbox.gateway_url(), sandbox.gateway.port(), &backends)
    );
    // Every address this run chose (port 0 picks a free one), by the
    // variable that sets it: a second instance needs other ones.
    println!(
        "Listening: ACTAS_HTTP_ADDR={} ACTAS_PERMISSION_ADDR={} ACTAS_TOKEN_ISSUER_ADDR={} \
         ACTAS_SESSION_ADDR={} ACTAS_ADMIN_ADDR={admin} (metrics)\n",
        sandbox.gateway, sandbox.permission, sandbox.token_issuer, sandbox.session
    );

    tokio::select! {
        () = actas_shared::grpc::shutdown_signal() => sandbox.stop().await,
        error = sandbox.wait_for_failure() => Err(error),
    }
}

fn walkthrough(base: &str, port: u16, backends: &str) -> String {
    let alice = seed::ALICE.simple();
    let eu = seed::STOREFRONT_EU.simple();
    let key = seed::STOREFRONT_EU_ACCESS_KEY;
    format!(
        r#"
actas is running on {backends}: gateway {base}
Demo directory: admin@example.com / admin-demo-password (may log in as customers),
viewer@example.com / viewer-demo-password (may not); customers alice (EU, CH), bob (US), carol (inactive).

Log an admin in as alice (needs curl and jq):

  BASE={base}
  ADMIN=$(curl -s -X POST $BASE/api/oauth/token -H 'content-type: application/json' \
    -d '{{"grant_type":"password","client_id":"administration","username":"admin@example.com","password":"admin-demo-password"}}' | jq -r .access_token)
  USER_ID=$(curl -s $BASE/api/_info/me -H "authorization: Bearer $ADMIN" | jq -r .data.id)
  TOKEN=$(curl -s -X POST $BASE/api/_proxy/generate-imitate-customer-token -H "authorization: Bearer $ADMIN" \
    -H 'content-type: application/json' -d '{{"customerId":"{alice}","salesChannelId":"{eu}"}}' | jq -r .token)
  CONTEXT=$(curl -s -X POST $BASE/store-api/account/login/imitate-customer -H 'sw-access-key: {key}' \
    -H 'content-type: application/json' -d "{{\"token\":\"$TOKEN\",\"customerId\":\"{alice}\",\"userId\":\"$USER_ID\"}}" | jq -r .contextToken)
  curl -s $BASE/store-api/context -H 'sw-access-key: {key}' -H "sw-context-token: $CONTEXT" | jq

The context shows "imitated": true and "imitatingUserId" = the admin.
Or in a browser: {base}/admin (the same admin; the storefronts are {base} and
http://localhost:{port}). Ctrl-C stops.
"#
    )
}
