//! The login-as-customer flow in one process: the same three services'
//! logic (directory, session manager, token issuer, each behind its own gRPC
//! handler) wired to each other with [`Direct`] instead of gRPC clients, on
//! the same PostgreSQL database and Redis as the stack under test. No HTTP,
//! no protobuf encoding, no sockets between services: what is left is the
//! work the flow needs. Through the gateway ÷ this = the cost of the split.

use std::{sync::Arc, time::Duration};

use actas_permission::{Directory, grpc::PermissionGrpc, seed, store::SqlDirectory};
use actas_session::{
    grpc::SessionGrpc,
    sessions::SessionManager,
    store::{SessionStore, SqlSessions},
};
use actas_shared::{
    grpc::calls::Direct,
    principal::PrincipalKind,
    proto::{self, session_service_server::SessionService as _},
};
use actas_token_issuer::{
    grpc::TokenIssuerGrpc,
    issuer::Issuer,
    keys::KeySet,
    store::{RedisStore, TokenStore},
};
use tonic::{Request, Status};

use crate::bench::gateway::Failure;

type Sessions = SessionGrpc<SessionManager>;

/// The three services in this process, on the stack's own backends. The
/// session service calls the other two, which call nobody: built leaves
/// first, nothing bound late.
pub struct InProcess {
    sessions: Arc<Sessions>,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcess")
    }
}

impl InProcess {
    /// Connects to the database the stack uses (migrated and seeded with the
    /// demo directory by it: the flows act as its admin) and to its Redis.
    pub async fn start(database_url: &str, redis_url: &str) -> anyhow::Result<InProcess> {
        let permission_config = actas_permission::Config {
            database_url: database_url.to_owned(),
            ..Default::default()
        };
        let directory_pool = actas_permission::app::connect(&permission_config).await?;
        let directory = Directory::new(Arc::new(SqlDirectory::new(directory_pool)));
        let permission = Arc::new(PermissionGrpc::new(directory));

        let token_config = actas_token_issuer::Config::default();
        let token_store: Arc<dyn TokenStore> = Arc::new(RedisStore::new(redis_url)?);
        let issuer = Issuer::new(
            KeySet::generate()?,
            token_config.token_issuer.clone(),
            Duration::from_secs(token_config.token_ttl_secs),
            // Its own keys: nothing it stores meets the stack's grants.
            format!("{}bench-in-process:", token_config.redis_key_prefix),
            token_store,
        );
        let tokens = Arc::new(TokenIssuerGrpc::new(issuer));

        let session_config = actas_session::Config {
            database_url: database_url.to_owned(),
            ..Default::default()
        };
        let session_pool = actas_session::app::connect(&session_config).await?;
        let store: Arc<dyn SessionStore> = Arc::new(SqlSessions::new(session_pool));
        let manager = SessionManager::new(
            store,
            Arc::new(Direct(permission)),
            Arc::new(Direct(tokens)),
            session_config.lifetimes(),
        );
        let sessions = Arc::new(SessionGrpc::new(manager));
        Ok(InProcess { sessions })
    }

    /// The admin's session token and id (argon2 runs here, outside the flows).
    pub async fn admin_login(&self, email: &str, password: &str) -> Result<(String, String), Failure> {
        let issued = self
            .sessions
            .login(Request::new(proto::LoginRequest {
                kind: PrincipalKind::Admin.to_proto().into(),
                email: email.to_owned(),
                password: password.to_owned(),
                ..Default::default()
            }))
            .await
            .map_err(failure)?
            .into_inner();
        let admin_id = issued
            .context
            .as_ref()
            .map(|context| context.principal_id.clone())
            .ok_or_else(|| Failure("login answered without a context".into()))?;
        Ok((issued.token, admin_id))
    }

    /// One login-as-customer, with the calls the gateway makes: the admin's
    /// session is checked, a token issued, redeemed on the storefront, and
    /// the new context read once.
    pub async fn login_as_customer(&self, admin_token: &str, admin_id: &str) -> Result<(), Failure> {
        let alice = seed::ALICE.to_string();
        self.context(admin_token).await?;
        let issued = self
            .sessions
            .issue_impersonation_token(Request::new(proto::IssueImpersonationTokenRequest {
                actor_session_token: admin_token.to_owned(),
                target_id: alice.clone(),
                sales_channel_id: seed::STOREFRONT_EU.to_string(),
                action: proto::Action::ImitateCustomer.into(),
                client_ip: "127.0.0.1".into(),
                user_agent: "actas-bench".into(),
                ..Default::default()
            }))
            .await
            .map_err(failure)?
            .into_inner();
        let session = self
            .sessions
            .imitate_customer(Request::new(proto::ImitateCustomerRequest {
                token: issued.token,
                customer_id: alice,
                user_id: admin_id.to_owned(),
                sales_channel_id: seed::STOREFRONT_EU.to_string(),
                client_ip: "127.0.0.1".into(),
                user_agent: "actas-bench".into(),
            }))
            .await
            .map_err(failure)?
            .into_inner();
        self.context(&session.token).await
    }

    async fn context(&self, token: &str) -> Result<(), Failure> {
        self.sessions
            .get_context(Request::new(proto::GetContextRequest {
                token: token.to_owned(),
                include_guests: true,
            }))
            .await
            .map_err(failure)?;
        Ok(())
    }
}

/// Counted by gRPC code, as the HTTP scenarios count by status and code.
fn failure(status: Status) -> Failure {
    Failure(format!("grpc {:?}", status.code()))
}
