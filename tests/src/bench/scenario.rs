//! The scenarios: what a worker sets up once, and what one flow is.

use actas_permission::seed;
use serde::Serialize;

use crate::bench::gateway::{Failure, Gateway};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Admin generates a token, the storefront redeems it, the new context is read once.
    LoginAsCustomer,
    /// An impersonated session reads its context: the hot path of every storefront request.
    ContextRead,
    /// A team administrator gets a coworker token and exchanges it.
    Team,
    /// `GET /healthz`: the gateway's HTTP stack with no downstream call,
    /// the yardstick for the context read.
    BareHandler,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::LoginAsCustomer,
        Scenario::ContextRead,
        Scenario::Team,
        Scenario::BareHandler,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::LoginAsCustomer => "login-as-customer",
            Scenario::ContextRead => "context-read",
            Scenario::Team => "team",
            Scenario::BareHandler => "bare-handler",
        }
    }
}

/// A worker ready to run flows of one scenario: its logins are done.
pub enum Worker {
    LoginAsCustomer {
        gateway: Gateway,
        admin_bearer: String,
        admin_id: String,
    },
    ContextRead {
        gateway: Gateway,
        context_token: String,
    },
    Team {
        gateway: Gateway,
        team_admin_bearer: String,
    },
    BareHandler {
        gateway: Gateway,
    },
}

impl Worker {
    /// Logs in (argon2 runs here, outside the measured flows).
    pub async fn set_up(scenario: Scenario, gateway: Gateway) -> Result<Worker, Failure> {
        match scenario {
            Scenario::LoginAsCustomer => {
                let admin_bearer = gateway.admin_login().await?;
                let admin_id = gateway.admin_id(&admin_bearer).await?;
                Ok(Worker::LoginAsCustomer {
                    gateway,
                    admin_bearer,
                    admin_id,
                })
            }
            Scenario::ContextRead => {
                let admin_bearer = gateway.admin_login().await?;
                let admin_id = gateway.admin_id(&admin_bearer).await?;
                let token = gateway.customer_token(&admin_bearer).await?;
                let context_token = gateway.imitate_customer(&token, &admin_id).await?;
                Ok(Worker::ContextRead {
                    gateway,
                    context_token,
                })
            }
            Scenario::Team => {
                let team_admin_bearer = gateway.team_admin_login().await?;
                Ok(Worker::Team {
                    gateway,
                    team_admin_bearer,
                })
            }
            Scenario::BareHandler => Ok(Worker::BareHandler { gateway }),
        }
    }

    /// One flow; its latency is what the histogram records.
    pub async fn flow(&self) -> Result<(), Failure> {
        match self {
            Worker::LoginAsCustomer {
                gateway,
                admin_bearer,
                admin_id,
            } => {
                let token = gateway.customer_token(admin_bearer).await?;
                let context_token = gateway.imitate_customer(&token, admin_id).await?;
                gateway.context(&context_token).await
            }
            Worker::ContextRead {
                gateway,
                context_token,
            } => gateway.context(context_token).await,
            Worker::Team {
                gateway,
                team_admin_bearer,
            } => {
                let token = gateway
                    .coworker_token(team_admin_bearer, seed::PROFILE_MAX_ACME)
                    .await?;
                gateway.exchange_public(&token).await
            }
            Worker::BareHandler { gateway } => gateway.healthz().await,
        }
    }
}
