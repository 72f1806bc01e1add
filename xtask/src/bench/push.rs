//! The push section: a batch of Dreamina videos whose completions call back a receiver on
//! 127.0.0.1, some callbacks lost, against the same batch watched by polling alone.
//!
//! Each job is charged its own record reads plus an equal share of the listing requests, so the
//! jobs whose callback arrived and those whose callback was lost can be costed apart.

use super::live::{generous, seconds, sim_env, start_sandbox, transport, uniform_durations};
use super::{BATCH_JOBS, BATCH_SPEED, Line, SEED, goal, line, round};
use genjob::callbacks::{self, ReceiverOptions};
use genjob::{Environment, JobId, JobSource, Provider, WatchEvent, WatchTarget, Watcher};
use genjob_dreamina::DreaminaClient;
use genjob_sandbox::JobSpec;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The batch section's batch: jobs and the sandbox clock's speed.
const JOBS: usize = BATCH_JOBS;
const SPEED: f64 = BATCH_SPEED;
/// The share of jobs whose callback is lost.
const LOST_SHARE: f64 = 0.1;

/// The goals of issue 12.
const MAX_DELIVERED_LATENCY_S: f64 = 0.5;
const MAX_DELIVERED_REQUESTS: f64 = 1.1;
const MAX_LOST_RATIO: f64 = 2.0;

/// One watch of the batch, with or without callbacks.
#[derive(Debug, Clone)]
struct PushRun {
    /// Per job, in the batch's order: simulated seconds from its completion to the watcher reporting it.
    latency_s: Vec<f64>,
    /// Per job: its own record reads.
    polls: Vec<u32>,
    /// Listing requests the sandbox counted (`/scheduler`), shared equally by every job.
    listings: u64,
    /// Every request the sandbox counted.
    total: u64,
    /// Jobs not reported completed.
    missed: usize,
    /// Genuine callbacks the sandbox sent.
    callbacks_sent: u64,
    /// Real time the watch took.
    real: Duration,
}

impl PushRun {
    /// Requests charged to a job: its own reads and its share of the listings.
    fn requests(&self, index: usize) -> f64 {
        f64::from(self.polls[index]) + self.listings as f64 / self.polls.len().max(1) as f64
    }
}

/// The mean of `f` over the jobs `pick` selects (0 for none).
fn mean_over(jobs: usize, pick: impl Fn(usize) -> bool, f: impl Fn(usize) -> f64) -> f64 {
    let (sum, n) = (0..jobs).filter(|&i| pick(i)).fold((0.0, 0usize), |(s, n), i| (s + f(i), n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Which jobs lose their callback: exactly `share` of them, chosen by `seed`.
fn lost_jobs(jobs: usize, share: f64, seed: u64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..jobs).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut lost = vec![false; jobs];
    let count = (jobs as f64 * share).round() as usize;
    for &i in order.iter().take(count) {
        lost[i] = true;
    }
    lost
}

/// Watches Dreamina videos of the given durations, all created at once, batch watching on. With
/// `lost` given, each job calls back a receiver on 127.0.0.1 when it completes (those marked lost
/// never do) and the watch takes the receiver's wake-ups; without it, polling alone.
async fn run(durations: &[Duration], lost: Option<&[bool]>, seed: u64) -> Result<PushRun, String> {
    let sandbox = start_sandbox(SPEED).await?;
    let clock = sandbox.clock();
    // The receiver is up before any job exists, so no callback can find it missing.
    let receiver = match lost {
        Some(_) => {
            let (receiver, wakes) = callbacks::channel(ReceiverOptions::new());
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|e| format!("cannot bind the callback receiver: {e}"))?;
            let port = listener.local_addr().map_err(|e| format!("callback receiver address: {e}"))?.port();
            let router = receiver.router();
            let server = tokio::spawn(async move { axum::serve(listener, router).await });
            Some((format!("http://127.0.0.1:{port}/hooks"), wakes, server))
        }
        None => None,
    };
    let mut targets = Vec::with_capacity(durations.len());
    let mut completions = Vec::with_capacity(durations.len());
    for (index, &d) in durations.iter().enumerate() {
        let created_ms = clock.now_ms();
        let mut spec = JobSpec::dreamina_video().with_duration(d);
        if let Some((url, _, _)) = &receiver {
            spec = spec.with_reply_url(url.clone());
            if lost.is_some_and(|l| l.get(index).copied().unwrap_or(false)) {
                spec = spec.with_callback_lost();
            }
        }
        let raw = sandbox.add_job(spec);
        completions.push(created_ms as f64 / 1e3 + d.as_secs_f64());
        let id: JobId = raw.parse().map_err(|e| format!("sandbox id `{raw}`: {e}"))?;
        targets.push(WatchTarget::with_provider(id, Provider::Dreamina));
    }
    let source: Arc<dyn JobSource> = Arc::new(DreaminaClient::new(transport(&sandbox)?).map_err(|e| e.to_string())?);
    let env = Arc::new(sim_env(clock, seed));
    let watcher = Watcher::new().with_source(source).with_environment(env.clone()).with_options(generous(true, 64));
    let started = Instant::now();
    let (mut watch, server) = match receiver {
        Some((_, wakes, server)) => (watcher.watch(targets).with_callbacks(wakes), Some(server)),
        None => (watcher.watch(targets), None),
    };
    let jobs = durations.len();
    let (mut latency_s, mut polls, mut completed) = (vec![0.0; jobs], vec![0u32; jobs], vec![false; jobs]);
    while let Some(event) = watch.next_event().await {
        if let WatchEvent::Ended(f) = event {
            latency_s[f.index] = seconds(env.now()) - completions[f.index];
            if let Ok(job) = &f.result {
                polls[f.index] = job.polls;
                completed[f.index] = job.is_completed();
            }
        }
    }
    let real = started.elapsed();
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    if let Some(server) = server {
        server.abort();
    }
    Ok(PushRun {
        latency_s,
        polls,
        listings: stats.scheduler,
        total: stats.total,
        missed: completed.iter().filter(|c| !**c).count(),
        callbacks_sent: stats.callbacks_sent,
        real,
    })
}

/// Runs the section: the batch with callbacks (some lost), then by polling alone.
pub async fn section() -> Result<(Vec<Line>, Value), String> {
    // The batch section's jobs, so the polling-alone figures can be read against it too.
    let durations = uniform_durations(JOBS, 60.0, 180.0, SEED);
    let lost = lost_jobs(JOBS, LOST_SHARE, SEED ^ 0x9054);
    let pushed = run(&durations, Some(&lost), SEED).await?;
    let polled = run(&durations, None, SEED).await?;
    if polled.missed > 0 {
        return Err(format!("push (polling alone): {} of {JOBS} jobs did not complete", polled.missed));
    }
    let is_lost = |i: usize| lost[i];
    let delivered = |i: usize| !lost[i];
    let all = |_: usize| true;
    let (n_lost, n_delivered) = ((0..JOBS).filter(|&i| lost[i]).count(), (0..JOBS).filter(|&i| !lost[i]).count());
    let latency_delivered = mean_over(JOBS, delivered, |i| pushed.latency_s[i]);
    let requests_delivered = mean_over(JOBS, delivered, |i| pushed.requests(i));
    let reads_delivered = mean_over(JOBS, delivered, |i| f64::from(pushed.polls[i]));
    let latency_lost = mean_over(JOBS, is_lost, |i| pushed.latency_s[i]);
    let requests_lost = mean_over(JOBS, is_lost, |i| pushed.requests(i));
    let latency_polled = mean_over(JOBS, all, |i| polled.latency_s[i]);
    let latency_polled_same = mean_over(JOBS, is_lost, |i| polled.latency_s[i]);
    let requests_polled = mean_over(JOBS, all, |i| polled.requests(i));
    let listing_share = pushed.listings as f64 / JOBS as f64;

    let mut lines = vec![
        goal(
            line(
                "push",
                format!("{n_delivered} jobs, callback delivered"),
                format!(
                    "latency mean {latency_delivered:.2} s, {requests_delivered:.3} req/job \
                     ({reads_delivered:.3} reads + {listing_share:.3} listing share)"
                ),
            ),
            format!("≤ {MAX_DELIVERED_LATENCY_S} s at ≤ {MAX_DELIVERED_REQUESTS} req/job"),
            latency_delivered <= MAX_DELIVERED_LATENCY_S && requests_delivered <= MAX_DELIVERED_REQUESTS,
        ),
        goal(
            line(
                "push",
                format!("{n_lost} jobs, callback lost"),
                format!(
                    "latency mean {latency_lost:.2} s, {requests_lost:.3} req/job \
                     (polling alone, same jobs: {latency_polled_same:.2} s)"
                ),
            ),
            format!("≤ {MAX_LOST_RATIO}× polling alone ({:.2} s)", MAX_LOST_RATIO * latency_polled),
            latency_lost <= MAX_LOST_RATIO * latency_polled,
        ),
        goal(
            line(
                "push",
                format!("{JOBS} jobs with callbacks: missed"),
                format!(
                    "{} not completed; {} requests, {} callbacks sent ({:.1} s real)",
                    pushed.missed,
                    pushed.total,
                    pushed.callbacks_sent,
                    pushed.real.as_secs_f64()
                ),
            ),
            "0 missed",
            pushed.missed == 0,
        ),
    ];
    lines.push(line(
        "push",
        format!("{JOBS} jobs, polling alone"),
        format!(
            "latency mean {latency_polled:.2} s, {requests_polled:.3} req/job ({} requests, {:.1} s real)",
            polled.total,
            polled.real.as_secs_f64()
        ),
    ));
    let json = json!({
        "jobs": JOBS,
        "lost_share": round(n_lost as f64 / JOBS as f64, 4),
        "mean_latency_delivered_s": round(latency_delivered, 3),
        "requests_per_job_delivered": round(requests_delivered, 4),
        "mean_latency_lost_s": round(latency_lost, 3),
        "mean_latency_polling_only_s": round(latency_polled, 3),
        "requests_per_job_polling_only": round(requests_polled, 4),
        "missed": pushed.missed,
    });
    Ok((lines, json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lost_jobs_are_exactly_the_share_and_fixed_by_the_seed() {
        let lost = lost_jobs(1_000, 0.1, 7);
        assert_eq!(lost.iter().filter(|l| **l).count(), 100);
        assert_eq!(lost, lost_jobs(1_000, 0.1, 7));
        assert_ne!(lost, lost_jobs(1_000, 0.1, 8));
    }

    #[test]
    fn a_job_is_charged_its_reads_and_an_equal_share_of_the_listings() {
        let run = PushRun {
            latency_s: vec![0.0; 4],
            polls: vec![1, 2, 1, 1],
            listings: 2,
            total: 7,
            missed: 0,
            callbacks_sent: 0,
            real: Duration::ZERO,
        };
        assert_eq!(run.requests(1), 2.5);
        let mean = mean_over(4, |i| i != 1, |i| run.requests(i));
        assert_eq!(mean, 1.5);
        assert_eq!(mean_over(4, |_| false, |i| run.requests(i)), 0.0);
    }
}
