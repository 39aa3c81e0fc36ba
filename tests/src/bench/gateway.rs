//! The gateway as the load generator sees it: one HTTP client per worker
//! (keep-alive, so connections are reused), every answer checked, and every
//! failure reduced to the key it is counted under (`401 FRAMEWORK__UNAUTHORIZED`,
//! `timeout`, …).

use std::time::Duration;

use actas_permission::seed;
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

/// The demo directory's admin who holds `api_proxy_login-as-customer`, and
/// the team administrator of Acme (see the README's demo directory).
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-demo-password";
const TEAM_ADMIN_EMAIL: &str = "tina@example.com";
const TEAM_ADMIN_PASSWORD: &str = "tina-demo-password";

/// Why one call, and so its flow, failed: the key errors are counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    fn unexpected(what: &str) -> Failure {
        Failure(format!("unexpected answer: {what}"))
    }
}

impl From<reqwest::Error> for Failure {
    fn from(error: reqwest::Error) -> Failure {
        let kind = if error.is_timeout() {
            "timeout"
        } else if error.is_connect() {
            "connect"
        } else if error.is_decode() || error.is_body() {
            "body"
        } else {
            "transport"
        };
        Failure(kind.to_owned())
    }
}

/// One worker's connection to the gateway.
pub struct Gateway {
    http: Client,
    base: String,
}

impl Gateway {
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Gateway> {
        let http = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()?;
        Ok(Gateway {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Whether `GET /readyz` answers 200.
    pub async fn ready(&self) -> bool {
        match self.http.get(self.url("/readyz")).send().await {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        }
    }

    /// Sends, then returns the JSON body of a 2xx answer, or the failure
    /// keyed by status and the envelope's first error code.
    async fn call(&self, request: RequestBuilder) -> Result<Value, Failure> {
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            let code = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|envelope| envelope["errors"][0]["code"].as_str().map(str::to_owned));
            return Err(Failure(match code {
                Some(code) => format!("{} {code}", status.as_u16()),
                None => status.as_u16().to_string(),
            }));
        }
        serde_json::from_slice(&body).map_err(|_| Failure::unexpected("body is not JSON"))
    }

    /// `POST /api/oauth/token` as the demo admin: the admin bearer.
    pub async fn admin_login(&self) -> Result<String, Failure> {
        let body = json!({
            "grant_type": "password",
            "client_id": "administration",
            "username": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
        });
        let answer = self
            .call(self.http.post(self.url("/api/oauth/token")).json(&body))
            .await?;
        text(&answer["access_token"], "access_token")
    }

    /// `GET /api/_info/me`: the admin's own id.
    pub async fn admin_id(&self, bearer: &str) -> Result<String, Failure> {
        let answer = self
            .call(self.http.get(self.url("/api/_info/me")).bearer_auth(bearer))
            .await?;
        text(&answer["data"]["id"], "data.id")
    }

    /// `POST /api/_proxy/generate-imitate-customer-token` for alice on Storefront EU.
    pub async fn customer_token(&self, bearer: &str) -> Result<String, Failure> {
        let body = json!({
            "customerId": seed::ALICE.simple().to_string(),
            "salesChannelId": seed::STOREFRONT_EU.simple().to_string(),
        });
        let request = self
            .http
            .post(self.url("/api/_proxy/generate-imitate-customer-token"))
            .bearer_auth(bearer)
            .json(&body);
        let answer = self.call(request).await?;
        text(&answer["token"], "token")
    }

    /// `POST /store-api/account/login/imitate-customer`: the new context token.
    pub async fn imitate_customer(&self, token: &str, admin_id: &str) -> Result<String, Failure> {
        let body = json!({
            "token": token,
            "customerId": seed::ALICE.simple().to_string(),
            "userId": admin_id,
        });
        let request = self
            .http
            .post(self.url("/store-api/account/login/imitate-customer"))
            .header("sw-access-key", seed::STOREFRONT_EU_ACCESS_KEY)
            .json(&body);
        let answer = self.call(request).await?;
        text(&answer["contextToken"], "contextToken")
    }

    /// `POST /api/_action/impersonations/revoke {targetId}`: how many ended.
    pub async fn revoke_target(&self, bearer: &str, target: uuid::Uuid) -> Result<i64, Failure> {
        let request = self
            .http
            .post(self.url("/api/_action/impersonations/revoke"))
            .bearer_auth(bearer)
            .json(&json!({ "targetId": target.simple().to_string(), "reason": "actas-bench" }));
        let answer = self.call(request).await?;
        answer["revoked"]
            .as_i64()
            .ok_or_else(|| Failure::unexpected("no revoked count"))
    }

    /// `GET /store-api/context`, which must say it is impersonated.
    pub async fn context(&self, context_token: &str) -> Result<(), Failure> {
        let request = self
            .http
            .get(self.url("/store-api/context"))
            .header("sw-access-key", seed::STOREFRONT_EU_ACCESS_KEY)
            .header("sw-context-token", context_token);
        let answer = self.call(request).await?;
        if answer["imitated"] != Value::Bool(true) {
            return Err(Failure::unexpected("context not imitated"));
        }
        Ok(())
    }

    /// `POST /store-api/account/logout`: ends the (impersonated) session.
    pub async fn logout(&self, context_token: &str) -> Result<(), Failure> {
        let response = self
            .http
            .post(self.url("/store-api/account/logout"))
            .header("sw-access-key", seed::STOREFRONT_EU_ACCESS_KEY)
            .header("sw-context-token", context_token)
            .send()
            .await?;
        let status = response.status();
        // Drain the body so the connection is reused.
        response.bytes().await?;
        if !status.is_success() {
            return Err(Failure(status.as_u16().to_string()));
        }
        Ok(())
    }

    /// `GET /healthz`: an axum handler behind the gateway's whole HTTP stack
    /// (tracing, metrics, limits), with no downstream call.
    pub async fn healthz(&self) -> Result<(), Failure> {
        let response = self.http.get(self.url("/healthz")).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() || body.as_ref() != b"ok" {
            return Err(Failure(status.as_u16().to_string()));
        }
        Ok(())
    }

    /// `POST /api/public/auth/login` as the team administrator: a public bearer.
    pub async fn team_admin_login(&self) -> Result<String, Failure> {
        let body = json!({ "email": TEAM_ADMIN_EMAIL, "password": TEAM_ADMIN_PASSWORD });
        let answer = self
            .call(self.http.post(self.url("/api/public/auth/login")).json(&body))
            .await?;
        text(&answer["access_token"], "access_token")
    }

    /// `GET /api/public/coworkers/{profile}/impersonate`: a team token.
    pub async fn coworker_token(&self, bearer: &str, profile: i64) -> Result<String, Failure> {
        let request = self
            .http
            .get(self.url(&format!("/api/public/coworkers/{profile}/impersonate")))
            .bearer_auth(bearer);
        let answer = self.call(request).await?;
        text(&answer["token"], "token")
    }

    /// `POST /api/public/auth/login/{token}`, which must answer an impersonated session.
    pub async fn exchange_public(&self, token: &str) -> Result<(), Failure> {
        let answer = self
            .call(
                self.http
                    .post(self.url(&format!("/api/public/auth/login/{token}"))),
            )
            .await?;
        if answer["impersonated"] != Value::Bool(true) || answer["access_token"].as_str().is_none() {
            return Err(Failure::unexpected("session not impersonated"));
        }
        Ok(())
    }
}

fn text(value: &Value, field: &str) -> Result<String, Failure> {
    match value.as_str() {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(Failure::unexpected(&format!("no {field}"))),
    }
}
