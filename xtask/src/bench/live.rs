//! The benchmarks that talk HTTP to the sandbox on 127.0.0.1: batch scale, client overhead and
//! many watched jobs.

use futures::future::BoxFuture;
use genjob::transport::{ApiToken, TransportConfig};
use genjob::{
    Environment, JobId, JobSource, Provider, ScaledEnvironment, WatchEvent, WatchOptions, WatchTarget, Watcher,
};
use genjob_dreamina::DreaminaClient;
use genjob_sandbox::{JobSpec, Sandbox, SandboxConfig, SimClock};
use genjob_token360::Token360Client;
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The bearer token the sandbox requires and the clients send.
const TOKEN: &str = "bench-token";

/// The watcher's environment on the sandbox's accelerated clock, with jitter from `seed`.
pub(super) fn sim_env(clock: SimClock, seed: u64) -> ScaledEnvironment {
    ScaledEnvironment::new(clock.speed(), seed, move || clock.now())
}

pub(super) async fn start_sandbox(speed: f64) -> Result<Sandbox, String> {
    let clock = SimClock::new(speed).map_err(|e| e.to_string())?;
    let config = SandboxConfig { speed, token: Some(TOKEN.to_owned()), clock: Some(clock), ..SandboxConfig::default() };
    Sandbox::start(([127, 0, 0, 1], 0).into(), config).await.map_err(|e| format!("cannot start the sandbox: {e}"))
}

/// Client settings shared by every benchmark: the sandbox's URL and its token (the transport never retries).
pub(super) fn transport(sandbox: &Sandbox) -> Result<TransportConfig, String> {
    let base = url::Url::parse(&format!("{}/", sandbox.base_url())).map_err(|e| format!("sandbox URL: {e}"))?;
    let token = ApiToken::new(TOKEN).map_err(|e| e.to_string())?;
    Ok(TransportConfig::new(base, token))
}

pub(super) fn seconds(t: Timestamp) -> f64 {
    t.as_nanosecond() as f64 / 1e9
}

/// Uniform durations in `[min_s, max_s]` from `seed`.
pub fn uniform_durations(n: usize, min_s: f64, max_s: f64, seed: u64) -> Vec<Duration> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| Duration::from_secs_f64(rng.random_range(min_s..=max_s))).collect()
}

/// Options with a budget generous enough that it never decides when a job is read.
pub(super) fn generous(batch: bool, max_in_flight: usize) -> WatchOptions {
    WatchOptions::new().with_batch(batch).with_requests_per_second(1_000_000.0).with_max_in_flight(max_in_flight)
}

/// One watch of many Dreamina videos.
#[derive(Debug, Clone, Copy)]
pub struct BatchRun {
    /// Jobs watched.
    pub jobs: usize,
    /// Requests the sandbox counted.
    pub requests: u64,
    /// Mean time from a job's completion to the watcher reporting it, in simulated seconds.
    pub mean_latency_s: f64,
    /// Jobs that did not end `completed`.
    pub failures: usize,
    /// Real time the watch took.
    pub real: Duration,
}

/// Watches Dreamina videos of the given durations, all created at once, batched or per job.
pub async fn dreamina_batch(batch: bool, durations: &[Duration], speed: f64, seed: u64) -> Result<BatchRun, String> {
    batch_run(Provider::Dreamina, batch, durations, speed, seed).await
}

/// Watches token360 videos of the given durations, all created at once, batched (the paginated
/// video list) or per job.
pub async fn token360_batch(batch: bool, durations: &[Duration], speed: f64, seed: u64) -> Result<BatchRun, String> {
    batch_run(Provider::Token360, batch, durations, speed, seed).await
}

async fn batch_run(
    provider: Provider,
    batch: bool,
    durations: &[Duration],
    speed: f64,
    seed: u64,
) -> Result<BatchRun, String> {
    let sandbox = start_sandbox(speed).await?;
    let clock = sandbox.clock();
    let mut targets = Vec::with_capacity(durations.len());
    let mut completions = Vec::with_capacity(durations.len());
    for &d in durations {
        let created_ms = clock.now_ms();
        let spec = match provider {
            Provider::Token360 => JobSpec::token360_video(),
            _ => JobSpec::dreamina_video(),
        };
        let id = sandbox.add_job(spec.with_duration(d));
        completions.push(created_ms as f64 / 1e3 + d.as_secs_f64());
        let id: JobId = id.parse().map_err(|e| format!("sandbox id `{id}`: {e}"))?;
        targets.push(WatchTarget::with_provider(id, provider));
    }
    let source: Arc<dyn JobSource> = match provider {
        Provider::Token360 => Arc::new(Token360Client::new(transport(&sandbox)?).map_err(|e| e.to_string())?),
        _ => Arc::new(DreaminaClient::new(transport(&sandbox)?).map_err(|e| e.to_string())?),
    };
    let env = Arc::new(sim_env(clock, seed));
    let watcher = Watcher::new().with_source(source).with_environment(env.clone()).with_options(generous(batch, 64));
    let started = Instant::now();
    let mut watch = watcher.watch(targets);
    let (mut latency, mut failures) = (0.0, 0usize);
    while let Some(event) = watch.next_event().await {
        if let WatchEvent::Ended(f) = event {
            latency += seconds(env.now()) - completions[f.index];
            if !f.result.as_ref().is_ok_and(|j| j.is_completed()) {
                failures += 1;
            }
        }
    }
    let real = started.elapsed();
    let requests = sandbox.stats().total;
    sandbox.shutdown().await;
    Ok(BatchRun {
        jobs: durations.len(),
        requests,
        mean_latency_s: latency / durations.len().max(1) as f64,
        failures,
        real,
    })
}

/// Status checks per second: genjob's whole stack vs a bare reqwest + `Value` loop.
#[derive(Debug, Clone, Copy)]
pub struct Overhead {
    /// `Token360Client::video` calls per second.
    pub genjob_per_s: f64,
    /// Bare GET + `serde_json::from_slice::<Value>` per second.
    pub bare_per_s: f64,
}

/// Alternates `rounds` rounds of each side, `round` long each, against one completed token360 task.
pub async fn overhead(rounds: usize, round: Duration) -> Result<Overhead, String> {
    let sandbox = start_sandbox(1.0).await?;
    let raw = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(60)).with_age(Duration::from_secs(3600)));
    let id: JobId = raw.parse().map_err(|e| format!("sandbox id `{raw}`: {e}"))?;
    let config = transport(&sandbox)?;
    let client = Token360Client::new(config.clone()).map_err(|e| e.to_string())?;
    // The same settings the transport gives its reqwest client.
    let bare = reqwest::Client::builder()
        .user_agent(config.user_agent())
        .connect_timeout(config.connect_timeout())
        .timeout(config.request_timeout().unwrap_or(Duration::from_secs(30)))
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .map_err(|e| format!("cannot build the bare client: {e}"))?;
    let url = format!("{}/v1/videos/{raw}", sandbox.base_url());
    let authorization = format!("Bearer {TOKEN}");

    let genjob_once = || async {
        let fetched = client.video(&id).await.map_err(|e| format!("genjob read failed: {e}"))?;
        std::hint::black_box(fetched);
        Ok::<(), String>(())
    };
    let bare_once = || async {
        let response = bare
            .get(&url)
            .header(reqwest::header::AUTHORIZATION, &authorization)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("bare read failed: {e}"))?;
        let body = response.bytes().await.map_err(|e| format!("bare read failed: {e}"))?;
        let value = serde_json::from_slice::<serde_json::Value>(&body).map_err(|e| format!("bare decode: {e}"))?;
        std::hint::black_box(value);
        Ok::<(), String>(())
    };

    // Warm-up: connections open, caches hot.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(300) {
        genjob_once().await?;
        bare_once().await?;
    }
    let (mut g_ops, mut g_time, mut b_ops, mut b_time) = (0u64, Duration::ZERO, 0u64, Duration::ZERO);
    for r in 0..rounds * 2 {
        let start = Instant::now();
        let mut ops = 0u64;
        while start.elapsed() < round {
            if r % 2 == 0 {
                genjob_once().await?;
            } else {
                bare_once().await?;
            }
            ops += 1;
        }
        if r % 2 == 0 {
            g_ops += ops;
            g_time += start.elapsed();
        } else {
            b_ops += ops;
            b_time += start.elapsed();
        }
    }
    sandbox.shutdown().await;
    Ok(Overhead {
        genjob_per_s: g_ops as f64 / g_time.as_secs_f64().max(1e-9),
        bare_per_s: b_ops as f64 / b_time.as_secs_f64().max(1e-9),
    })
}

/// Resident memory of this process in bytes (`VmRSS`).
pub fn rss_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("/proc/self/status has no VmRSS line")?;
    let kib: u64 =
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).ok_or_else(|| format!("cannot read `{line}`"))?;
    Ok(kib * 1024)
}

/// CPU time of the calling thread in ns (`/proc/thread-self/schedstat`, nanosecond resolution).
pub fn thread_cpu_ns() -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .map_err(|e| format!("/proc/thread-self/schedstat: {e}"))?;
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("cannot read /proc/thread-self/schedstat: `{text}`"))
}

/// Many watched token360 jobs vs one: memory per job and client CPU per poll.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Jobs watched at once.
    pub jobs: usize,
    /// RSS growth per job from before the targets exist to after every job was read once.
    pub bytes_per_job: f64,
    /// Client-thread CPU per poll, many jobs.
    pub cpu_ns_per_poll_many: f64,
    /// Polls made in the many-jobs watch.
    pub polls_many: u64,
    /// Client-thread CPU per poll, one job at a time.
    pub cpu_ns_per_poll_one: f64,
    /// Polls made in the one-job watches.
    pub polls_one: u64,
    /// Real time of the many-jobs watch.
    pub real_many: Duration,
}

fn token360_watcher(sandbox: &Sandbox, seed: u64) -> Result<Watcher, String> {
    let client = Token360Client::new(transport(sandbox)?).map_err(|e| e.to_string())?;
    Ok(Watcher::new()
        .with_source(Arc::new(client))
        .with_environment(Arc::new(sim_env(sandbox.clock(), seed)))
        .with_options(generous(false, 32)))
}

/// Runs `work` on its own thread with a single-threaded runtime, so that thread's CPU is the client's
/// alone (the sandbox serves from the caller's runtime).
async fn on_client_thread<T, F>(work: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> BoxFuture<'static, Result<T, String>> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build the client runtime: {e}"))?;
        rt.block_on(work())
    })
    .await
    .map_err(|e| format!("the client thread failed: {e}"))?
}

/// Watches `jobs` token360 tasks at once (per-job polling), then `single` tasks one at a time.
pub async fn scale(jobs: usize, speed: f64, single: usize, single_speed: f64, seed: u64) -> Result<Scale, String> {
    let sandbox = Arc::new(start_sandbox(speed).await?);
    let ids: Vec<String> = uniform_durations(jobs, 60.0, 180.0, seed)
        .into_iter()
        .map(|d| sandbox.add_job(JobSpec::token360_video().with_duration(d)))
        .collect();
    let sb = Arc::clone(&sandbox);
    let (bytes_per_job, cpu_many, polls_many, real_many) = on_client_thread(move || {
        Box::pin(async move {
            let watcher = token360_watcher(&sb, seed)?;
            let before = rss_bytes()?;
            let cpu0 = thread_cpu_ns()?;
            let requests0 = sb.stats().total;
            let started = Instant::now();
            let mut targets = Vec::with_capacity(ids.len());
            for raw in ids {
                let id: JobId = raw.parse().map_err(|e| format!("sandbox id `{raw}`: {e}"))?;
                targets.push(WatchTarget::with_provider(id, Provider::Token360));
            }
            let mut watch = watcher.watch(targets);
            let (mut read_once, mut after) = (0usize, None);
            while let Some(event) = watch.next_event().await {
                let first = match &event {
                    WatchEvent::Progress(p) => p.polls == 1,
                    WatchEvent::Ended(_) => true,
                    _ => false,
                };
                if first {
                    read_once += 1;
                    if read_once == jobs {
                        after = Some(rss_bytes()?);
                    }
                }
            }
            let cpu = thread_cpu_ns()?.saturating_sub(cpu0);
            let polls = sb.stats().total - requests0;
            let grown = after.unwrap_or(before).saturating_sub(before);
            Ok((grown as f64 / jobs.max(1) as f64, cpu, polls, started.elapsed()))
        })
    })
    .await?;
    drop(sandbox);

    let one = Arc::new(start_sandbox(single_speed).await?);
    let durations = uniform_durations(single, 60.0, 180.0, seed ^ 1);
    let sb = Arc::clone(&one);
    let (cpu_one, polls_one) = on_client_thread(move || {
        Box::pin(async move {
            let watcher = token360_watcher(&sb, seed)?;
            let (mut cpu, mut polls) = (0u64, 0u64);
            for d in durations {
                let raw = sb.add_job(JobSpec::token360_video().with_duration(d));
                let id: JobId = raw.parse().map_err(|e| format!("sandbox id `{raw}`: {e}"))?;
                let cpu0 = thread_cpu_ns()?;
                let requests0 = sb.stats().total;
                watcher
                    .wait(WatchTarget::with_provider(id, Provider::Token360), Duration::from_secs(3600))
                    .await
                    .map_err(|e| format!("single watch: {e}"))?;
                cpu += thread_cpu_ns()?.saturating_sub(cpu0);
                polls += sb.stats().total - requests0;
            }
            Ok((cpu, polls))
        })
    })
    .await?;
    Ok(Scale {
        jobs,
        bytes_per_job,
        cpu_ns_per_poll_many: cpu_many as f64 / polls_many.max(1) as f64,
        polls_many,
        cpu_ns_per_poll_one: cpu_one as f64 / polls_one.max(1) as f64,
        polls_one,
        real_many,
    })
}
