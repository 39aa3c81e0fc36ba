//! The scenarios: what a worker sets up once, and what one flow is.

use std::sync::Arc;

use actas_permission::seed;
use serde::Serialize;

use crate::bench::{
    gateway::{ADMIN_EMAIL, ADMIN_PASSWORD, Failure, Gateway},
    in_process::InProcess,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Admin generates a token, the storefront redeems it, the new context is read once.
    LoginAsCustomer,
    /// An impersonated session reads its context: the hot path of every storefront request.
    ContextRead,
    /// The whole impersonation cycle: the admin generates a token, the
    /// storefront exchanges it, the context is read once showing the mark,
    /// and the impersonated session logs out.
    ImpersonationCycle,
    /// A team administrator gets a coworker token and exchanges it.
    Team,
    /// `GET /healthz`: the gateway's HTTP stack with no downstream call,
    /// the yardstick for the context read.
    BareHandler,
    /// The login-as-customer flow with the services' logic called in this
    /// process (no gateway, no gRPC), on the stack's PostgreSQL and Redis:
    /// the yardstick for the cost of the split. Needs `--database-url`.
    InProcessLoginAsCustomer,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::LoginAsCustomer,
        Scenario::ImpersonationCycle,
        Scenario::ContextRead,
        Scenario::Team,
        Scenario::BareHandler,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::LoginAsCustomer => "login-as-customer",
            Scenario::ContextRead => "context-read",
            Scenario::ImpersonationCycle => "impersonation-cycle",
            Scenario::Team => "team",
            Scenario::BareHandler => "bare-handler",
            Scenario::InProcessLoginAsCustomer => "in-process-login-as-customer",
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
    ImpersonationCycle {
        gateway: Gateway,
        admin_bearer: String,
        admin_id: String,
    },
    Team {
        gateway: Gateway,
        team_admin_bearer: String,
    },
    BareHandler {
        gateway: Gateway,
    },
    InProcessLoginAsCustomer {
        stack: Arc<InProcess>,
        admin_token: String,
        admin_id: String,
    },
}

impl Worker {
    /// Logs in (argon2 runs here, outside the measured flows).
    pub async fn set_up(
        scenario: Scenario,
        gateway: Gateway,
        in_process: Option<Arc<InProcess>>,
    ) -> Result<Worker, Failure> {
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
            Scenario::ImpersonationCycle => {
                let admin_bearer = gateway.admin_login().await?;
                let admin_id = gateway.admin_id(&admin_bearer).await?;
                Ok(Worker::ImpersonationCycle {
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
            Scenario::InProcessLoginAsCustomer => {
                let stack =
                    in_process.ok_or_else(|| Failure("the in-process stack needs --database-url".into()))?;
                let (admin_token, admin_id) = stack.admin_login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
                Ok(Worker::InProcessLoginAsCustomer {
                    stack,
                    admin_token,
                    admin_id,
                })
            }
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
            Worker::ImpersonationCycle {
                gateway,
                admin_bearer,
                admin_id,
            } => {
                let token = gateway.customer_token(admin_bearer).await?;
                let context_token = gateway.imitate_customer(&token, admin_id).await?;
                gateway.context(&context_token).await?;
                gateway.logout(&context_token).await
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
            Worker::InProcessLoginAsCustomer {
                stack,
                admin_token,
                admin_id,
            } => stack.login_as_customer(admin_token, admin_id).await,
        }
    }
}
