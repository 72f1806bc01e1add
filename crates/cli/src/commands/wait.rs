//! `genjob wait`: watch jobs to their final state, show progress, download outputs, report.

use crate::cli::WaitArgs;
use crate::exit::{CliError, Exit};
use crate::output::{self, LiveProgress};
use crate::sources::{self, Lookup};
use genjob::{
    Downloaded, FinishedJob, FixedInterval, Provider, WaitError, WatchEvent, WatchOptions, WatchTarget, Watcher,
    download_outputs,
};
use std::path::{Path, PathBuf};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How one job's wait ended, with its downloads.
#[derive(Debug)]
pub struct JobReport {
    /// The job id as given.
    pub id: String,
    /// The provider that runs it.
    pub provider: Provider,
    /// The final state, or why there is none.
    pub result: Result<FinishedJob, WaitError>,
    /// Files downloaded for it (empty without `--download`).
    pub files: Vec<Downloaded>,
    /// Why its download failed, with the exit code that failure maps to.
    pub download_error: Option<(Exit, String)>,
}

impl JobReport {
    /// The exit code this job alone would give `genjob wait`.
    pub fn exit(&self) -> Exit {
        let base = match &self.result {
            Ok(finished) if finished.is_completed() => Exit::Success,
            Ok(_) => Exit::JobFailed,
            Err(e) => Exit::from_wait(e),
        };
        self.download_error.as_ref().map_or(base, |(exit, _)| base.worst(*exit))
    }

    /// A short status word for tables.
    pub fn status_word(&self) -> String {
        match &self.result {
            Ok(f) => f.job.status.to_string(),
            Err(e) if e.is_timeout() => "timed out".to_owned(),
            Err(WaitError::Cancelled { .. }) => "interrupted".to_owned(),
            Err(_) => "error".to_owned(),
        }
    }

    /// Polls made, when known.
    pub fn polls(&self) -> String {
        match &self.result {
            Ok(f) => f.polls.to_string(),
            Err(WaitError::TimedOut { polls, .. } | WaitError::Fetch { polls, .. }) => polls.to_string(),
            Err(_) => "-".to_owned(),
        }
    }

    /// What people want to know last: the files, the failure reason, or the error.
    pub fn detail(&self) -> String {
        if let Some((_, message)) = &self.download_error {
            return format!("download failed: {message}");
        }
        match &self.result {
            Ok(f) if f.is_completed() => {
                if self.files.is_empty() {
                    format!("{} output(s)", f.job.outputs.len())
                } else {
                    self.files.iter().map(|d| d.path.display().to_string()).collect::<Vec<_>>().join(", ")
                }
            }
            Ok(f) => {
                let rule = if f.timed_out_locally { " — 1-hour rule, failed locally" } else { "" };
                format!("{}{rule}", output::failure_reason(&f.job))
            }
            Err(e) => e.to_string(),
        }
    }
}

/// What to show and do while watching.
#[derive(Debug)]
pub struct WatchRun<'a> {
    /// Print each final job as a JSON line on stdout.
    pub json: bool,
    /// Live progress on stderr.
    pub progress: LiveProgress,
    /// Where to download the outputs of completed jobs.
    pub download: Option<&'a Path>,
    /// Cancelled on Ctrl-C: the watch ends and downloads in progress are dropped (nothing half-written stays).
    pub cancel: Option<CancellationToken>,
}

/// Watches `targets` to the end and downloads outputs; one report per target, in order.
pub async fn watch_all(watcher: &Watcher, targets: Vec<WatchTarget>, mut run: WatchRun<'_>) -> Vec<JobReport> {
    let mut reports: Vec<Option<JobReport>> = (0..targets.len()).map(|_| None).collect();
    let providers: Vec<Provider> = targets.iter().map(|t| t.provider).collect();
    let mut downloads = JoinSet::new();
    let mut watch = watcher.watch(targets);
    while let Some(event) = watch.next_event().await {
        match event {
            WatchEvent::Progress(p) => run.progress.update(&p),
            WatchEvent::Finished(finished) => {
                let index = finished.index;
                let id = finished.id.to_string();
                let provider = providers.get(index).copied().unwrap_or(Provider::Dreamina);
                match &finished.result {
                    Ok(job) => {
                        if run.json {
                            match output::job_json(&job.job) {
                                Ok(line) => output::stdout_line(&line),
                                Err(e) => run.progress.note(&format!("genjob: {e}")),
                            }
                        }
                        let summary = if job.is_completed() {
                            format!("completed · {} polls · {}", job.polls, output::human_duration(job.elapsed))
                        } else {
                            format!("failed · {}", output::failure_reason(&job.job))
                        };
                        run.progress.finish(index, job.is_completed(), &summary);
                        if let (true, Some(dir), Some(source)) =
                            (job.is_completed(), run.download, watcher.source(provider).cloned())
                        {
                            let (job, dir) = (job.job.clone(), dir.to_path_buf());
                            downloads
                                .spawn(async move { (index, download_outputs(source.as_ref(), &job, &dir).await) });
                        }
                    }
                    Err(e) => {
                        run.progress.note(&format!("genjob: {e}"));
                        run.progress.finish(index, false, &e.to_string());
                    }
                }
                if let Some(slot) = reports.get_mut(index) {
                    *slot = Some(JobReport {
                        id,
                        provider,
                        result: finished.result,
                        files: Vec::new(),
                        download_error: None,
                    });
                }
            }
            _ => {}
        }
    }
    if run.cancel.as_ref().is_some_and(CancellationToken::is_cancelled) {
        // Dropping a download removes its temporary file, so an interrupted download leaves nothing.
        downloads.abort_all();
    }
    while let Some(joined) = downloads.join_next().await {
        let (index, result) = match joined {
            Ok(done) => done,
            Err(e) if e.is_cancelled() => continue,
            Err(e) => {
                run.progress.note(&format!("genjob: a download task stopped unexpectedly: {e}"));
                continue;
            }
        };
        let Some(Some(report)) = reports.get_mut(index) else { continue };
        match result {
            Ok(files) => report.files = files,
            Err(e) => {
                run.progress.note(&format!("genjob: {e}"));
                report.download_error = Some((Exit::from_download(&e), e.to_string()));
            }
        }
    }
    run.progress.clear();
    // A watch ends only when every job has finished, so every slot is filled; skip any that is not.
    reports.into_iter().flatten().collect()
}

/// Runs `genjob wait`.
pub async fn run(args: WaitArgs, lookup: Lookup<'_>) -> Result<Exit, CliError> {
    let targets =
        args.ids.iter().map(|raw| sources::resolve_target(raw, args.provider)).collect::<Result<Vec<_>, _>>()?;
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("genjob: interrupted; stopping the wait");
            on_interrupt.cancel();
        }
    });
    let options = WatchOptions { timeout: args.timeout, cancel: Some(cancel.clone()), ..WatchOptions::default() };
    let mut watcher = Watcher::new().with_options(options);
    for source in sources::sources_for(&targets, lookup)? {
        watcher = watcher.with_source(source);
    }
    if let Some(every) = args.every {
        watcher = watcher.with_policy(std::sync::Arc::new(FixedInterval(every)));
    }
    let download: Option<PathBuf> = args.download.clone();
    if let Some(dir) = &download {
        tokio::fs::create_dir_all(dir).await.map_err(|e| CliError {
            exit: Exit::Usage,
            message: format!(
                "cannot create the download directory {}: {e}; pass a writable --download DIR",
                dir.display()
            ),
        })?;
    }
    let ids: Vec<String> = targets.iter().map(|t| t.id.to_string()).collect();
    let progress = LiveProgress::new(&ids, !args.json, "");
    let reports = watch_all(
        &watcher,
        targets,
        WatchRun { json: args.json, progress, download: download.as_deref(), cancel: Some(cancel) },
    )
    .await;
    if !args.json {
        let rows: Vec<Vec<String>> = reports
            .iter()
            .map(|r| {
                let time = match &r.result {
                    Ok(f) => output::human_duration(f.elapsed),
                    Err(WaitError::TimedOut { elapsed, .. }) => output::human_duration(*elapsed),
                    Err(_) => "-".to_owned(),
                };
                vec![r.id.clone(), r.provider.to_string(), r.status_word(), r.polls(), time, r.detail()]
            })
            .collect();
        output::stdout_line(&output::table(&["job", "provider", "status", "polls", "time", "detail"], &rows));
    }
    Ok(reports.iter().fold(Exit::Success, |worst, r| worst.worst(r.exit())))
}
