//! The real `actas-token-issuer` binary, configured by environment variables: it
//! serves gRPC health, answers `/metrics` on its admin port with its own
//! call and backend metrics, and exits cleanly on SIGTERM; a malformed
//! `ACTAS_VERIFICATION_KEYS_PEM` stops it at start, named and not echoed.

use std::time::Duration;

use actas_shared::testing::check_grpc_service_binary;
use anyhow::Context as _;

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

#[tokio::test]
async fn the_binary_refuses_a_malformed_verification_keys_pem_naming_it() -> anyhow::Result<()> {
    // A private key where public keys belong: a likely operator mistake.
    let key = crate::keys::TestKey::new(1);
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_actas-token-issuer"))
            .env("ACTAS_VERIFICATION_KEYS_PEM", &key.private_pem)
            .env("ACTAS_GRPC_ADDR", "127.0.0.1:0")
            .env("ACTAS_ADMIN_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("the binary neither started nor stopped")??;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "it started: {stderr}");
    assert!(stderr.contains("ACTAS_VERIFICATION_KEYS_PEM"), "{stderr}");
    for line in key
        .private_pem
        .lines()
        .filter(|line| line.len() > 8 && !line.starts_with("-----"))
    {
        assert!(
            !stderr.contains(line) && !stdout.contains(line),
            "the key was echoed"
        );
    }
    Ok(())
}
