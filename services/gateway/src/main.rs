//! `actas-gateway`

use actas_gateway::{Application, Config, app::DRAIN_DEADLINE};
use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = actas_shared::config::load()?;
    let _telemetry = actas_shared::telemetry::init("actas-gateway")?;
    actas_shared::metrics::spawn_admin(&config.admin_addr).await?;
    let listener = tokio::net::TcpListener::bind(&config.http_addr)
        .await
        .with_context(|| format!("binding ACTAS_HTTP_ADDR={}", config.http_addr))?;
    let application = Application::build(&config, listener).await?;
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async move {
        actas_shared::grpc::shutdown_signal().await;
        let _ = stopped_tx.send(());
    }));
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result?,
        _ = stopped_rx => {}
    }
    // Drain with a deadline: a stuck connection must not hold the pod.
    match tokio::time::timeout(DRAIN_DEADLINE, server).await {
        Ok(result) => result?,
        Err(_) => anyhow::bail!("in-flight requests did not finish within {DRAIN_DEADLINE:?}"),
    }
}
