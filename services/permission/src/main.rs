//! `actas-permission [serve|migrate|seed-demo]`

use actas_permission::{Application, Config, app, seed, store::SqlDirectory};
use anyhow::Context as _;

/// Each login's argon2 verification takes a 19 MiB block. glibc's malloc
/// kept those blocks after use (the benchmark saw this process peak at
/// 206 MiB, against 54 MiB with its mmap threshold pinned); mimalloc gives
/// them back, so the process stays within hashing threads × 19 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = actas_shared::config::load()?;
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
