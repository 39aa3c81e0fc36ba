//! The real `actas-token-issuer` binary, configured by environment variables: it
//! serves gRPC health, answers `/metrics` on its admin port with its own
//! call and backend metrics, and exits cleanly on SIGTERM.

use actas_shared::testing::check_grpc_service_binary;

#[tokio::test]
async fn the_binary_serves_health_and_metrics_and_stops_on_sigterm() -> anyhow::Result<()> {
    // The in-memory token store: no backend to set up.
    let env = [];
    check_grpc_service_binary(
        env!("CARGO_BIN_EXE_actas-token-issuer"),
        "actas-token-issuer",
        "actas.v1.TokenIssuer",
        &env,
    )
    .await
}
