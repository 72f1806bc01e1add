//! The worker: every watch in the store is watched by the server's one `Watcher` (one request
//! budget for all), and each change is written to the store before anything else happens.
//!
//! SQLite's lease rule is one process per database file (the store's lock), so every unfinished
//! row belongs to this process: at start all are picked up again.

use crate::db::{DbError, Store, WatchRow, WatchState};
use crate::webhook::delivery_for;
use genjob::{StreamExt, WaitError, WatchEvent, WatchTarget, Watcher};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// After requests kept failing (or a store write did), the watch starts again this much later.
const RETRY_LATER: Duration = Duration::from_secs(60);

/// Starts and stops the watches of the store.
#[derive(Debug, Clone)]
pub(crate) struct Worker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    watcher: Watcher,
    /// Wakes the webhook sender when a final state wrote a delivery.
    deliveries: Arc<Notify>,
    shutdown: CancellationToken,
    running: Mutex<Running>,
}

#[derive(Debug, Default)]
struct Running {
    /// Each running watch's token, with a number telling this start from a later one.
    by_job: HashMap<String, (u64, CancellationToken)>,
    started: u64,
    tasks: JoinSet<()>,
}

impl Worker {
    pub(crate) fn new(store: Store, watcher: Watcher, deliveries: Arc<Notify>, shutdown: CancellationToken) -> Worker {
        Worker { inner: Arc::new(Inner { store, watcher, deliveries, shutdown, running: Mutex::default() }) }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.inner.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Picks up every unfinished watch (at start); returns how many.
    pub(crate) async fn resume_all(&self) -> Result<usize, DbError> {
        let rows = self.inner.store.unfinished().await?;
        for row in &rows {
            self.start(row);
        }
        Ok(rows.len())
    }

    /// Starts watching a row's job, unless it is already watched or final.
    pub(crate) fn start(&self, row: &WatchRow) {
        if row.state != WatchState::Watching || self.inner.shutdown.is_cancelled() {
            return;
        }
        let mut running = self.running();
        while running.tasks.try_join_next().is_some() {}
        if running.by_job.get(&row.new.job_id).is_some_and(|(_, t)| !t.is_cancelled()) {
            return;
        }
        let token = self.inner.shutdown.child_token();
        running.started += 1;
        let start = running.started;
        running.by_job.insert(row.new.job_id.clone(), (start, token.clone()));
        let (inner, row) = (self.inner.clone(), row.clone());
        running.tasks.spawn(async move {
            let job_id = row.new.job_id.clone();
            watch_one(&inner, row, token.clone()).await;
            let mut running = inner.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Only forget our own token: a new watch of the same job may have started since.
            if running.by_job.get(&job_id).is_some_and(|(n, _)| *n == start) {
                running.by_job.remove(&job_id);
            }
        });
    }

    /// Stops watching a job (its row is being deleted).
    pub(crate) fn stop(&self, job_id: &str) {
        if let Some((_, token)) = self.running().by_job.remove(job_id) {
            token.cancel();
        }
    }

    /// Waits for every watch task to end (after the shutdown token was cancelled).
    pub(crate) async fn join(&self) {
        let mut tasks = std::mem::take(&mut self.running().tasks);
        while tasks.join_next().await.is_some() {}
    }
}

/// What one run of the library's watch ended with, as the store sees it.
enum Outcome {
    Final { state: WatchState, job: Option<Box<genjob::Job>>, error: Option<String> },
    RetryLater(String),
    Stopped,
}

async fn watch_one(inner: &Inner, row: WatchRow, token: CancellationToken) {
    let job_id = row.new.job_id.clone();
    let target = match WatchTarget::resolve(&job_id, Some(row.new.provider)) {
        Ok(target) => target,
        Err(e) => {
            let outcome = Outcome::Final { state: WatchState::Error, job: None, error: Some(e.to_string()) };
            write_outcome(inner, &row, outcome, &token).await;
            return;
        }
    };
    loop {
        let outcome = watch_until_end(inner, &job_id, target.clone(), &token).await;
        if !write_outcome(inner, &row, outcome, &token).await {
            return;
        }
        // Watching stopped without a final state: start again a little later.
        tokio::select! {
            () = tokio::time::sleep(RETRY_LATER) => {}
            () = token.cancelled() => return,
        }
    }
}

/// Drives one watch of the library until the job ends, writing each progress report.
async fn watch_until_end(inner: &Inner, job_id: &str, target: WatchTarget, token: &CancellationToken) -> Outcome {
    let mut watch = inner.watcher.watch(vec![target]).with_cancellation(token.child_token());
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

/// Writes an outcome; true when the watch should be started again later.
async fn write_outcome(inner: &Inner, row: &WatchRow, outcome: Outcome, token: &CancellationToken) -> bool {
    let job_id = &row.new.job_id;
    match outcome {
        Outcome::Stopped => false,
        Outcome::RetryLater(error) => {
            let now = crate::now_ms();
            let at = now.saturating_add(i64::try_from(RETRY_LATER.as_millis()).unwrap_or(i64::MAX));
            if let Err(e) = inner.store.record_retry(job_id, &error, at, now).await {
                tracing::error!("{job_id}: cannot record the retry: {e}");
            }
            true
        }
        Outcome::Final { state, job, error } => {
            // The final state must reach the store: keep trying while the server runs. If it
            // stops first, the row still says `watching` and the next start reads the job again.
            loop {
                let now = crate::now_ms();
                let url = row.new.webhook_url.as_deref();
                let delivery = delivery_for(url, job_id, state, job.as_deref(), error.as_deref(), &row.new.labels, now);
                let has_delivery = delivery.is_some();
                match inner
                    .store
                    .record_final(job_id, state, job.as_deref().cloned(), error.clone(), delivery, now)
                    .await
                {
                    Ok(written) => {
                        if written && has_delivery {
                            inner.deliveries.notify_one();
                        }
                        return false;
                    }
                    Err(e) => tracing::error!("{job_id}: cannot record its final state: {e}"),
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                    () = token.cancelled() => return false,
                }
            }
        }
    }
}
