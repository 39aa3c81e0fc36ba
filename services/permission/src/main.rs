//! `actas-permission [serve|migrate|seed-demo|probe [SERVICE]]`

use actas_permission::{Application, Config, app, seed, store::SqlDirectory};
use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = actas_shared::config::load()?;
    // Before telemetry: a probe runs every few seconds and reports by exit status.
    if std::env::args().nth(1).as_deref() == Some("probe") {
        return actas_shared::grpc::probe::run(&config.grpc_addr, &config.grpc_tls, "permission").await;
    }
    let _telemetry = actas_shared::telemetry::init("actas-permission")?;
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {
            actas_shared::metrics::spawn_admin(&config.admin_addr).await?;
            let listener = tokio::net::TcpListener::bind(&config.grpc_addr)
                .await
                .with_context(|| format!("binding ACTAS_GRPC_ADDR={}", config.grpc_addr))?;
            let application = Application::build(&config, listener).await?;
            application
                .run_until_stopped(actas_shared::grpc::shutdown_signal())
                .await
        }
        Some("migrate") => {
            app::connect(&config).await?.close().await;
            Ok(())
        }
        Some("seed-demo") => {
            let pool = app::connect(&config).await?;
            // The demo storefront domains name the gateway's default port.
            seed::seed_demo(&SqlDirectory::new(pool.clone()), 8080).await?;
            pool.close().await;
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown command {other:?}; expected serve, migrate or seed-demo"),
    }
}
