//! Startup wiring: typed config, the database, and the gRPC server on an
//! injected listener (port 0 in tests).

use std::{future::Future, net::SocketAddr, sync::Arc};

use actas_shared::{db::Pool, grpc, proto::permission_service_server::PermissionServiceServer};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{
    directory::Directory,
    grpc::PermissionGrpc,
    store::{MIGRATIONS, SqlDirectory},
};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `ACTAS_GRPC_ADDR`
    pub grpc_addr: String,
    /// `ACTAS_ADMIN_ADDR`: `/metrics` for Prometheus.
    pub admin_addr: String,
    /// `DATABASE_URL`: `postgres://…` or `sqlite://…`
    pub database_url: String,
    /// `ACTAS_DATABASE_MAX_CONNECTIONS`
    pub database_max_connections: u32,
    /// `ACTAS_GRPC_TLS_CERT`, `ACTAS_GRPC_TLS_KEY`, `ACTAS_GRPC_TLS_CA`:
    /// mutual TLS on the gRPC server and the channels to the other services.
    #[serde(flatten)]
    pub grpc_tls: grpc::TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:50051".into(),
            admin_addr: "127.0.0.1:9101".into(),
            database_url: "sqlite://actas-permission.db".into(),
            database_max_connections: 10,
            grpc_tls: grpc::TlsConfig::default(),
        }
    }
}

pub struct Application {
    listener: TcpListener,
    tls: Option<grpc::Tls>,
    directory: Directory,
    pool: Pool,
}

/// Connects to the database and applies the migrations.
pub async fn connect(config: &Config) -> anyhow::Result<Pool> {
    let pool = Pool::connect(&config.database_url, config.database_max_connections)
        .await
        .context("connecting to the directory database (DATABASE_URL)")?;
    pool.migrate(&MIGRATIONS)
        .await
        .context("migrating the directory database")?;
    Ok(pool)
}

impl Application {
    pub async fn build(config: &Config, listener: TcpListener) -> anyhow::Result<Self> {
        let tls = config.grpc_tls.load()?;
        let pool = connect(config).await?;
        let directory = Directory::new(Arc::new(SqlDirectory::new(pool.clone())));
        Ok(Self {
            listener,
            tls,
            directory,
            pool,
        })
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr()?, "permission service listening");
        // Under mutual TLS a leaf answers only the services that have
        // business with it: the session service and the gateway.
        let routes = Routes::new(PermissionServiceServer::with_interceptor(
            PermissionGrpc::new(self.directory).check_callers(self.tls.is_some()),
            grpc::tls::only_from(self.tls.is_some(), &["session", "gateway"]),
        ));
        grpc::GrpcServer::new("actas-permission", self.listener, routes, self.tls.as_ref())
            .health(
                &["actas.v1.PermissionService"],
                self.pool.probe("actas-permission"),
            )
            .serve(shutdown)
            .await?;
        self.pool.close().await;
        Ok(())
    }
}
