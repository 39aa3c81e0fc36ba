//! The real `actas-permission` binary, configured by environment variables: it
//! serves gRPC health, answers `/metrics` on its admin port with its own
//! call and backend metrics, and exits cleanly on SIGTERM.

use actas_shared::testing::{TestDatabase, check_grpc_service_binary};

#[tokio::test]
async fn the_binary_serves_health_and_metrics_and_stops_on_sigterm() -> anyhow::Result<()> {
    let database = TestDatabase::create().await?;
    let env = [("DATABASE_URL", database.url.clone())];
    check_grpc_service_binary(
        env!("CARGO_BIN_EXE_actas-permission"),
        "actas-permission",
        "actas.v1.PermissionService",
        &env,
    )
    .await
}
