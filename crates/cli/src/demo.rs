//! `genjob demo`: a mixed batch on an in-process sandbox whose clock runs fast, watched with live
//! progress while its jobs call back a receiver; the same batch, watched by polling alone on a
//! second sandbox at the same time, shows what the callbacks saved.

use crate::cli::DemoArgs;
use crate::commands::sandbox::sandbox_error;
use crate::commands::wait::{JobReport, WatchRun, serve_callbacks, watch_all};
use crate::exit::{CliError, Exit};
use crate::output::{self, LiveProgress};
use crate::sources;
use genjob::callbacks::{ReceiverOptions, Wakes};
use genjob::{
    CancellationToken, DownloadPlan, Environment, JobId, JobStatus, Provider, ScaledEnvironment, WatchOptions,
    WatchTarget, Watcher,
};
use genjob_sandbox::{Failure, JobSpec, RequestStats, Sandbox, SandboxConfig, SimClock};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// Simulated seconds per real second: the slowest demo job (2 min) takes about 4 s.
const SPEED: f64 = 30.0;
const DEMO_TOKEN: &str = "demo-token";

/// The poller's environment on the sandbox's simulated clock, so both share accelerated time.
fn sim_environment(clock: SimClock) -> ScaledEnvironment {
    ScaledEnvironment::new(clock.speed(), rand::random(), move || clock.now())
}

/// One job of the demo batch: what it is and how it is expected to end.
struct DemoJob {
    label: &'static str,
    spec: JobSpec,
    provider: Provider,
    expected: JobStatus,
    /// When its record turns final, from its addition; `None` for the job only the 1-hour rule ends.
    finishes: Option<Duration>,
}

fn batch() -> Vec<DemoJob> {
    let secs = Duration::from_secs;
    let job = |label, spec: JobSpec, provider, expected| {
        let finishes = spec.duration;
        DemoJob { label, spec, provider, expected, finishes }
    };
    vec![
        // The documented examples' times: a Dreamina video took 105 s, an image 37 s.
        job(
            "dreamina video",
            JobSpec::dreamina_video().with_duration(secs(105)),
            Provider::Dreamina,
            JobStatus::Completed,
        ),
        job(
            "dreamina image",
            JobSpec::dreamina_image().with_duration(secs(37)),
            Provider::Dreamina,
            JobStatus::Completed,
        ),
        job(
            "google-flow video (one 429 first)",
            JobSpec::google_flow_video().with_rate_limited(1).with_duration(secs(120)),
            Provider::GoogleFlow,
            JobStatus::Completed,
        ),
        job(
            "token360 video",
            JobSpec::token360_video().with_duration(secs(90)),
            Provider::Token360,
            JobStatus::Completed,
        ),
        job(
            "dreamina video, moderated",
            JobSpec::dreamina_video().failing(Failure::moderation()).with_duration(secs(60)),
            Provider::Dreamina,
            JobStatus::Failed,
        ),
        DemoJob {
            label: "dreamina video, stuck 59m30s",
            spec: JobSpec::dreamina_video().stuck().with_age(secs(59 * 60 + 30)),
            provider: Provider::Dreamina,
            expected: JobStatus::Failed,
            finishes: None,
        },
    ]
}

/// The batch on a sandbox of its own, and the watcher on that sandbox's clock.
struct DemoRun {
    sandbox: Sandbox,
    watcher: Watcher,
    env: Arc<ScaledEnvironment>,
    targets: Vec<WatchTarget>,
    /// When each job was added, in simulated time.
    added: Vec<Timestamp>,
}

impl DemoRun {
    /// Starts a sandbox with the batch; with `reply_url`, every job calls back there.
    async fn start(jobs: &[DemoJob], reply_url: Option<&str>) -> Result<DemoRun, CliError> {
        let config = SandboxConfig {
            speed: SPEED,
            token: Some(DEMO_TOKEN.to_owned()),
            retry_after_secs: 1,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(([127, 0, 0, 1], 0).into(), config).await.map_err(|e| sandbox_error(&e))?;
        let base = sandbox.base_url();
        let lookup = |name: &str| match name {
            "USEAPI_TOKEN" | "TOKEN360_API_KEY" => Some(DEMO_TOKEN.to_owned()),
            "USEAPI_BASE_URL" | "TOKEN360_BASE_URL" => Some(base.clone()),
            _ => None,
        };
        let clock = sandbox.clock();
        let env = Arc::new(sim_environment(clock.clone()));
        // The budget is counted in simulated time; keep the real request rate the same as a real run's.
        let options = WatchOptions::new().with_requests_per_second(WatchOptions::default().requests_per_second * SPEED);
        let mut watcher = Watcher::new().with_environment(env.clone()).with_options(options);
        for provider in Provider::ALL {
            watcher = watcher.with_source(sources::source(provider, &lookup)?);
        }
        let (mut targets, mut added) = (Vec::with_capacity(jobs.len()), Vec::with_capacity(jobs.len()));
        for job in jobs {
            let spec = match reply_url {
                Some(url) => job.spec.clone().with_reply_url(url),
                None => job.spec.clone(),
            };
            added.push(clock.now());
            let raw = sandbox.add_job(spec);
            let id = JobId::parse(&raw).map_err(|e| CliError {
                exit: Exit::InvalidResponse,
                message: format!("the sandbox made an unusable id `{raw}`: {e}"),
            })?;
            targets.push(WatchTarget::with_provider(id, job.provider));
        }
        Ok(DemoRun { sandbox, watcher, env, targets, added })
    }

    /// Watches the batch to the end; the reports and what the run cost and noticed.
    async fn watch(self, jobs: &[DemoJob], run: WatchRun) -> Result<(Vec<JobReport>, RunSummary), CliError> {
        let started = self.env.now();
        let reports = watch_all(&self.watcher, self.targets, run).await?;
        // How long after its record turned final each job was reported, in simulated time.
        let latencies: Vec<f64> = jobs
            .iter()
            .zip(&reports)
            .zip(&self.added)
            .filter_map(|((job, report), added)| {
                let finished = report.finished()?;
                let truth = added.checked_add(job.finishes?).ok()?;
                let reported = started.checked_add(finished.elapsed).ok()?;
                Some(reported.duration_since(truth).as_secs_f64())
            })
            .collect();
        let stats = self.sandbox.stats();
        self.sandbox.shutdown().await;
        let mean_latency_s = latencies.iter().sum::<f64>() / latencies.len().max(1) as f64;
        Ok((reports, RunSummary { stats, mean_latency_s, measured: latencies.len() }))
    }
}

/// What one run cost and how soon it noticed finished jobs.
struct RunSummary {
    stats: RequestStats,
    /// Mean simulated seconds from a job's record turning final to its report.
    mean_latency_s: f64,
    /// Jobs the mean is over (those that finish on their own).
    measured: usize,
}

impl RunSummary {
    /// Requests that asked about jobs: record reads and listings, not file downloads.
    fn status_requests(&self) -> u64 {
        self.stats.total.saturating_sub(self.stats.files).saturating_sub(self.stats.token360_content)
    }
}

/// Serves a callback receiver on 127.0.0.1 (until `stop`); returns its URL, secret included.
async fn start_receiver(stop: CancellationToken) -> Result<(String, Wakes), CliError> {
    // The secret in the path is how a receiver open to the internet keeps strangers out.
    let secret = format!("{:016x}", rand::random::<u64>());
    let options = ReceiverOptions::new().with_secret(secret.clone());
    let (addr, wakes) = serve_callbacks(([127, 0, 0, 1], 0).into(), options, stop).await.map_err(|e| CliError {
        exit: Exit::Network,
        message: format!("cannot listen for the demo's callbacks on 127.0.0.1: {e}"),
    })?;
    Ok((format!("http://{addr}/hooks/{secret}"), wakes))
}

/// Runs `genjob demo`: exit 0 when every job of both runs ended as the demo expects (failures included).
pub async fn run(args: DemoArgs) -> Result<Exit, CliError> {
    // The demo's own files from an earlier run are replaced rather than piled up.
    let plan = DownloadPlan::new(&args.out).with_overwrite(true);
    plan.check_dir().map_err(|e| CliError {
        exit: Exit::Usage,
        message: format!("cannot write to {}: {e}; pass a writable --out DIR", args.out.display()),
    })?;
    let jobs = batch();
    let stop = CancellationToken::new();
    let (hook, wakes) = start_receiver(stop.clone()).await?;
    let pushed = DemoRun::start(&jobs, Some(&hook)).await?;
    let polled = DemoRun::start(&jobs, None).await?;

    output::stdout_line(&format!(
        "genjob demo: {} jobs on a sandbox at {}, simulated time running {SPEED}× faster, calling back \
         {hook} (their replyUrl)\nthe same batch runs meanwhile on a second sandbox without callbacks \
         (polling alone), for comparison",
        jobs.len(),
        pushed.sandbox.base_url(),
    ))?;
    let ids: Vec<String> = jobs.iter().map(|j| j.label.to_owned()).collect();
    let progress = LiveProgress::new(&ids, true, " (sim)");
    let push_run =
        WatchRun { json: false, progress, download: Some(plan), cancel: None, callbacks: Some(wakes), timeout: None };
    let quiet = LiveProgress::new(&ids, false, "");
    let poll_run =
        WatchRun { json: false, progress: quiet, download: None, cancel: None, callbacks: None, timeout: None };
    let (push_result, poll_result) = tokio::join!(pushed.watch(&jobs, push_run), polled.watch(&jobs, poll_run));
    stop.cancel();
    let ((reports, push), (poll_reports, poll)) = (push_result?, poll_result?);

    let rows: Vec<Vec<String>> = jobs.iter().zip(&reports).map(|(job, report)| row(job.label, report)).collect();
    output::stdout_line(&output::table(
        &["job", "provider", "status", "time (sim)", "polls", "files / reason"],
        &rows,
    ))?;
    let stats = push.stats;
    output::stdout_line(&format!(
        "\nthe sandbox saw {} requests: {} Dreamina video reads, {} image reads, {} scheduler listings, \
         {} Google Flow reads, {} token360 reads, {} file downloads ({} with a token: should be 0); \
         answered {} with 429 and {} with 503; sent {} callbacks",
        stats.total,
        stats.dreamina_videos,
        stats.dreamina_images,
        stats.scheduler,
        stats.google_flow,
        stats.token360,
        stats.files,
        stats.files_with_authorization,
        stats.rate_limited_answers,
        stats.server_error_answers,
        stats.callbacks_sent,
    ))?;
    output::stdout_line(&format!("outputs are in {}", args.out.display()))?;
    output::stdout_line(&format!(
        "\npush vs polling, the same {} jobs (latency: from a job's finish to its report, mean over the {} that \
         finish on their own, simulated):\n  with callbacks: {} status requests, latency {:.2} s \
         ({} callbacks, each only a wake-up: the job's record was read before it counted)\n  polling alone:  \
         {} status requests, latency {:.2} s",
        jobs.len(),
        push.measured,
        push.status_requests(),
        push.mean_latency_s,
        stats.callbacks_sent,
        poll.status_requests(),
        poll.mean_latency_s,
    ))?;

    // Expected failures are the point of the demo; only a job that ended otherwise is an error.
    let mut exit = Exit::Success;
    for (run, reports) in [("", &reports), (" (polling alone)", &poll_reports)] {
        for (job, report) in jobs.iter().zip(reports) {
            let outcome = match report.finished().map(|f| f.job.status) {
                Some(status) if status == job.expected => {
                    report.download_error.as_ref().map_or(Exit::Success, |(e, _)| *e)
                }
                Some(_) => Exit::JobFailed,
                None => report.exit(),
            };
            if outcome != Exit::Success {
                eprintln!("genjob demo: `{}`{run} did not end as expected: {}", job.label, report.detail());
            }
            exit = exit.worst(outcome);
        }
    }
    Ok(exit)
}

fn row(label: &str, report: &JobReport) -> Vec<String> {
    let time = report.finished().map_or_else(|| "-".to_owned(), |f| output::human_duration(f.elapsed));
    let files = if report.files.is_empty() || report.download_error.is_some() {
        report.detail()
    } else {
        report
            .files
            .iter()
            .map(|f| {
                let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                format!("{name} ({} B)", f.bytes)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![label.to_owned(), report.provider.to_string(), report.status_word(), time, report.polls(), files]
}
