//! The gateway process on its own: probes answer, errors keep their
//! envelope even with every downstream service away, `/metrics` counts
//! requests by matched route and status, and SIGTERM stops it cleanly; the
//! gRPC TLS variables are read, and a partial set stops it.

use actas_shared::testing::{ServiceProcess, free_port, has_sample};

#[tokio::test]
async fn the_binary_serves_probes_and_metrics_and_stops_on_sigterm() -> anyhow::Result<()> {
    let http_addr = format!("127.0.0.1:{}", free_port()?);
    // Downstream services nobody listens on.
    let nowhere = format!("http://127.0.0.1:{}", free_port()?);
    let env = vec![
        ("ACTAS_HTTP_ADDR", http_addr.clone()),
        ("ACTAS_PERMISSION_URL", nowhere.clone()),
        ("ACTAS_SESSION_URL", nowhere.clone()),
        ("ACTAS_TOKEN_ISSUER_URL", nowhere),
    ];
    let process = ServiceProcess::spawn(env!("CARGO_BIN_EXE_actas-gateway"), &env).await?;
    let base = format!("http://{http_addr}");
    assert_eq!(reqwest::get(format!("{base}/healthz")).await?.status(), 200);
    assert_eq!(reqwest::get(format!("{base}/readyz")).await?.status(), 200);

    let anonymous = reqwest::get(format!("{base}/api/_info/me")).await?;
    assert_eq!(anonymous.status(), 401);
    // With the session service away, a bearer cannot be checked: 503, not 500.
    let unchecked = reqwest::Client::new()
        .get(format!("{base}/api/_info/me"))
        .bearer_auth("some-token")
        .send()
        .await?;
    assert_eq!(unchecked.status(), 503);
    let body: serde_json::Value = unchecked.json().await?;
    assert_eq!(body["errors"][0]["code"], "FRAMEWORK__SERVICE_UNAVAILABLE");

    let metrics = process.metrics().await?;
    for status in ["401", "503"] {
        assert!(
            has_sample(
                &metrics,
                "actas_http_requests_total",
                &[("route", "/api/_info/me"), ("method", "GET"), ("status", status)],
                Some("1")
            ),
            "{metrics}"
        );
    }
    assert!(
        metrics.contains("actas_http_request_duration_seconds_bucket"),
        "{metrics}"
    );

    let exit = process.terminate().await?;
    assert!(exit.success(), "graceful exit on SIGTERM: {exit}");
    Ok(())
}

/// The `ACTAS_GRPC_TLS_*` variables reach the configuration: a partial set
/// stops the process naming what is missing, and files are read at start.
#[tokio::test]
async fn the_binary_reads_the_grpc_tls_variables_and_refuses_a_partial_set() -> anyhow::Result<()> {
    async fn refusal(env: &[(&str, &str)]) -> anyhow::Result<String> {
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            tokio::process::Command::new(env!("CARGO_BIN_EXE_actas-gateway"))
                .envs(env.iter().copied())
                .env("ACTAS_HTTP_ADDR", "127.0.0.1:0")
                .env("ACTAS_ADMIN_ADDR", "127.0.0.1:0")
                .env("RUST_LOG", "warn")
                .kill_on_drop(true)
                .output(),
        )
        .await??;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        anyhow::ensure!(!output.status.success(), "it started: {stderr}");
        Ok(stderr)
    }
    let only_cert = refusal(&[("ACTAS_GRPC_TLS_CERT", "/run/secrets/grpc/tls.crt")]).await?;
    assert!(
        only_cert.contains("ACTAS_GRPC_TLS_KEY and ACTAS_GRPC_TLS_CA are not set"),
        "{only_cert}"
    );
    let unreadable = refusal(&[
        ("ACTAS_GRPC_TLS_CERT", "/nonexistent/tls.crt"),
        ("ACTAS_GRPC_TLS_KEY", "/nonexistent/tls.key"),
        ("ACTAS_GRPC_TLS_CA", "/nonexistent/ca.crt"),
    ])
    .await?;
    assert!(
        unreadable.contains("ACTAS_GRPC_TLS_CERT: cannot read /nonexistent/tls.crt"),
        "{unreadable}"
    );
    Ok(())
}
