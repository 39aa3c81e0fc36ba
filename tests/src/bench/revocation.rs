//! The revocation measurement: N live impersonations of one customer, then
//! one `POST /api/_action/impersonations/revoke {targetId}` through the
//! gateway: how long the answer takes, and the CPU each process spends per
//! thousand sessions ended. The sessions are written straight into the
//! stack's session table (making 100,000 through the flow would take
//! minutes), beside one made through the flow, which must be refused after.

use std::{collections::BTreeMap, time::Instant};

use actas_permission::seed;
use anyhow::Context as _;
use serde::Serialize;
use sqlx::Connection as _;

use crate::bench::{
    cpu::{self, Watched},
    gateway::Gateway,
};

/// One revocation of `sessions` live impersonations.
#[derive(Debug, Serialize)]
pub struct Revocation {
    pub sessions: i64,
    pub revoked: i64,
    pub answer_ms: f64,
    /// CPU milliseconds per 1,000 sessions ended, per watched process.
    pub cpu_ms_per_thousand: BTreeMap<String, f64>,
}

impl Revocation {
    pub fn line(&self) -> String {
        let cpu: Vec<String> = self
            .cpu_ms_per_thousand
            .iter()
            .map(|(name, ms)| format!("{name} {ms:.1}"))
            .collect();
        format!(
            "revocation  {:>7} sessions  answered in {:>8.1} ms  ({:.2} ms per 1,000)  cpu ms per 1,000: {}",
            self.sessions,
            self.answer_ms,
            self.answer_ms * 1000.0 / self.sessions as f64,
            cpu.join(", ")
        )
    }
}

const OPEN_IMPERSONATIONS_OF: &str = "SELECT COUNT(*) FROM session WHERE principal_id = $1 \
     AND imitating_user_id IS NOT NULL AND ended_at IS NULL AND expires_at > $2";

/// Revokes `sessions` live impersonations of alice, once per size.
pub async fn run(
    gateway: &Gateway,
    database_url: &str,
    sizes: &[i64],
    watched: &[Watched],
    clock_ticks: f64,
) -> anyhow::Result<Vec<Revocation>> {
    let mut database = sqlx::PgConnection::connect(database_url)
        .await
        .context("connecting to the stack's database")?;
    let fail = |failure: crate::bench::gateway::Failure| anyhow::anyhow!("{}", failure.0);
    let admin = gateway.admin_login().await.map_err(fail)?;
    let admin_id = gateway.admin_id(&admin).await.map_err(fail)?;
    let admin_uuid: uuid::Uuid = admin_id.parse()?;
    let mut runs = Vec::new();
    for &size in sizes {
        anyhow::ensure!(size >= 1, "--revocation-sessions must be at least 1");
        // Earlier scenarios leave impersonations of alice open: end them first.
        gateway.revoke_target(&admin, seed::ALICE).await.map_err(fail)?;
        let token = gateway.customer_token(&admin).await.map_err(fail)?;
        let in_use = gateway.imitate_customer(&token, &admin_id).await.map_err(fail)?;
        let now = chrono::Utc::now().timestamp_millis();
        sqlx::query(actas_e2e::fixtures::INSERT_OPEN_IMPERSONATIONS)
            .bind(seed::ALICE.to_string())
            .bind(seed::STOREFRONT_EU.to_string())
            .bind(admin_uuid.to_string())
            .bind(now)
            .bind(size - 1)
            .execute(&mut database)
            .await?;
        let open: i64 = sqlx::query_scalar(OPEN_IMPERSONATIONS_OF)
            .bind(seed::ALICE.to_string())
            .bind(now)
            .fetch_one(&mut database)
            .await?;
        anyhow::ensure!(open == size, "{open} impersonations open, {size} meant");

        let before = cpu::snapshot(watched, clock_ticks);
        let started = Instant::now();
        let revoked = gateway.revoke_target(&admin, seed::ALICE).await.map_err(fail)?;
        let answer_ms = started.elapsed().as_secs_f64() * 1000.0;
        let after = cpu::snapshot(watched, clock_ticks);
        anyhow::ensure!(revoked == size, "revoked {revoked} of {size}");
        anyhow::ensure!(
            gateway.context(&in_use).await.is_err(),
            "the impersonation in use still answers after its revocation"
        );
        let per_session = cpu::per_flow(&before, &after, u64::try_from(size)?);
        runs.push(Revocation {
            sessions: size,
            revoked,
            answer_ms,
            cpu_ms_per_thousand: per_session
                .into_iter()
                .map(|(name, ms)| (name, ms * 1000.0))
                .collect(),
        });
    }
    Ok(runs)
}

/// The runs as a markdown table.
pub fn markdown(runs: &[Revocation]) -> String {
    let names: Vec<&String> = runs
        .first()
        .map(|run| run.cpu_ms_per_thousand.keys().collect())
        .unwrap_or_default();
    let mut table = String::from("| live impersonations revoked | answer (ms) | ms per 1,000 |");
    for name in &names {
        table.push_str(&format!(" CPU ms per 1,000: {name} |"));
    }
    table.push_str("\n|---:|---:|---:|");
    for _ in &names {
        table.push_str("---:|");
    }
    for run in runs {
        table.push_str(&format!(
            "\n| {} | {:.1} | {:.2} |",
            run.sessions,
            run.answer_ms,
            run.answer_ms * 1000.0 / run.sessions as f64
        ));
        for name in &names {
            table.push_str(&format!(" {:.1} |", run.cpu_ms_per_thousand[*name]));
        }
    }
    table.push('\n');
    table
}
