//! The real `actas-permission` binary, configured by environment variables: it
//! serves gRPC health, answers `/metrics` on its admin port with its own
//! call and backend metrics, and exits cleanly on SIGTERM.

use actas_shared::testing::{ServiceProcess, free_port, grpc_health, has_sample};

#[tokio::test]
async fn the_binary_serves_health_and_metrics_and_stops_on_sigterm() -> anyhow::Result<()> {
    let grpc = format!("127.0.0.1:{}", free_port()?);
    let mut env = vec![("ACTAS_GRPC_ADDR", grpc.clone())];
    let database = actas_shared::testing::TestDatabase::create().await?;
    env.push(("DATABASE_URL", database.url.clone()));
    let process = ServiceProcess::spawn(env!("CARGO_BIN_EXE_actas-permission"), &env).await?;
    // Serving once the backend probe has run (the process just started).
    let mut status = 0;
    for _ in 0..100 {
        status = grpc_health(&grpc, "actas.v1.PermissionService")
            .await
            .unwrap_or(0);
        if status == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 1, "SERVING");

    // The backend gauge appears once the first probe has finished.
    let mut metrics = process.metrics().await?;
    for _ in 0..100 {
        if has_sample(
            &metrics,
            "actas_backend_up",
            &[("service", "actas-permission")],
            Some("1"),
        ) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        metrics = process.metrics().await?;
    }
    assert!(
        has_sample(
            &metrics,
            "actas_grpc_requests_total",
            &[
                ("service", "actas-permission"),
                ("method", "/grpc.health.v1.Health/Check"),
                ("code", "0")
            ],
            None
        ),
        "{metrics}"
    );
    assert!(
        has_sample(
            &metrics,
            "actas_backend_up",
            &[("service", "actas-permission")],
            Some("1")
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("actas_grpc_request_duration_seconds_bucket"),
        "{metrics}"
    );

    let exit = process.terminate().await?;
    assert!(exit.success(), "graceful exit on SIGTERM: {exit}");
    Ok(())
}
