//! Runs one scenario at one concurrency: every worker sets up, all start
//! together, warm up unmeasured, then run flows until the deadline or the
//! flow count, each recording its latencies in its own histogram.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use hdrhistogram::Histogram;
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

use crate::bench::{
    cpu::{self, Watched},
    gateway::{Failure, Gateway},
    in_process::InProcess,
    report::Summary,
    scenario::{Scenario, Worker},
};

/// When the measured part of a run ends.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    After(Duration),
    /// This many flows, over all workers together.
    Flows(u64),
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub base_url: String,
    pub scenario: Scenario,
    pub concurrency: usize,
    pub warmup: Duration,
    pub stop: Stop,
    pub timeout: Duration,
    /// The services in this process, for the in-process scenario.
    pub in_process: Option<Arc<InProcess>>,
    /// Processes whose CPU time each measured window accounts for.
    pub cpu: Vec<Watched>,
    /// `/proc`'s clock ticks per second (`getconf CLK_TCK`).
    pub clock_ticks: f64,
}

/// Latencies are recorded in microseconds, up to an hour, 3 significant digits.
const HIGHEST_MICROS: u64 = 3_600_000_000;
/// After a failed flow a worker pauses, so a dead stack is not hammered in a tight loop.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

struct Outcome {
    latencies: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    finished: Instant,
}

pub async fn run(plan: &Plan) -> anyhow::Result<Summary> {
    let (ready_tx, mut ready_rx) = mpsc::channel::<()>(plan.concurrency);
    let (start_tx, start_rx) = watch::channel(None::<Instant>);
    let started = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::with_capacity(plan.concurrency);
    for _ in 0..plan.concurrency {
        let gateway = Gateway::new(&plan.base_url, plan.timeout)?;
        workers.push(tokio::spawn(work(
            plan.clone(),
            gateway,
            ready_tx.clone(),
            start_rx.clone(),
            Arc::clone(&started),
        )));
    }
    drop(ready_tx);
    // Every worker reports once, set up or not; then all start at one instant.
    while ready_rx.recv().await.is_some() {}
    let start = Instant::now();
    start_tx.send_replace(Some(start));
    let measured_from = start + plan.warmup;
    // CPU is read when the measured window opens and once every worker is done.
    let cpu_before = if plan.cpu.is_empty() {
        None
    } else {
        tokio::time::sleep_until(measured_from).await;
        Some(cpu::snapshot(&plan.cpu, plan.clock_ticks))
    };

    let mut latencies = new_histogram()?;
    let mut errors = BTreeMap::new();
    let mut finished = measured_from;
    for worker in workers {
        let outcome = worker.await??;
        latencies.add(&outcome.latencies)?;
        for (code, count) in outcome.errors {
            *errors.entry(code).or_insert(0) += count;
        }
        finished = finished.max(outcome.finished);
    }
    let mut summary = Summary::new(
        plan.scenario,
        plan.concurrency,
        finished.saturating_duration_since(measured_from),
        &latencies,
        errors,
    );
    if let Some(before) = cpu_before {
        let after = cpu::snapshot(&plan.cpu, plan.clock_ticks);
        summary.cpu_ms_per_flow = cpu::per_flow(&before, &after, summary.flows);
    }
    Ok(summary)
}

async fn work(
    plan: Plan,
    gateway: Gateway,
    ready: mpsc::Sender<()>,
    mut start: watch::Receiver<Option<Instant>>,
    started: Arc<AtomicU64>,
) -> anyhow::Result<Outcome> {
    let mut latencies = new_histogram()?;
    let mut errors = BTreeMap::new();
    let set_up = Worker::set_up(plan.scenario, gateway, plan.in_process.clone()).await;
    // The runner waits for every worker's word before it starts the clock.
    let _ = ready.send(()).await;
    drop(ready);
    let start = (*start.wait_for(Option::is_some).await?).unwrap_or_else(Instant::now);
    let worker = match set_up {
        Ok(worker) => worker,
        Err(Failure(code)) => {
            errors.insert(format!("setup: {code}"), 1);
            return Ok(Outcome {
                latencies,
                errors,
                finished: start,
            });
        }
    };

    let measured_from = start + plan.warmup;
    // Warm-up: connections, caches and pools settle; latencies are dropped,
    // but an error still fails the run.
    while Instant::now() < measured_from {
        if let Err(Failure(code)) = worker.flow().await {
            *errors.entry(format!("warm-up: {code}")).or_insert(0) += 1;
            tokio::time::sleep(ERROR_BACKOFF).await;
        }
    }
    loop {
        let more = match plan.stop {
            Stop::After(duration) => Instant::now() < measured_from + duration,
            Stop::Flows(count) => started.fetch_add(1, Ordering::Relaxed) < count,
        };
        if !more {
            break;
        }
        let began = Instant::now();
        match worker.flow().await {
            Ok(()) => {
                let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(HIGHEST_MICROS);
                latencies.saturating_record(micros.max(1));
            }
            Err(Failure(code)) => {
                *errors.entry(code).or_insert(0) += 1;
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
    Ok(Outcome {
        latencies,
        errors,
        finished: Instant::now(),
    })
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)?)
}
