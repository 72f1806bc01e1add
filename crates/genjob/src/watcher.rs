//! The watcher: sources, the poll policy, the environment and the options, and the ways to wait.

use crate::env::{Environment, TokioEnvironment};
use crate::error_policy::{ErrorContext, ErrorDecision};
use crate::learn::SharedEstimates;
use crate::options::WatchOptions;
use crate::outcome::{FinishedJob, JobSnapshot, WaitError, WatchEvent};
use crate::policy::{AdaptiveSchedule, MIN_INTERVAL, PollPolicy};
use crate::target::WatchTarget;
use crate::time::{after, since};
use crate::watch::Watch;
use crate::watch::job::Failures;
use futures::StreamExt;
use genjob_models::{JobId, JobStatus, Provider, StatusTracker};
use genjob_transport::{DownloadConfig, Downloader, FetchedJob, JobSource, TransportError};
use jiff::Timestamp;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The longest back-off between two failed attempts of one job.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Waits on jobs: holds the sources, the policy, the environment and the options.
///
/// ```no_run
/// # async fn demo(source: std::sync::Arc<dyn genjob_transport::JobSource>) -> Result<(), Box<dyn std::error::Error>> {
/// use genjob::{Watcher, WatchTarget};
/// let watcher = Watcher::new().with_source(source);
/// let target = WatchTarget::resolve("j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina", None)?;
/// // A failed job is an error too: `?` never lets a failure through as success.
/// let completed = watcher.wait(target).await?;
/// println!("completed after {} record reads", completed.polls);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Watcher {
    pub(crate) sources: HashMap<Provider, Arc<dyn JobSource>>,
    pub(crate) policy: Arc<dyn PollPolicy>,
    pub(crate) env: Arc<dyn Environment>,
    pub(crate) options: WatchOptions,
    /// Fetches output files; it holds no API token. `None` only if the default could not be built.
    pub(crate) downloader: Option<Downloader>,
    /// What is learned about how long jobs take, fed by every watch and read by the policy.
    pub(crate) learning: Option<SharedEstimates>,
}

impl Default for Watcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Watcher {
    /// A watcher with the adaptive schedule, the tokio clock, default options, no sources, and
    /// learning in memory (its clones and their watches share what it learns).
    pub fn new() -> Self {
        Self {
            sources: HashMap::new(),
            policy: Arc::new(AdaptiveSchedule::default()),
            env: Arc::new(TokioEnvironment::new()),
            options: WatchOptions::default(),
            downloader: Downloader::new(DownloadConfig::default()).ok(),
            learning: Some(SharedEstimates::default()),
        }
    }

    /// Replaces the downloader that fetches output files (its size limit, timeouts, retries).
    pub fn with_downloader(mut self, downloader: Downloader) -> Self {
        self.downloader = Some(downloader);
        self
    }

    /// Learns into (and plans from) `estimates`: pass one loaded from a file, or share one between
    /// watchers; read it back with [`SharedEstimates::snapshot`] to save it.
    pub fn with_learning(mut self, estimates: SharedEstimates) -> Self {
        self.learning = Some(estimates);
        self
    }

    /// Neither learns nor uses learned durations: every job is planned on the documents alone.
    pub fn without_learning(mut self) -> Self {
        self.learning = None;
        self
    }

    /// What the watcher learns into, if it learns.
    pub fn learning(&self) -> Option<&SharedEstimates> {
        self.learning.as_ref()
    }

    /// Adds (or replaces) the source for its provider.
    pub fn with_source(mut self, source: Arc<dyn JobSource>) -> Self {
        self.sources.insert(source.provider(), source);
        self
    }

    /// Replaces the poll policy.
    pub fn with_policy(mut self, policy: Arc<dyn PollPolicy>) -> Self {
        self.policy = policy;
        self
    }

    /// Replaces the clock, sleep and randomness.
    pub fn with_environment(mut self, env: Arc<dyn Environment>) -> Self {
        self.env = env;
        self
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: WatchOptions) -> Self {
        self.options = options;
        self
    }

    /// The options in use.
    pub fn options(&self) -> &WatchOptions {
        &self.options
    }

    /// The source registered for a provider.
    pub fn source(&self, provider: Provider) -> Option<&Arc<dyn JobSource>> {
        self.sources.get(&provider)
    }

    /// The environment in use.
    pub fn environment(&self) -> &Arc<dyn Environment> {
        &self.env
    }

    /// Starts watching jobs; drive the returned [`Watch`] as a [`Stream`](futures::Stream) of events.
    ///
    /// Each watch is independent: cancelling or dropping one leaves the watcher usable.
    pub fn watch(&self, targets: Vec<WatchTarget>) -> Watch {
        Watch::new(self.clone(), targets)
    }

    /// Waits until the job completes; a failed job is [`WaitError::JobFailed`].
    pub async fn wait(&self, target: WatchTarget) -> Result<FinishedJob, WaitError> {
        let id = target.id.clone();
        let mut results = self.wait_all(vec![target]).await;
        results.pop().unwrap_or(Err(WaitError::Cancelled { id }))
    }

    /// Waits for every job's final state; results are in the order of `targets`.
    pub async fn wait_all(&self, targets: Vec<WatchTarget>) -> Vec<Result<FinishedJob, WaitError>> {
        let ids: Vec<_> = targets.iter().map(|t| t.id.clone()).collect();
        let mut results: Vec<Option<Result<FinishedJob, WaitError>>> = ids.iter().map(|_| None).collect();
        let mut watch = self.watch(targets);
        while let Some(event) = watch.next().await {
            if let WatchEvent::Finished(f) = event
                && let Some(slot) = results.get_mut(f.index)
            {
                *slot = Some(f.result);
            }
        }
        // A watch reports every job before it ends; a missing one can only mean it was cut short.
        results.into_iter().zip(ids).map(|(r, id)| r.unwrap_or(Err(WaitError::Cancelled { id }))).collect()
    }

    /// Reads a job once, through the status tracker: the record, with the 1-hour rule applied, so
    /// what this says agrees with what [`Watcher::wait`] would report.
    ///
    /// Failed requests are retried as the error policy says, within the options' timeout.
    pub async fn read(&self, target: WatchTarget) -> Result<JobSnapshot, WaitError> {
        let WatchTarget { id, provider } = target;
        let Some(source) = self.sources.get(&provider).cloned() else {
            return Err(WaitError::NoSource { id, provider });
        };
        let started = self.env.now();
        // The user's own timeout, not a server's number: not capped like `after` caps delays.
        let deadline = self.options.timeout.map(|t| started.checked_add(t).unwrap_or(Timestamp::MAX));
        let mut failures = Failures::default();
        let mut polls = 0u32;
        loop {
            polls = polls.saturating_add(1);
            let timeout = self.request_timeout(self.env.now(), deadline);
            let result = bounded(&self.env, timeout, source.fetch(&id)).await;
            let now = self.env.now();
            let error = match result {
                Ok(fetched) => {
                    if let Some(record_id) = foreign_record(&id, &fetched) {
                        return Err(WaitError::WrongRecord { id, record_id, polls });
                    }
                    let mut tracker = StatusTracker::new(id);
                    tracker.observe(fetched.job.clone(), now);
                    return Ok(JobSnapshot {
                        job: tracker.job().cloned().unwrap_or(fetched.job),
                        record: fetched.record,
                        polls,
                        timed_out_locally: tracker.timed_out_locally(),
                    });
                }
                Err(error) => error,
            };
            failures.record(&error, now);
            let ctx = ErrorContext { error: &error, attempts: failures.count, failing_for: failures.failing_for(now) };
            if self.options.error_policy.on_error(&ctx) == ErrorDecision::GiveUp {
                return Err(WaitError::Fetch { id, source: error, polls });
            }
            let delay = retry_delay(MAX_BACKOFF, failures.count, self.capped_hint(error.retry_after()));
            let wake = after(now, delay);
            if deadline.is_some_and(|d| wake >= d) {
                return Err(WaitError::TimedOut {
                    id,
                    status: JobStatus::Queued,
                    elapsed: since(now, started),
                    polls,
                    last: None,
                    last_error: failures.last,
                });
            }
            self.env.sleep(delay).await;
        }
    }

    /// A server's `Retry-After`, capped so that one header cannot freeze a provider for years.
    pub(crate) fn capped_hint(&self, hint: Option<Duration>) -> Option<Duration> {
        hint.map(|h| h.min(self.options.max_retry_after))
    }

    /// How long a request started at `now` may take: the request timeout, cut short by the deadline.
    pub(crate) fn request_timeout(&self, now: Timestamp, deadline: Option<Timestamp>) -> Duration {
        let timeout = self.options.request_timeout;
        deadline.map_or(timeout, |d| timeout.min(since(d, now)))
    }
}

/// The delay before retrying after `failures` failures in a row: doubling from one second, never
/// beyond `ceiling` (the job's normal next poll), never before the server's (capped) `Retry-After`.
pub(crate) fn retry_delay(ceiling: Duration, failures: u32, hint: Option<Duration>) -> Duration {
    let backoff = MIN_INTERVAL.saturating_mul(1 << failures.saturating_sub(1).min(6)).min(MAX_BACKOFF);
    backoff.min(ceiling).max(MIN_INTERVAL).max(hint.unwrap_or_default())
}

/// The id a record carries when it is not the asked job's (a misrouted or hostile answer); `None` when it matches.
///
/// A record without an id cannot contradict; Dreamina ids captured with the `[email protected]`
/// placeholder are compared as the ids they stand for.
pub(crate) fn foreign_record(asked: &JobId, fetched: &FetchedJob) -> Option<String> {
    let got = fetched.job.id.as_str();
    if got.is_empty() || got == asked.as_str() {
        return None;
    }
    match JobId::parse(got) {
        Ok(parsed) if parsed.same_job(asked) => None,
        _ => Some(got.to_owned()),
    }
}

/// Runs one request, turning "no answer within `timeout`" (in the environment's time) into a timeout error.
pub(crate) async fn bounded<T>(
    env: &Arc<dyn Environment>,
    timeout: Duration,
    request: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    tokio::select! {
        result = request => result,
        () = env.sleep(timeout) => Err(TransportError::timeout(timeout).with_attempts(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_stay_under_the_ceiling_and_honour_the_server() {
        let s = Duration::from_secs;
        assert_eq!(retry_delay(s(30), 1, None), s(1));
        assert_eq!(retry_delay(s(30), 3, None), s(4));
        assert_eq!(retry_delay(s(30), 10, None), s(30));
        assert_eq!(retry_delay(s(300), u32::MAX, None), MAX_BACKOFF);
        assert_eq!(retry_delay(s(30), 1, Some(s(45))), s(45));
    }
}
