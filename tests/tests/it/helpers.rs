//! One running system per test: a fresh PostgreSQL database, a Redis key
//! prefix of its own, all four services on free loopback ports.

use actas_e2e::{Options, Sandbox};
use actas_permission::seed;
use actas_shared::{
    proto::{AuditRecord, ListAuditRecordsRequest, session_service_client::SessionServiceClient},
    testing::{TestDatabase, redis_url, unique_prefix},
};
use reqwest::{Response, StatusCode, redirect::Policy};
use serde_json::{Value, json};

pub const EU_KEY: &str = seed::STOREFRONT_EU_ACCESS_KEY;
pub const US_KEY: &str = seed::STOREFRONT_US_ACCESS_KEY;

/// A signing key for tests only: replicas must share one to verify each other's tokens.
pub const TEST_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIOtCsbDX88wnzPMd+vk9tzLsCthVjukLYlTE6BCi2Ij4
-----END PRIVATE KEY-----
";
/// The public part of [`TEST_SIGNING_KEY`] (`openssl pkey -pubout`).
pub const TEST_SIGNING_KEY_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAmVgupwo9syG3+HRIsAr5NxTFQGtgfHJaQ7FHAP7SVOA=
-----END PUBLIC KEY-----
";
/// The key a rotation moves to, for tests only.
pub const NEXT_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIKGfmolYBpLf1/EuREo32YhIXrI87pC9vh/hV/HuCpey
-----END PRIVATE KEY-----
";
/// The public part of [`NEXT_SIGNING_KEY`].
pub const NEXT_SIGNING_KEY_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAphAn8C+xmCgvifzVAui8E0ZqYP2JLFA2rLaeA5Uf7r4=
-----END PUBLIC KEY-----
";
/// A key no test system knows.
pub const STRANGER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIAJT2VLnFobrfpFWHulC0bPMkqmZVpt7LshE8brZnmMP
-----END PRIVATE KEY-----
";

/// Shopware's form of an id: 32 lowercase hex digits.
pub fn simple(id: uuid::Uuid) -> String {
    id.simple().to_string()
}

pub struct TestSystem {
    pub sandbox: Option<Sandbox>,
    pub base: String,
    pub http: reqwest::Client,
    pub redis_key_prefix: String,
    pub database: TestDatabase,
}

impl TestSystem {
    pub async fn start() -> TestSystem {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Options)) -> TestSystem {
        let database = TestDatabase::create().await.expect("a fresh PostgreSQL database");
        let mut options = Options::new(database.url.clone());
        options.redis_url = Some(redis_url());
        options.redis_key_prefix = unique_prefix();
        adjust(&mut options);
        let redis_key_prefix = options.redis_key_prefix.clone();
        let sandbox = Sandbox::start(options).await.expect("the system starts");
        let base = sandbox.gateway_url();
        TestSystem {
            sandbox: Some(sandbox),
            base,
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("http client"),
            redis_key_prefix,
            database,
        }
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }

    pub async fn stop(mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.stop().await.expect("clean shutdown");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The audit records about `target`, newest first, straight from the
    /// session service, read by the demo operator (who holds
    /// `impersonation:audit`; under mutual TLS with the gateway's certificate).
    pub async fn audit_trail(&self, target: uuid::Uuid) -> Vec<AuditRecord> {
        let channel = self
            .sandbox()
            .grpc_channel(self.sandbox().session)
            .expect("a channel to the session service");
        let reader = self.operator().await;
        SessionServiceClient::new(channel)
            .list_audit_records(ListAuditRecordsRequest {
                target_id: target.to_string(),
                reader_session_token: reader,
                ..Default::default()
            })
            .await
            .expect("the audit records")
            .into_inner()
            .records
    }

    pub async fn admin_login(&self, email: &str, password: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/oauth/token"))
            .json(&json!({
                "grant_type": "password",
                "client_id": "administration",
                "username": email,
                "password": password,
            }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "admin login of {email}");
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn admin(&self) -> String {
        self.admin_login("admin@example.com", "admin-demo-password").await
    }

    pub async fn generate(&self, bearer: &str, body: Value) -> Response {
        self.http
            .post(self.url("/api/_proxy/generate-imitate-customer-token"))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// A token for alice on the EU channel from the demo admin.
    pub async fn alice_token(&self, admin: &str) -> String {
        let response = self
            .generate(
                admin,
                json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn exchange(&self, access_key: &str, body: Value) -> Response {
        self.http
            .post(self.url("/store-api/account/login/imitate-customer"))
            .header("sw-access-key", access_key)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Exchanges `token` for alice as the demo admin; returns the context token.
    pub async fn exchange_alice(&self, token: &str) -> String {
        let response = self
            .exchange(
                EU_KEY,
                json!({ "token": token, "customerId": simple(seed::ALICE), "userId": simple(seed::ADMIN) }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        context_token_of(response).await
    }

    pub async fn customer_login(&self, access_key: &str, email: &str, password: &str) -> Response {
        self.http
            .post(self.url("/store-api/account/login"))
            .header("sw-access-key", access_key)
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("request")
    }

    /// Alice signs in on the EU storefront on a device holding `previous`
    /// (an imitation, a guest context): her new context token.
    pub async fn alice_login_holding(&self, previous: &str) -> String {
        let login = self
            .http
            .post(self.url("/store-api/account/login"))
            .header("sw-access-key", EU_KEY)
            .header("sw-context-token", previous)
            .json(&json!({ "email": "alice@example.com", "password": "alice-demo-password" }))
            .send()
            .await
            .expect("request");
        assert_eq!(login.status(), StatusCode::OK);
        context_token_of(login).await
    }

    /// Alice's own context token on the EU storefront (her password login).
    pub async fn alice_own_context(&self) -> String {
        context_token_of(
            self.customer_login(EU_KEY, "alice@example.com", "alice-demo-password")
                .await,
        )
        .await
    }

    /// The status `GET /api/_info/me` answers `bearer`: whether an admin
    /// session is alive.
    pub async fn me_status(&self, bearer: &str) -> StatusCode {
        self.http
            .get(self.url("/api/_info/me"))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request")
            .status()
    }

    pub async fn context(&self, access_key: &str, context_token: &str) -> Response {
        self.http
            .get(self.url("/store-api/context"))
            .header("sw-access-key", access_key)
            .header("sw-context-token", context_token)
            .send()
            .await
            .expect("request")
    }

    pub async fn context_json(&self, context_token: &str) -> Value {
        let response = self.context(EU_KEY, context_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }
}

/// The new context token: the `sw-context-token` header, equal to the body's.
pub async fn context_token_of(response: Response) -> String {
    let header = response
        .headers()
        .get("sw-context-token")
        .expect("sw-context-token header")
        .to_str()
        .expect("ascii")
        .to_owned();
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["contextToken"], header.as_str());
    header
}

/// Asserts an error response: status, the envelope, and its stable code.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status for expected {code}");
    let body: Value = response.json().await.expect("error body is JSON");
    let error = &body["errors"][0];
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["status"], status.as_str());
    assert!(
        error["title"].is_string() && error["detail"].is_string(),
        "{body}"
    );
    error.clone()
}
