//! `genjob demo`: a mixed batch on an in-process sandbox whose clock runs fast, watched with live progress.

use crate::cli::DemoArgs;
use crate::commands::sandbox::sandbox_error;
use crate::commands::wait::{JobReport, WatchRun, watch_all};
use crate::exit::{CliError, Exit};
use crate::output::{self, LiveProgress};
use crate::sources;
use genjob::{DownloadPlan, JobId, JobStatus, Provider, ScaledEnvironment, WatchOptions, WatchTarget, Watcher};
use genjob_sandbox::{Failure, JobSpec, Sandbox, SandboxConfig, SimClock};
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
}

fn batch() -> Vec<DemoJob> {
    let job = |label, spec, provider, expected| DemoJob { label, spec, provider, expected };
    vec![
        job("dreamina video", JobSpec::dreamina_video(), Provider::Dreamina, JobStatus::Completed),
        job("dreamina image", JobSpec::dreamina_image(), Provider::Dreamina, JobStatus::Completed),
        job(
            "google-flow video (one 429 first)",
            JobSpec::google_flow_video().with_rate_limited(1),
            Provider::GoogleFlow,
            JobStatus::Completed,
        ),
        job("token360 video", JobSpec::token360_video(), Provider::Token360, JobStatus::Completed),
        job(
            "dreamina video, moderated",
            JobSpec::dreamina_video().failing(Failure::moderation()).with_duration(Duration::from_secs(60)),
            Provider::Dreamina,
            JobStatus::Failed,
        ),
        job(
            "dreamina video, stuck 59m30s",
            JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(59 * 60 + 30)),
            Provider::Dreamina,
            JobStatus::Failed,
        ),
    ]
}

/// Runs `genjob demo`: exit 0 when every job ended as the demo expects (failures included).
pub async fn run(args: DemoArgs) -> Result<Exit, CliError> {
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
    // The budget is counted in simulated time; keep the real request rate the same as a real run's.
    let options = WatchOptions::new().with_requests_per_second(WatchOptions::default().requests_per_second * SPEED);
    let mut watcher = Watcher::new().with_environment(Arc::new(sim_environment(clock))).with_options(options);
    for provider in Provider::ALL {
        watcher = watcher.with_source(sources::source(provider, &lookup)?);
    }

    let jobs = batch();
    let mut targets = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let raw = sandbox.add_job(job.spec.clone());
        let id = JobId::parse(&raw).map_err(|e| CliError {
            exit: Exit::InvalidResponse,
            message: format!("the sandbox made an unusable id `{raw}`: {e}"),
        })?;
        targets.push(WatchTarget::with_provider(id, job.provider));
    }
    // The demo's own files from an earlier run are replaced rather than piled up.
    let plan = DownloadPlan::new(&args.out).with_overwrite(true);
    plan.check_dir().map_err(|e| CliError {
        exit: Exit::Usage,
        message: format!("cannot write to {}: {e}; pass a writable --out DIR", args.out.display()),
    })?;

    output::stdout_line(&format!(
        "genjob demo: {} jobs on a sandbox at {base}, simulated time running {SPEED}× faster",
        jobs.len()
    ));
    let ids: Vec<String> = jobs.iter().map(|j| j.label.to_owned()).collect();
    let progress = LiveProgress::new(&ids, true, " (sim)");
    let reports = watch_all(
        &watcher,
        targets,
        WatchRun { json: false, progress, download: Some(plan), cancel: None, callbacks: None },
    )
    .await;

    let rows: Vec<Vec<String>> = jobs.iter().zip(&reports).map(|(job, report)| row(job.label, report)).collect();
    output::stdout_line(&output::table(&["job", "provider", "status", "time (sim)", "polls", "files / reason"], &rows));
    let stats = sandbox.stats();
    output::stdout_line(&format!(
        "\nthe sandbox saw {} requests: {} Dreamina video reads, {} image reads, {} scheduler listings, \
         {} Google Flow reads, {} token360 reads, {} file downloads ({} with a token: should be 0); \
         answered {} with 429 and {} with 503",
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
    ));
    output::stdout_line(&format!("outputs are in {}", args.out.display()));
    sandbox.shutdown().await;

    // Expected failures are the point of the demo; only a job that ended otherwise is an error.
    let mut exit = Exit::Success;
    for (job, report) in jobs.iter().zip(&reports) {
        let outcome = match report.finished().map(|f| f.job.status) {
            Some(status) if status == job.expected => report.download_error.as_ref().map_or(Exit::Success, |(e, _)| *e),
            Some(_) => Exit::JobFailed,
            None => report.exit(),
        };
        if outcome != Exit::Success {
            eprintln!("genjob demo: `{}` did not end as expected: {}", job.label, report.detail());
        }
        exit = exit.worst(outcome);
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
