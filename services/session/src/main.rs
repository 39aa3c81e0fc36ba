//! `actas-session [serve|migrate|probe [SERVICE]]`

use actas_session::{Application, Config, app};
use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = actas_shared::config::load()?;
    // Before telemetry: a probe runs every few seconds and reports by exit status.
    if std::env::args().nth(1).as_deref() == Some("probe") {
        return actas_shared::grpc::probe::run(&config.grpc_addr, &config.grpc_tls, "session").await;
    }
    let _telemetry = actas_shared::telemetry::init("actas-session")?;
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {
            actas_shared::metrics::spawn_admin(&config.admin_addr).await?;
            let listener = tokio::net::TcpListener::bind(&config.grpc_addr)
                .await
                .with_context(|| format!("binding ACTAS_GRPC_ADDR={}", config.grpc_addr))?;
            Application::build(&config, listener)
                .await?
                .run_until_stopped(actas_shared::grpc::shutdown_signal())
                .await
        }
        Some("migrate") => {
            app::connect(&config).await?.close().await;
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown command {other:?}; expected serve or migrate"),
    }
}
