//! `actas-bench`: a load generator for a running actas stack, driven through
//! the gateway over HTTP. Runs each scenario at each concurrency, prints
//! flows/s and latency percentiles, and fails (exit 1) on any error.
//!
//! ```sh
//! actas-bench --base-url http://127.0.0.1:8080 --concurrency 1,16,64 --duration 10s
//! ```

#[path = "../bench/mod.rs"]
mod bench;

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context as _;
use bench::{
    cpu::Watched,
    gateway::Gateway,
    in_process::InProcess,
    report::{self, Baseline, Summary},
    runner::{self, Plan, Stop},
    scenario::Scenario,
};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Load generator for a running actas stack (through its gateway)")]
struct Args {
    /// The gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Scenarios to run, comma-separated; when omitted, the four through the
    /// gateway, and the in-process one when --database-url is given.
    #[arg(long, value_enum, value_delimiter = ',')]
    scenario: Vec<Scenario>,
    /// Concurrent workers (one HTTP client each), comma-separated for several runs.
    #[arg(long, value_delimiter = ',', default_value = "16")]
    concurrency: Vec<usize>,
    /// Measured time per run (`10s`, `500ms`, `2m`; a bare number is seconds).
    #[arg(long, value_parser = parse_duration, default_value = "10s", conflicts_with = "count")]
    duration: Duration,
    /// Measure this many flows per run instead of a duration.
    #[arg(long)]
    count: Option<u64>,
    /// Unmeasured time per run before measuring.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    warmup: Duration,
    /// Per-request timeout.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    timeout: Duration,
    /// First wait up to this long for `GET /readyz` to answer 200.
    #[arg(long, value_parser = parse_duration)]
    wait_ready: Option<Duration>,
    /// Also write every run's summary as a JSON array to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the results as a markdown table to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// A reference rate per second to compare flows/s with (see --baseline-label).
    #[arg(long)]
    baseline_per_sec: Option<f64>,
    #[arg(long, default_value = "baseline", requires = "baseline_per_sec")]
    baseline_label: String,
    /// The stack's PostgreSQL database, for the in-process scenario: its
    /// services' logic runs in this process on the same database and Redis.
    #[arg(long)]
    database_url: Option<String>,
    /// The stack's Redis, for the in-process scenario.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// A process whose CPU time per flow is reported, as NAME=PID (repeat).
    #[arg(long, value_parser = |text: &str| Watched::parse(text, false))]
    cpu_process: Vec<Watched>,
    /// A process counted with all its descendants, as NAME=PID (repeat):
    /// PostgreSQL's postmaster and its backends.
    #[arg(long, value_parser = |text: &str| Watched::parse(text, true))]
    cpu_tree: Vec<Watched>,
    /// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100.0)]
    clock_ticks: f64,
    /// Instead of the scenarios: revoke this many live impersonations of
    /// one customer at once, comma-separated for several sizes (needs
    /// --database-url: they are written straight into the session table).
    #[arg(long, value_delimiter = ',', requires = "database_url")]
    revocation_sessions: Vec<i64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("actas-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.concurrency.iter().all(|&c| c > 0),
        "--concurrency must be at least 1"
    );
    if let Some(limit) = args.wait_ready {
        wait_ready(&args.base_url, limit).await?;
    }
    if !args.revocation_sessions.is_empty() {
        return revocations(&args).await;
    }
    let scenarios = if args.scenario.is_empty() {
        let mut all = Scenario::ALL.to_vec();
        if args.database_url.is_some() {
            all.insert(1, Scenario::InProcessLoginAsCustomer);
        }
        all
    } else {
        args.scenario.clone()
    };
    let in_process = match (
        &args.database_url,
        scenarios.contains(&Scenario::InProcessLoginAsCustomer),
    ) {
        (Some(url), true) => Some(Arc::new(
            InProcess::start(url, &args.redis_url)
                .await
                .context("starting the in-process services")?,
        )),
        (None, true) => anyhow::bail!("the in-process scenario needs --database-url"),
        (_, false) => None,
    };
    let cpu: Vec<Watched> = args.cpu_process.iter().chain(&args.cpu_tree).cloned().collect();
    let stop = match args.count {
        Some(count) => Stop::Flows(count),
        None => Stop::After(args.duration),
    };

    let mut summaries: Vec<Summary> = Vec::new();
    for &scenario in &scenarios {
        for &concurrency in &args.concurrency {
            let plan = Plan {
                base_url: args.base_url.clone(),
                scenario,
                concurrency,
                warmup: args.warmup,
                stop,
                timeout: args.timeout,
                in_process: in_process.clone(),
                cpu: cpu.clone(),
                clock_ticks: args.clock_ticks,
            };
            let summary = runner::run(&plan).await?;
            println!("{}", summary.line());
            if !summary.cpu_ms_per_flow.is_empty() {
                let parts: Vec<String> = summary
                    .cpu_ms_per_flow
                    .iter()
                    .map(|(name, ms)| format!("{name} {ms:.3}"))
                    .collect();
                let total: f64 = summary.cpu_ms_per_flow.values().sum();
                println!("    cpu ms per flow: {} = {total:.3}", parts.join(", "));
            }
            summaries.push(summary);
        }
    }

    let baseline = args.baseline_per_sec.map(|per_sec| Baseline {
        label: args.baseline_label.clone(),
        per_sec,
    });
    if let Some(path) = &args.json {
        let document = serde_json::json!({ "baseline": baseline, "runs": summaries });
        std::fs::write(path, serde_json::to_vec_pretty(&document)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, report::markdown(&summaries, baseline.as_ref()))
            .with_context(|| format!("writing {}", path.display()))?;
    }

    for line in report::ratios(&summaries) {
        println!("{line}");
    }
    let failed: u64 = summaries.iter().map(Summary::error_count).sum();
    anyhow::ensure!(failed == 0, "{failed} flows failed (see errors above)");
    Ok(())
}

/// `--revocation-sessions`: one revocation per size, with its CPU.
async fn revocations(args: &Args) -> anyhow::Result<()> {
    let gateway = Gateway::new(&args.base_url, args.timeout)?;
    let cpu: Vec<Watched> = args.cpu_process.iter().chain(&args.cpu_tree).cloned().collect();
    let database_url = args.database_url.as_deref().unwrap_or_default();
    let runs = bench::revocation::run(
        &gateway,
        database_url,
        &args.revocation_sessions,
        &cpu,
        args.clock_ticks,
    )
    .await?;
    for run in &runs {
        println!("{}", run.line());
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&runs)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, bench::revocation::markdown(&runs))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn wait_ready(base_url: &str, limit: Duration) -> anyhow::Result<()> {
    let gateway = Gateway::new(base_url, Duration::from_secs(2))?;
    let deadline = tokio::time::Instant::now() + limit;
    while !gateway.ready().await {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{base_url}/readyz did not answer 200 within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// `10s`, `500ms`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_secs) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else if let Some(m) = text.strip_suffix('m') {
        (m, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 10s, 500ms or 2m"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?} is not a non-negative duration"));
    }
    Ok(Duration::from_secs_f64(value * unit_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
