//! The watcher: sources, the poll policy, the environment and the options, and the ways to wait.

use crate::budget::RequestKind;
use crate::budget::{Pace, RequestBudget};
use crate::env::{Environment, TokioEnvironment};
use crate::learn::SharedEstimates;
use crate::options::WatchOptions;
use crate::outcome::{FinishedJob, JobSnapshot, WaitError, WatchEvent};
use crate::policy::{AdaptiveSchedule, PollPolicy};
use crate::target::WatchTarget;
use crate::time::{Deadline, since};
use crate::watch::Watch;
use futures::StreamExt;
use genjob_models::{JobId, JobStatus, Provider, StatusTracker};
use genjob_transport::{DownloadConfig, Downloader, FetchedJob, JobSource};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Waits on jobs: holds the sources, the policy, the environment and the options.
///
/// ```no_run
/// # async fn demo(source: std::sync::Arc<dyn genjob_transport::JobSource>) -> Result<(), Box<dyn std::error::Error>> {
/// use genjob::{Watcher, WatchTarget};
/// let watcher = Watcher::new().with_source(source);
/// let target = WatchTarget::resolve("j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina", None)?;
/// // A failed job is an error too: `?` never lets a failure through as success.
/// let completed = watcher.wait(target, std::time::Duration::from_secs(600)).await?;
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
    /// Every request of every watch, read and download of this watcher and its clones takes a slot here.
    pub(crate) budget: RequestBudget,
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
            budget: RequestBudget::new(),
        }
    }

    /// Spends requests from `budget`, shared with whoever else holds it (another watcher, say), so the
    /// documented pace holds for all of them together. A watcher and its clones share one by default.
    pub fn with_budget(mut self, budget: RequestBudget) -> Self {
        self.budget = budget;
        self
    }

    /// The request budget this watcher spends (its counts tell what was sent, per provider and kind).
    pub fn budget(&self) -> &RequestBudget {
        &self.budget
    }

    /// The pace of every provider's requests, from the options.
    pub(crate) fn pace(&self) -> Pace {
        Pace { rate: self.options.requests_per_second, max_in_flight: self.options.max_in_flight }
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

    /// Waits at most `max_wait` until the job completes; a failed job is [`WaitError::JobFailed`],
    /// the deadline [`WaitError::TimedOut`].
    pub async fn wait(&self, target: WatchTarget, max_wait: Duration) -> Result<FinishedJob, WaitError> {
        let id = target.id.clone();
        let mut results = self.wait_all(vec![target], max_wait).await;
        results.pop().unwrap_or(Err(WaitError::Cancelled { id }))
    }

    /// Waits at most `max_wait` for every job's final state; results are in the order of `targets`.
    pub async fn wait_all(&self, targets: Vec<WatchTarget>, max_wait: Duration) -> Vec<Result<FinishedJob, WaitError>> {
        let ids: Vec<_> = targets.iter().map(|t| t.id.clone()).collect();
        let mut results: Vec<Option<Result<FinishedJob, WaitError>>> = ids.iter().map(|_| None).collect();
        let mut watch = self.watch(targets).with_timeout(max_wait);
        while let Some(event) = watch.next().await {
            if let WatchEvent::Ended(f) = event
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
    /// Failed requests are retried as the error policy says, for at most `max_wait` in all.
    pub async fn read(&self, target: WatchTarget, max_wait: Duration) -> Result<JobSnapshot, WaitError> {
        let WatchTarget { id, provider } = target;
        let Some(source) = self.sources.get(&provider).cloned() else {
            return Err(WaitError::NoSource { id, provider });
        };
        if let Some(own) = id.provider().filter(|own| *own != provider) {
            return Err(WaitError::WrongProvider { id, provider, own });
        }
        let started = self.env.now();
        let deadline = Deadline::after(started, max_wait);
        let read = self.send(provider, RequestKind::Record, deadline, || source.fetch(&id)).await;
        let now = self.env.now();
        let fetched = match read {
            Ok(fetched) => fetched,
            Err(failure) => return Err(WaitError::from_failure(id, failure, JobStatus::Queued, since(now, started))),
        };
        let polls = fetched.attempts.max(1);
        if let Some(record_id) = foreign_record(&id, &fetched) {
            return Err(WaitError::WrongRecord { id, record_id, polls });
        }
        let mut tracker = StatusTracker::new(id);
        tracker.observe(fetched.job.clone(), now);
        Ok(JobSnapshot {
            job: tracker.job().cloned().unwrap_or(fetched.job),
            record: fetched.record,
            polls,
            timed_out_locally: tracker.timed_out_locally(),
        })
    }

    /// How long a request started at `now` may take: the request timeout, cut short by the deadline.
    pub(crate) fn request_timeout(&self, now: Timestamp, deadline: Deadline) -> Duration {
        deadline.request_timeout(now, self.options.request_timeout)
    }
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
