//! `genjob wait`: watch jobs to their final state, show progress, download outputs, report.

use crate::cli::WaitArgs;
use crate::exit::{CliError, Exit};
use crate::learned;
use crate::output::{self, LiveProgress};
use crate::sources::{self, Lookup};
use futures::StreamExt;
use genjob::{
    CancellationToken, DownloadPlan, Downloaded, FinishedJob, FixedInterval, Provider, SharedEstimates, WaitError,
    WatchEvent, WatchTarget, Watcher, callbacks,
};
use std::net::SocketAddr;
use std::time::Duration;

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
            Ok(_) => Exit::Success,
            Err(e) => Exit::from_wait(e),
        };
        self.download_error.as_ref().map_or(base, |(exit, _)| base.worst(*exit))
    }

    /// The job's final state (completed or failed), when it reached one.
    pub fn finished(&self) -> Option<&FinishedJob> {
        match &self.result {
            Ok(f) => Some(f),
            Err(e) => e.failed_job(),
        }
    }

    /// A short status word for tables.
    pub fn status_word(&self) -> String {
        match (&self.result, self.finished()) {
            (_, Some(f)) => f.job.status.to_string(),
            (Err(e), None) if e.is_timeout() => "timed out".to_owned(),
            (Err(WaitError::Cancelled { .. }), None) => "interrupted".to_owned(),
            _ => "error".to_owned(),
        }
    }

    /// Record reads made, when known.
    pub fn polls(&self) -> String {
        match &self.result {
            Ok(f) => f.polls.to_string(),
            Err(e) => e.polls().map_or_else(|| "-".to_owned(), |p| p.to_string()),
        }
    }

    /// What people want to know last: the files, the failure reason, or the error.
    pub fn detail(&self) -> String {
        if let Some((_, message)) = &self.download_error {
            return format!("download failed: {message}");
        }
        match (&self.result, self.finished()) {
            (Ok(f), _) => {
                if self.files.is_empty() {
                    format!("{} output(s)", f.job.outputs.len())
                } else {
                    self.files.iter().map(|d| d.path.display().to_string()).collect::<Vec<_>>().join(", ")
                }
            }
            // A job failed locally by the 1-hour rule says so in its error detail; no suffix repeats it.
            (Err(_), Some(f)) => output::failure_reason(&f.job),
            (Err(e), None) => e.to_string(),
        }
    }
}

/// What to show and do while watching.
#[derive(Debug)]
pub struct WatchRun {
    /// Print each final job as a JSON line on stdout.
    pub json: bool,
    /// Live progress on stderr.
    pub progress: LiveProgress,
    /// How to download the outputs of completed jobs (its directory already checked).
    pub download: Option<DownloadPlan>,
    /// Cancelled on Ctrl-C: the watch ends, downloads in progress are cut (nothing half-written stays).
    pub cancel: Option<CancellationToken>,
    /// Wake-ups from the callback receiver, when one listens.
    pub callbacks: Option<callbacks::Wakes>,
    /// End the watch this long after it started (`--timeout`).
    pub timeout: Option<Duration>,
}

/// Watches `targets` to the end and downloads outputs as jobs complete; one report per target, in order.
///
/// A `--json` line that cannot be written ends the watch at once (nobody can read the results any
/// more, as when a pipe's reader leaves): requests and downloads in flight are dropped, which removes
/// their temporary files, and the error is returned.
pub async fn watch_all(
    watcher: &Watcher,
    targets: Vec<WatchTarget>,
    mut run: WatchRun,
) -> Result<Vec<JobReport>, CliError> {
    let mut reports: Vec<Option<JobReport>> = (0..targets.len()).map(|_| None).collect();
    let providers: Vec<Provider> = targets.iter().map(|t| t.provider).collect();
    let kept = targets.clone();
    let mut watch = watcher.watch(targets);
    if let Some(timeout) = run.timeout {
        watch = watch.with_timeout(timeout);
    }
    if let Some(plan) = run.download.take() {
        // The directory was checked when the plan was made; a directory gone since fails every job's download.
        watch = match watch.with_downloads(plan) {
            Ok(watch) => watch,
            Err(e) => {
                let refused = |(provider, target): (&Provider, &WatchTarget)| JobReport {
                    id: target.id.to_string(),
                    provider: *provider,
                    result: Err(WaitError::Cancelled { id: target.id.clone() }),
                    files: Vec::new(),
                    download_error: Some((Exit::Usage, e.to_string())),
                };
                return Ok(providers.iter().zip(&kept).map(refused).collect());
            }
        };
    }
    if let Some(cancel) = run.cancel.clone() {
        watch = watch.with_cancellation(cancel);
    }
    if let Some(wakes) = run.callbacks.take() {
        watch = watch.with_callbacks(wakes);
    }
    while let Some(event) = watch.next().await {
        match event {
            WatchEvent::Progress(p) => run.progress.update(&p),
            WatchEvent::Ended(finished) => {
                let index = finished.index;
                let provider = providers.get(index).copied().unwrap_or(Provider::Dreamina);
                let report = JobReport {
                    id: finished.id.to_string(),
                    provider,
                    result: finished.result,
                    files: Vec::new(),
                    download_error: None,
                };
                match report.finished() {
                    Some(job) => {
                        if run.json {
                            let written = output::job_json(&job.job).map(|line| output::stdout_line(&line));
                            match written {
                                Ok(Ok(())) => {}
                                Ok(Err(lost)) => {
                                    run.progress.clear();
                                    return Err(lost);
                                }
                                Err(e) => run.progress.note(&format!("genjob: {e}")),
                            }
                        }
                        let summary = if job.is_completed() {
                            format!("completed · {} polls · {}", job.polls, output::human_duration(job.elapsed))
                        } else {
                            format!("failed · {}", output::failure_reason(&job.job))
                        };
                        run.progress.finish(index, job.is_completed(), &summary);
                    }
                    None => {
                        let message = report.detail();
                        run.progress.note(&format!("genjob: {message}"));
                        run.progress.finish(index, false, &message);
                    }
                }
                if let Some(slot) = reports.get_mut(index) {
                    *slot = Some(report);
                }
            }
            WatchEvent::Downloaded(downloaded) => {
                let Some(Some(report)) = reports.get_mut(downloaded.index) else { continue };
                match downloaded.result {
                    Ok(files) => report.files = files,
                    Err(e) => {
                        run.progress.note(&format!("genjob: {e}"));
                        report.download_error = Some((Exit::from_download(&e), e.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    run.progress.clear();
    // A watch reports every job before it ends, so every slot is filled; skip any that is not.
    Ok(reports.into_iter().flatten().collect())
}

/// Waits for the Unix signal `kind`; never, where it cannot be watched.
#[cfg(unix)]
async fn unix_signal(kind: tokio::signal::unix::SignalKind) {
    match tokio::signal::unix::signal(kind) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

/// Cancels the wait on Ctrl-C, SIGTERM or SIGHUP (the terminal closed, the ssh session dropped): the
/// watch ends and downloads in flight are dropped, which removes their temporary files, so nothing
/// half-written outlives the process.
fn stop_on_signals(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        let (terminate, hang_up) = {
            use tokio::signal::unix::SignalKind;
            (unix_signal(SignalKind::terminate()), unix_signal(SignalKind::hangup()))
        };
        #[cfg(not(unix))]
        let (terminate, hang_up) = (std::future::pending::<()>(), std::future::pending::<()>());
        tokio::select! {
            Ok(()) = tokio::signal::ctrl_c() => eprintln!("genjob: interrupted; stopping the wait"),
            () = terminate => eprintln!("genjob: terminated; stopping the wait"),
            () = hang_up => eprintln!("genjob: hung up (SIGHUP); stopping the wait"),
        }
        cancel.cancel();
    });
}

/// Serves a callback receiver on `addr` until `stop`, answering in the background; the address it
/// bound and the wake-ups it passes on.
pub async fn serve_callbacks(
    addr: SocketAddr,
    options: callbacks::ReceiverOptions,
    stop: CancellationToken,
) -> std::io::Result<(SocketAddr, callbacks::Wakes)> {
    let (receiver, wakes) = callbacks::channel(options);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    // The bounded server: slow or idle connections cannot take the descriptors polling needs.
    tokio::spawn(async move { receiver.serve(listener, stop.cancelled_owned()).await });
    Ok((bound, wakes))
}

/// Starts `wait --listen`'s receiver and says where it listens.
async fn listen(
    addr: SocketAddr,
    secret: Option<String>,
    stop: CancellationToken,
) -> Result<callbacks::Wakes, CliError> {
    let mut options = callbacks::ReceiverOptions::new();
    if let Some(secret) = secret {
        options = options.with_secret(secret);
    }
    let (bound, wakes) = serve_callbacks(addr, options, stop).await.map_err(|e| {
        CliError::usage(format!("cannot listen for callbacks on {addr}: {e}; pass a free --listen ADDR"))
    })?;
    eprintln!("genjob: listening for callbacks on http://{bound}/ (POST a job record to any path)");
    Ok(wakes)
}

/// Runs `genjob wait`.
pub async fn run(args: WaitArgs, lookup: Lookup<'_>) -> Result<Exit, CliError> {
    let targets =
        args.ids.iter().map(|raw| sources::resolve_target(raw, args.provider)).collect::<Result<Vec<_>, _>>()?;
    let cancel = CancellationToken::new();
    stop_on_signals(cancel.clone());
    let mut watcher = Watcher::new();
    // What earlier runs learned about how long jobs take, to plan on and to add to.
    let turned_off = args.no_learn || learned::disabled(lookup);
    let learned_file = if turned_off { None } else { genjob::FileStore::in_cache_dir(lookup) };
    let learning = learned_file.as_ref().map(|store| SharedEstimates::new(learned::load(store, lookup)));
    watcher = match &learning {
        Some(shared) => watcher.with_learning(shared.clone()),
        // Turned off: neither kept nor used, not even within this run.
        None if turned_off => watcher.without_learning(),
        // No cache directory to keep it in: learned within this run only.
        None => watcher,
    };
    for source in sources::sources_for(&targets, lookup)? {
        watcher = watcher.with_source(source);
    }
    if let Some(every) = args.every {
        watcher = watcher.with_policy(std::sync::Arc::new(FixedInterval(every)));
    }
    // The directory is checked before any job is waited on, not after the first one finished.
    let download = match &args.download {
        Some(dir) => {
            let plan = DownloadPlan::new(dir).with_overwrite(args.overwrite).with_timeout(args.download_timeout);
            plan.check_dir().map_err(|e| CliError {
                exit: Exit::Usage,
                message: format!(
                    "cannot write to the download directory {}: {e}; pass a writable --download DIR",
                    dir.display()
                ),
            })?;
            Some(plan)
        }
        None => None,
    };
    let callbacks = match args.listen {
        Some(addr) => Some(listen(addr, args.listen_secret.clone(), cancel.clone()).await?),
        None => None,
    };
    let ids: Vec<String> = targets.iter().map(|t| t.id.to_string()).collect();
    let redactor = crate::redact::Redactor::from_lookup(lookup);
    let progress = LiveProgress::new(&ids, !args.json, "").with_redactor(redactor.clone());
    let reports = watch_all(
        &watcher,
        targets,
        WatchRun { json: args.json, progress, download, cancel: Some(cancel), callbacks, timeout: args.timeout },
    )
    .await;
    // What was learned is kept even when the results could not be printed.
    if let (Some(store), Some(shared)) = (&learned_file, &learning) {
        learned::save(store, &shared.snapshot(), lookup);
    }
    let reports = reports?;
    if !args.json {
        let rows: Vec<Vec<String>> = reports
            .iter()
            .map(|r| {
                let time = match (&r.result, r.finished()) {
                    (_, Some(f)) => output::human_duration(f.elapsed),
                    (Err(WaitError::TimedOut { elapsed, .. }), None) => output::human_duration(*elapsed),
                    _ => "-".to_owned(),
                };
                vec![
                    r.id.clone(),
                    r.provider.to_string(),
                    r.status_word(),
                    r.polls(),
                    time,
                    redactor.redact(&r.detail()),
                ]
            })
            .collect();
        output::stdout_line(&output::table(&["job", "provider", "status", "polls", "time", "detail"], &rows))?;
    }
    Ok(reports.iter().fold(Exit::Success, |worst, r| worst.worst(r.exit())))
}
