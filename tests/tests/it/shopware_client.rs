//! Shopware's own TypeScript client, `@shopware/api-client` (pinned in
//! `tests/clients/shopware/package.json` and its lock file, installed here
//! with `npm ci`), drives the flow as a Shopware frontend and admin tool
//! do: guest context at start-up, context update, the admin's bearer and
//! the one-time token, the exchange, logout, and the bearer's refresh.
//! The script's own checks fail it; this test runs it and reads its steps.

use std::{path::PathBuf, process::Command};

use actas_permission::seed;
use serde_json::Value;

use crate::helpers::{EU_KEY, TestSystem, simple};

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/shopware")
}

/// `npm ci`: exactly the locked versions, from the npm registry.
fn install() {
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(client_dir())
        .output()
        .expect("npm runs (Node.js 20 and npm are prerequisites, see the README)");
    assert!(
        output.status.success(),
        "npm ci failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn shopwares_own_client_gets_through_the_flow_and_around_it() {
    tokio::task::spawn_blocking(install).await.unwrap();
    let system = TestSystem::start().await;
    let base = system.url("");
    let output = tokio::process::Command::new("node")
        .arg("flow.mjs")
        .current_dir(client_dir())
        .env("ACTAS_BASE_URL", base.trim_end_matches('/'))
        .env("ACTAS_ACCESS_KEY", EU_KEY)
        .env("ACTAS_CUSTOMER_ID", simple(seed::ALICE))
        .env("ACTAS_SALES_CHANNEL_ID", simple(seed::STOREFRONT_EU))
        .env("ACTAS_ADMIN_ID", simple(seed::ADMIN))
        .env("ACTAS_ADMIN_EMAIL", "admin@example.com")
        .env("ACTAS_ADMIN_PASSWORD", "admin-demo-password")
        .env("ACTAS_LANGUAGE_ID", "2fbb5fe2e29a4d70aa5854ce7ce3e20b")
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client's flow failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("the script's JSON report");
    assert_eq!(
        report["steps"],
        serde_json::json!([
            "guest context",
            "context update",
            "admin token",
            "login as customer",
            "error envelope",
            "logout",
            "admin token refresh",
        ])
    );
    system.stop().await;
}
