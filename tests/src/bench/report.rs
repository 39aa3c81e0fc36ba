//! What a run found, printed for people, as JSON for tools, and as a
//! markdown table for the README's performance section.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::bench::scenario::Scenario;

/// Latencies of successful flows, in microseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub scenario: Scenario,
    pub concurrency: usize,
    /// Successful flows in the measured window.
    pub flows: u64,
    pub elapsed_secs: f64,
    pub flows_per_sec: f64,
    pub latency_us: Latency,
    /// Failed flows (warm-up and setup included), by status and error code.
    pub errors: BTreeMap<String, u64>,
    /// CPU milliseconds per successful flow of each watched process, over
    /// the measured window (empty when none were watched).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cpu_ms_per_flow: BTreeMap<String, f64>,
}

impl Summary {
    pub fn new(
        scenario: Scenario,
        concurrency: usize,
        elapsed: Duration,
        latencies: &Histogram<u64>,
        errors: BTreeMap<String, u64>,
    ) -> Summary {
        let flows = latencies.len();
        let elapsed_secs = elapsed.as_secs_f64();
        Summary {
            scenario,
            concurrency,
            flows,
            elapsed_secs,
            flows_per_sec: if elapsed_secs > 0.0 {
                flows as f64 / elapsed_secs
            } else {
                0.0
            },
            latency_us: Latency {
                p50: latencies.value_at_quantile(0.50),
                p90: latencies.value_at_quantile(0.90),
                p99: latencies.value_at_quantile(0.99),
                max: latencies.max(),
                mean: latencies.mean(),
            },
            errors,
            cpu_ms_per_flow: BTreeMap::new(),
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// One line for the terminal.
    pub fn line(&self) -> String {
        let latency = &self.latency_us;
        format!(
            "{:<18} c={:<4} {:>8} flows in {:>5.1} s = {:>9.1} flows/s   p50 {:>9}  p90 {:>9}  p99 {:>9}  max {:>9}   errors: {}",
            self.scenario.name(),
            self.concurrency,
            self.flows,
            self.elapsed_secs,
            self.flows_per_sec,
            millis(latency.p50),
            millis(latency.p90),
            millis(latency.p99),
            millis(latency.max),
            errors_text(&self.errors),
        )
    }
}

/// A reference rate the flows are compared with, such as pgbench's
/// single-row INSERT transactions per second on the same machine and run.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    pub label: String,
    pub per_sec: f64,
}

/// The markdown table: one row per scenario and concurrency.
pub fn markdown(summaries: &[Summary], baseline: Option<&Baseline>) -> String {
    let mut table = String::new();
    let ratio_header = if baseline.is_some() { " vs baseline |" } else { "" };
    let ratio_rule = if baseline.is_some() { "---:|" } else { "" };
    let _ = writeln!(
        table,
        "| scenario | concurrency | flows/s | p50 | p90 | p99 | max | errors |{ratio_header}"
    );
    let _ = writeln!(table, "|---|---:|---:|---:|---:|---:|---:|---|{ratio_rule}");
    for summary in summaries {
        let latency = &summary.latency_us;
        let ratio = baseline
            .map(|b| format!(" {:.3}× |", summary.flows_per_sec / b.per_sec))
            .unwrap_or_default();
        let _ = writeln!(
            table,
            "| {} | {} | {:.1} | {} | {} | {} | {} | {} |{ratio}",
            summary.scenario.name(),
            summary.concurrency,
            summary.flows_per_sec,
            millis(latency.p50),
            millis(latency.p90),
            millis(latency.p99),
            millis(latency.max),
            errors_text(&summary.errors),
        );
    }
    if let Some(baseline) = baseline {
        let _ = writeln!(
            table,
            "\nBaseline: {} = {:.1}/s; \"vs baseline\" is flows/s divided by it.",
            baseline.label, baseline.per_sec
        );
    }
    let cpu = cpu_table(summaries);
    if !cpu.is_empty() {
        let _ = writeln!(table, "\n{cpu}");
    }
    let ratios = ratios(summaries);
    if !ratios.is_empty() {
        let _ = writeln!(table);
        for line in ratios {
            let _ = writeln!(table, "- {line}");
        }
    }
    table
}

/// CPU milliseconds per flow of each watched process (by name), one row
/// per run; empty when none were watched.
pub fn cpu_table(summaries: &[Summary]) -> String {
    let mut names: Vec<&String> = Vec::new();
    for summary in summaries {
        for name in summary.cpu_ms_per_flow.keys() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        return String::new();
    }
    let mut table = String::new();
    let _ = writeln!(
        table,
        "CPU milliseconds per flow (user + system, from /proc, over the measured window):\n"
    );
    let header: String = names.iter().map(|name| format!(" {name} |")).collect();
    let rule: String = names.iter().map(|_| "---:|").collect();
    let _ = writeln!(table, "| scenario | concurrency |{header} total |");
    let _ = writeln!(table, "|---|---:|{rule}---:|");
    for summary in summaries.iter().filter(|s| !s.cpu_ms_per_flow.is_empty()) {
        let cells: String = names
            .iter()
            .map(|name| {
                summary
                    .cpu_ms_per_flow
                    .get(*name)
                    .map_or(" – |".to_owned(), |ms| format!(" {ms:.3} |"))
            })
            .collect();
        let total: f64 = summary.cpu_ms_per_flow.values().sum();
        let _ = writeln!(
            table,
            "| {} | {} |{cells} {total:.3} |",
            summary.scenario.name(),
            summary.concurrency
        );
    }
    table
}

/// The comparisons the performance targets are stated in, at each
/// concurrency where both sides ran: through the gateway vs in one process
/// (the cost of the split), and the context read vs the bare handler.
pub fn ratios(summaries: &[Summary]) -> Vec<String> {
    let pairs = [
        (
            Scenario::LoginAsCustomer,
            Scenario::InProcessLoginAsCustomer,
            "cost of the split",
        ),
        (
            Scenario::ContextRead,
            Scenario::BareHandler,
            "context read vs bare handler",
        ),
    ];
    let mut lines = Vec::new();
    for (measured, yardstick, what) in pairs {
        for summary in summaries.iter().filter(|s| s.scenario == measured) {
            let Some(reference) = summaries
                .iter()
                .find(|s| s.scenario == yardstick && s.concurrency == summary.concurrency)
            else {
                continue;
            };
            if reference.flows_per_sec > 0.0 {
                lines.push(format!(
                    "{what} at concurrency {}: {} {:.1}/s ÷ {} {:.1}/s = {:.2}",
                    summary.concurrency,
                    measured.name(),
                    summary.flows_per_sec,
                    yardstick.name(),
                    reference.flows_per_sec,
                    summary.flows_per_sec / reference.flows_per_sec
                ));
            }
        }
    }
    lines
}

fn millis(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

fn errors_text(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "0".to_owned();
    }
    errors
        .iter()
        .map(|(code, count)| format!("{count}× {code}"))
        .collect::<Vec<_>>()
        .join(", ")
}
