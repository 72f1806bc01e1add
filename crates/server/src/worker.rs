//! The worker: every watch in the store is watched by the server's one `Watcher` (one request
//! budget for all), and each change is written to the store before anything else happens. A
//! completed `download: true` watch then has its files kept (its webhook waits for them).
//!
//! SQLite's lease rule is one process per database file (the store's lock), so every unfinished
//! row belongs to this process: at start all are picked up again, files still to be kept included.
//! On a shared store (PostgreSQL) a replica runs only the watches it holds a lease on: it renews
//! them every third of a lease, takes unheld ones up to its fair share, gives up its surplus, and
//! stops a watch the moment its lease is gone (deleted, finished, or taken after a stall). A
//! replica killed mid-run leaves leases that run out within one lease time; then others take them.

use crate::db::{DbError, DownloadState, KeptFile, NewDelivery, Store, WatchRow, WatchState};
use crate::webhook::{FilesOutcome, RetrySchedule, delivery_for};
use genjob::callbacks::{Wake, WakeSender, Wakes};
use genjob::{
    DownloadError, DownloadPlan, Job, JobId, JobStatus, StreamExt, WaitError, WatchEvent, WatchTarget, Watcher,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// After requests kept failing (or a store write did), the watch starts again this much later.
const RETRY_LATER: Duration = Duration::from_secs(60);

/// Wake-ups that may wait for one job's watch: it reads at most once per interval however many come.
const WAKE_CAPACITY: usize = 4;

/// Watches a replica may take beyond its fair share before the next balance (so a watch added
/// through its API starts at once), and holds beyond it before giving some up.
const SHARE_SLACK: usize = 16;

/// How a replica of a shared store holds its watches.
#[derive(Debug, Clone)]
pub(crate) struct Leasing {
    /// This replica's id in the store (random per start).
    pub(crate) replica: String,
    /// How long a lease lasts without renewal.
    pub(crate) lease: Duration,
}

/// Where and how the files of `download: true` watches are kept.
#[derive(Debug, Clone)]
pub(crate) struct Keeping {
    /// The output directory (absolute).
    pub(crate) dir: PathBuf,
    /// When a failed attempt at a job's files is tried again.
    pub(crate) retries: RetrySchedule,
    /// How long one attempt may take.
    pub(crate) timeout: Duration,
}

/// Starts and stops the watches of the store.
#[derive(Debug, Clone)]
pub(crate) struct Worker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    watcher: Watcher,
    keeping: Keeping,
    /// Set on a shared store: this replica runs only the watches it leases.
    leasing: Option<Leasing>,
    /// The fair share of watches at the last balance (shared store).
    share: std::sync::atomic::AtomicUsize,
    /// Wakes the webhook sender when a final state wrote a delivery.
    deliveries: Arc<Notify>,
    shutdown: CancellationToken,
    running: Mutex<Running>,
}

/// One job's task: its start number (telling this start from a later one), its token, the way
/// to wake its current `Watch` (none while it keeps files or waits to start again), and the way
/// to cut that wait short.
#[derive(Debug)]
struct RunningJob {
    start: u64,
    token: CancellationToken,
    wake: Option<WakeSender>,
    nudge: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Running {
    by_job: HashMap<String, RunningJob>,
    started: u64,
    tasks: JoinSet<()>,
}

impl Inner {
    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new `Watch` of the job started (or one ended: `None`): callbacks now wake this one.
    fn set_wake(&self, job_id: &str, start: u64, wake: Option<WakeSender>) {
        if let Some(job) = self.running().by_job.get_mut(job_id).filter(|j| j.start == start) {
            job.wake = wake;
        }
    }
}

impl Worker {
    pub(crate) fn new(
        store: Store,
        watcher: Watcher,
        keeping: Keeping,
        leasing: Option<Leasing>,
        deliveries: Arc<Notify>,
        shutdown: CancellationToken,
    ) -> Worker {
        let share = std::sync::atomic::AtomicUsize::new(0);
        let running = Mutex::default();
        Worker { inner: Arc::new(Inner { store, watcher, keeping, leasing, share, deliveries, shutdown, running }) }
    }

    /// Picks up every unfinished watch and every watch whose files are still to be kept (at
    /// start; on a shared store, this replica's fair share of those no replica holds); returns how many.
    pub(crate) async fn resume_all(&self) -> Result<usize, DbError> {
        if let Some(leasing) = &self.inner.leasing {
            return self.balance(leasing).await;
        }
        let mut rows = self.inner.store.unfinished().await?;
        rows.extend(self.inner.store.files_pending().await?);
        for row in &rows {
            self.start(row);
        }
        Ok(rows.len())
    }

    /// A watch was added through the API: start it here, unless on a shared store this replica
    /// already holds more than its share (then a balance gives it to whichever replica has room).
    pub(crate) fn added(&self, row: &WatchRow) {
        let Some(leasing) = self.inner.leasing.clone() else { return self.start(row) };
        let share = self.inner.share.load(std::sync::atomic::Ordering::Relaxed);
        if self.inner.running().by_job.len() >= share.saturating_add(SHARE_SLACK) {
            return;
        }
        let (worker, job_id) = (self.clone(), row.new.job_id.clone());
        tokio::spawn(async move {
            let claimed = worker.inner.store.claim(&leasing.replica, crate::now_ms(), leasing.lease, 1, Some(&job_id));
            match claimed.await {
                Ok(rows) => rows.iter().for_each(|row| worker.start(row)),
                // The next balance takes it (here or elsewhere).
                Err(e) => tracing::warn!("{job_id}: cannot take its lease now: {e}"),
            }
        });
    }

    /// Shared store: balances every third of a lease until shutdown, then gives every lease up so
    /// the other replicas take the watches at once.
    pub(crate) async fn hold_leases(self) {
        let Some(leasing) = self.inner.leasing.clone() else { return };
        loop {
            tokio::select! {
                () = tokio::time::sleep(leasing.lease / 3) => {}
                () = self.inner.shutdown.cancelled() => break,
            }
            if let Err(e) = self.balance(&leasing).await {
                // The leases run out if this lasts: the watches then go to a replica that can write.
                tracing::error!("cannot renew this replica's leases: {e}");
            }
        }
        self.join().await;
        if let Err(e) = self.inner.store.release(&leasing.replica, None).await {
            tracing::warn!(
                "cannot give up this replica's leases at shutdown (they run out within {:?}): {e}",
                leasing.lease
            );
        }
    }

    /// Renews this replica's leases, stops what it no longer holds, wakes what a callback at another
    /// replica woke, and takes or gives up watches toward its fair share. Returns how many it took.
    async fn balance(&self, leasing: &Leasing) -> Result<usize, DbError> {
        let store = &self.inner.store;
        let (replica, lease) = (leasing.replica.as_str(), leasing.lease);
        let held = store.renew(replica, crate::now_ms(), lease).await?;
        let held_ids: std::collections::HashSet<&str> = held.iter().map(|h| h.job_id.as_str()).collect();
        let running: Vec<String> = self.inner.running().by_job.keys().cloned().collect();
        // A lease gone means another replica may run the job now: stop at once.
        for job_id in running.iter().filter(|id| !held_ids.contains(id.as_str())) {
            self.stop(job_id);
        }
        let running: std::collections::HashSet<String> = self.inner.running().by_job.keys().cloned().collect();
        // Held but not running here (its task ended without a final state): let it be taken again.
        let idle: Vec<String> =
            held.iter().filter(|h| !running.contains(&h.job_id)).map(|h| h.job_id.clone()).collect();
        for h in held.iter().filter(|h| h.woken) {
            if let Ok(id) = h.job_id.parse::<JobId>() {
                self.wake(&id, JobStatus::Unknown);
            }
        }
        let share = store.fair_share(crate::now_ms(), lease).await?;
        self.inner.share.store(share, std::sync::atomic::Ordering::Relaxed);
        let holding = held.len() - idle.len();
        let mut surplus: Vec<String> = Vec::new();
        if holding > share.saturating_add(SHARE_SLACK) {
            surplus = held.iter().filter(|h| running.contains(&h.job_id)).map(|h| h.job_id.clone()).collect();
            surplus.truncate(holding - share);
            for job_id in &surplus {
                self.stop(job_id);
            }
        }
        let released: Vec<String> = idle.into_iter().chain(surplus).collect();
        if !released.is_empty() {
            store.release(replica, Some(released)).await?;
        }
        let room = share.saturating_sub(holding);
        let claimed = store.claim(replica, crate::now_ms(), lease, room, None).await?;
        for row in &claimed {
            self.start(row);
        }
        Ok(claimed.len())
    }

    /// Starts watching a row's job (or keeping its files), unless that already runs or is done.
    pub(crate) fn start(&self, row: &WatchRow) {
        if !row.is_unfinished() || self.inner.shutdown.is_cancelled() {
            return;
        }
        let mut running = self.inner.running();
        while running.tasks.try_join_next().is_some() {}
        if running.by_job.get(&row.new.job_id).is_some_and(|j| !j.token.is_cancelled()) {
            return;
        }
        let token = self.inner.shutdown.child_token();
        running.started += 1;
        let start = running.started;
        let nudge = Arc::new(Notify::new());
        let job = RunningJob { start, token: token.clone(), wake: None, nudge: nudge.clone() };
        running.by_job.insert(row.new.job_id.clone(), job);
        let (inner, row) = (self.inner.clone(), row.clone());
        running.tasks.spawn(async move {
            let job_id = row.new.job_id.clone();
            let task = Task { start, token: token.clone(), nudge };
            run_one(&inner, row, &task).await;
            let mut running = inner.running();
            // Only forget our own entry: a new watch of the same job may have started since.
            if running.by_job.get(&job_id).is_some_and(|j| j.start == start) {
                running.by_job.remove(&job_id);
            }
        });
    }

    /// Stops watching a job (its row is being deleted).
    pub(crate) fn stop(&self, job_id: &str) {
        if let Some(job) = self.inner.running().by_job.remove(job_id) {
            job.token.cancel();
        }
    }

    /// A callback named `id`: if this process watches it, its watch reads the record now (rate
    /// limited by the library); a watch waiting to start again after trouble starts now.
    pub(crate) fn wake(&self, id: &JobId, claimed: JobStatus) {
        let running = self.inner.running();
        let Some(job) = running.by_job.get(id.as_str()) else { return };
        let woken = job.wake.as_ref().is_some_and(|s| s.try_wake(Wake::new(id.clone(), claimed)));
        if !woken && job.wake.is_none() {
            job.nudge.notify_one();
        }
    }

    /// Waits for every watch task to end (after the shutdown token was cancelled).
    pub(crate) async fn join(&self) {
        let mut tasks = std::mem::take(&mut self.inner.running().tasks);
        while tasks.join_next().await.is_some() {}
    }
}

/// What one job's task holds: its start number, its token, and what cuts its waits short.
struct Task {
    start: u64,
    token: CancellationToken,
    nudge: Arc<Notify>,
}

/// One job's task: watch it to its final state if it is still watched, then keep its files if
/// they are owed.
async fn run_one(inner: &Inner, row: WatchRow, task: &Task) {
    let token = &task.token;
    let job = if row.state == WatchState::Watching {
        match watch_one(inner, &row, task).await {
            Some(job) => job,
            None => return,
        }
    } else {
        // Final before this start, files still pending: the job's record was stored with the state.
        match row.job.clone().map(serde_json::from_value::<Job>) {
            Some(Ok(job)) => job,
            _ => {
                let error = "the stored job record does not read back, so its outputs are unknown";
                let files = FilesOutcome { paths: Vec::new(), error: Some(error.to_owned()) };
                let delivery = delivery_for(&row.new, row.state, None, None, Some(&files), crate::now_ms());
                record_failure(inner, &row.new.job_id, error, true, delivery, token).await;
                return;
            }
        }
    };
    keep_files(inner, &row, job, token).await;
}

/// What one run of the library's watch ended with, as the store sees it.
enum Outcome {
    Final { state: WatchState, job: Option<Box<genjob::Job>>, error: Option<String> },
    RetryLater(String),
    Stopped,
}

/// Watches the job until a final state is written; returns its job when its files are owed.
async fn watch_one(inner: &Inner, row: &WatchRow, task: &Task) -> Option<Job> {
    let (start, token) = (task.start, &task.token);
    let job_id = row.new.job_id.clone();
    let target = match WatchTarget::resolve(&job_id, Some(row.new.provider)) {
        Ok(target) => target,
        Err(e) => {
            let outcome = Outcome::Final { state: WatchState::Error, job: None, error: Some(e.to_string()) };
            return match write_outcome(inner, row, outcome, token).await {
                Next::KeepFiles(job) => Some(*job),
                Next::RetryLater | Next::Done => None,
            };
        }
    };
    loop {
        let outcome = watch_until_end(inner, &job_id, start, target.clone(), token).await;
        match write_outcome(inner, row, outcome, token).await {
            Next::KeepFiles(job) => return Some(*job),
            Next::Done => return None,
            Next::RetryLater => {}
        }
        // Watching stopped without a final state: start again a little later, or at a callback.
        tokio::select! {
            () = tokio::time::sleep(RETRY_LATER) => {}
            () = task.nudge.notified() => {}
            () = token.cancelled() => return None,
        }
    }
}

/// Drives one watch of the library until the job ends, writing each progress report.
async fn watch_until_end(
    inner: &Inner,
    job_id: &str,
    start: u64,
    target: WatchTarget,
    token: &CancellationToken,
) -> Outcome {
    // A callback received by this process wakes this watch (a fresh channel per watch: a watch
    // that ends takes its receiving side with it).
    let (wake, wakes): (WakeSender, Wakes) = genjob::callbacks::wakes(WAKE_CAPACITY);
    inner.set_wake(job_id, start, Some(wake));
    let mut watch = inner.watcher.watch(vec![target]).with_cancellation(token.child_token()).with_callbacks(wakes);
    let outcome = drive(inner, job_id, &mut watch).await;
    inner.set_wake(job_id, start, None);
    outcome
}

async fn drive(inner: &Inner, job_id: &str, watch: &mut genjob::Watch) -> Outcome {
    while let Some(event) = watch.next().await {
        match event {
            WatchEvent::Progress(p) => {
                let now = crate::now_ms();
                let next = now.saturating_add(i64::try_from(p.next_delay.as_millis()).unwrap_or(i64::MAX));
                if let Err(e) =
                    inner.store.record_progress(job_id, p.status.as_str(), p.progress, p.polls, next, now).await
                {
                    tracing::error!("{job_id}: cannot record progress: {e}");
                }
            }
            WatchEvent::Ended(ended) => return outcome_of(ended.result),
            _ => {}
        }
    }
    Outcome::Stopped
}

fn outcome_of(result: Result<genjob::FinishedJob, WaitError>) -> Outcome {
    match result {
        Ok(finished) => Outcome::Final { state: WatchState::Completed, job: Some(Box::new(finished.job)), error: None },
        Err(WaitError::JobFailed(finished)) => {
            Outcome::Final { state: WatchState::Failed, job: Some(Box::new(finished.job)), error: None }
        }
        Err(WaitError::Cancelled { .. }) => Outcome::Stopped,
        // Trouble that may pass: the job is not given up, only watched again later. A provider
        // whose token is missing at this start counts too: the next start with it set reads the job.
        Err(e @ (WaitError::TimedOut { .. } | WaitError::RetriesExhausted { .. } | WaitError::NoSource { .. })) => {
            Outcome::RetryLater(e.to_string())
        }
        // Refused for good (404, 410, 401, another provider's id, another job's record …).
        Err(e) => Outcome::Final { state: WatchState::Error, job: None, error: Some(e.to_string()) },
    }
}

/// What a task does after writing an outcome.
enum Next {
    /// Watch the job again later.
    RetryLater,
    /// Nothing more for this job.
    Done,
    /// The job completed and its files are owed.
    KeepFiles(Box<Job>),
}

/// Writes an outcome; says what the task does next.
async fn write_outcome(inner: &Inner, row: &WatchRow, outcome: Outcome, token: &CancellationToken) -> Next {
    let job_id = &row.new.job_id;
    match outcome {
        Outcome::Stopped => Next::Done,
        Outcome::RetryLater(error) => {
            let now = crate::now_ms();
            let at = now.saturating_add(millis(RETRY_LATER));
            if let Err(e) = inner.store.record_retry(job_id, &error, at, now).await {
                tracing::error!("{job_id}: cannot record the retry: {e}");
            }
            Next::RetryLater
        }
        Outcome::Final { state, job, error } => {
            // Files are owed for a completed job; its webhook then waits for them (it carries their paths).
            let keep = row.new.download && state == WatchState::Completed && job.is_some();
            let download = keep.then_some(DownloadState::Pending);
            // A `download: true` watch that ended otherwise says so in its payload: no files.
            let no_files = FilesOutcome::default();
            let files = (row.new.download && !keep).then_some(&no_files);
            // The final state must reach the store: keep trying while the server runs. If it
            // stops first, the row still says `watching` and the next start reads the job again.
            loop {
                let now = crate::now_ms();
                let delivery = if keep {
                    None
                } else {
                    delivery_for(&row.new, state, job.as_deref(), error.as_deref(), files, now)
                };
                let has_delivery = delivery.is_some();
                match inner
                    .store
                    .record_final(job_id, state, job.as_deref().cloned(), error.clone(), download, delivery, now)
                    .await
                {
                    Ok(written) => {
                        if written && has_delivery {
                            inner.deliveries.notify_one();
                        }
                        return match job {
                            Some(job) if written && keep => Next::KeepFiles(job),
                            _ => Next::Done,
                        };
                    }
                    Err(e) => tracing::error!("{job_id}: cannot record its final state: {e}"),
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                    () = token.cancelled() => return Next::Done,
                }
            }
        }
    }
}

/// Keeps a completed job's files in the output directory, complete or absent (the library writes
/// a temporary file and renames it), named as `genjob wait --download` names them; then writes
/// their paths with the webhook that carries them. A failed attempt is tried again on the
/// schedule; past its end (or at once when the job has no file to keep) the watch records why.
/// Cancelled (shutdown, DELETE), the files stay pending in the store for the next start.
async fn keep_files(inner: &Inner, row: &WatchRow, job: Job, token: &CancellationToken) {
    let job_id = &row.new.job_id;
    let target = match WatchTarget::resolve(job_id, Some(row.new.provider)) {
        Ok(target) => target,
        Err(e) => {
            let error = e.to_string();
            let files = FilesOutcome { paths: Vec::new(), error: Some(error.clone()) };
            let delivery =
                delivery_for(&row.new, WatchState::Completed, Some(&job), None, Some(&files), crate::now_ms());
            record_failure(inner, job_id, &error, true, delivery, token).await;
            return;
        }
    };
    let keeping = &inner.keeping;
    let mut failed = row.download_attempts;
    loop {
        // A plan per attempt: never replace a file (one kept before a crash stays, the new copy
        // gets the next free name), and no memory of names grows with the server's lifetime.
        let plan = DownloadPlan::new(&keeping.dir).with_timeout(Some(keeping.timeout));
        let result = tokio::select! {
            result = inner.watcher.download(&target, &job, &plan) => result,
            // Dropping the download removes its temporary file: nothing half-kept.
            () = token.cancelled() => return,
        };
        let error = match result {
            Ok(files) => {
                let kept: Vec<KeptFile> = files
                    .iter()
                    .enumerate()
                    .map(|(position, file)| KeptFile {
                        position,
                        kind: output_kind(&job, position, file.content_type.as_deref()),
                        path: file.path.to_string_lossy().into_owned(),
                    })
                    .collect();
                let outcome = FilesOutcome { paths: kept.iter().map(|k| k.path.clone()).collect(), error: None };
                record_kept(inner, row, &job, kept, &outcome, token).await;
                return;
            }
            Err(e) => e,
        };
        failed = failed.saturating_add(1);
        // No file to keep will not change by asking again; anything else may pass.
        let permanent = matches!(error, DownloadError::NoOutputs { .. } | DownloadError::Vanished { .. });
        let retry_in = if permanent { None } else { keeping.retries.after(failed) };
        let message = error.to_string();
        tracing::warn!("{job_id}: keeping its files failed (attempt {failed}): {message}");
        let delivery = retry_in.is_none().then(|| {
            let files = FilesOutcome { paths: Vec::new(), error: Some(message.clone()) };
            delivery_for(&row.new, WatchState::Completed, Some(&job), None, Some(&files), crate::now_ms())
        });
        if !record_failure(inner, job_id, &message, retry_in.is_none(), delivery.flatten(), token).await {
            return;
        }
        let Some(delay) = retry_in else { return };
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = token.cancelled() => return,
        }
    }
}

/// The name the download client gives a file while it arrives (`.genjob-download-XXXX.part`).
const PART_PREFIX: &str = ".genjob-download-";
const PART_SUFFIX: &str = ".part";

/// Removes the temporary files of downloads that a killed server left in the output directory
/// (a running download removes its own when it fails or is dropped). Only files older than one
/// attempt may last are removed, so no download still under way, here or in another process
/// with the same timeout, loses its file. Returns how many were removed.
pub(crate) fn remove_stale_parts(dir: &std::path::Path, older_than: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(PART_PREFIX) || !name.ends_with(PART_SUFFIX) {
            continue;
        }
        // A symlink or directory of that name is not ours to remove.
        let Ok(meta) = entry.metadata() else { continue };
        let age = meta.modified().ok().and_then(|at| now.duration_since(at).ok());
        if meta.is_file() && age.is_some_and(|age| age > older_than) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The kind of output `position`: as the record lists it, else from the file's content type.
fn output_kind(job: &Job, position: usize, content_type: Option<&str>) -> String {
    let listed = job.outputs.get(position).and_then(|o| serde_json::to_value(o.kind).ok());
    if let Some(serde_json::Value::String(kind)) = listed {
        return kind;
    }
    match content_type.and_then(|t| t.split('/').next()) {
        Some(kind @ ("video" | "image" | "audio")) => kind.to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// Writes the kept files and their webhook, trying again while the server runs (a failed write
/// leaves the files pending: the next start keeps them again, under new names).
async fn record_kept(
    inner: &Inner,
    row: &WatchRow,
    job: &Job,
    kept: Vec<KeptFile>,
    outcome: &FilesOutcome,
    token: &CancellationToken,
) {
    let job_id = &row.new.job_id;
    loop {
        let now = crate::now_ms();
        let delivery = delivery_for(&row.new, WatchState::Completed, Some(job), None, Some(outcome), now);
        let has_delivery = delivery.is_some();
        match inner.store.record_files(job_id, kept.clone(), delivery, now).await {
            Ok(written) => {
                if written && has_delivery {
                    inner.deliveries.notify_one();
                }
                return;
            }
            Err(e) => tracing::error!("{job_id}: cannot record its kept files: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            () = token.cancelled() => return,
        }
    }
}

/// Writes a failed attempt (and, giving up, the reason and its webhook); false when the task
/// should stop: the files are no longer pending (deleted), or the server stops first.
async fn record_failure(
    inner: &Inner,
    job_id: &str,
    error: &str,
    give_up: bool,
    delivery: Option<NewDelivery>,
    token: &CancellationToken,
) -> bool {
    loop {
        let has_delivery = delivery.is_some();
        match inner.store.record_download_failure(job_id, error, give_up, delivery.clone(), crate::now_ms()).await {
            Ok(Some(_)) => {
                if give_up && has_delivery {
                    inner.deliveries.notify_one();
                }
                return true;
            }
            Ok(None) => return false,
            Err(e) => tracing::error!("{job_id}: cannot record the failed download: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            () = token.cancelled() => return false,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
