//! Waiting on one job or thousands: a single-task scheduler driven by the poll policy.

use crate::env::{Environment, TokioEnvironment};
use crate::policy::{AdaptiveSchedule, MIN_INTERVAL, PollContext, PollPolicy};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use genjob_models::{Job, JobId, JobStatus, Observation, Provider, ProviderRecord, StatusTracker};
use genjob_transport::{FetchedJob, JobSource, TransportError};
use jiff::Timestamp;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How the watcher spends requests and when it gives up.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Give up on a job this long after the wait started (`--timeout`).
    pub timeout: Option<Duration>,
    /// Requests in flight at once, per provider.
    pub max_in_flight: usize,
    /// Requests per second, per provider, shared by every watched job of that provider.
    pub requests_per_second: f64,
    /// Use one executing-jobs listing per tick instead of one request per job, where the provider has one.
    pub batch: bool,
    /// How long one executing-jobs listing answers for every job it covers.
    pub listing_interval: Duration,
    /// Stops the wait when cancelled.
    pub cancel: Option<CancellationToken>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            timeout: None,
            max_in_flight: 8,
            // useapi.net answers 429 when an account is throttled; a few requests a second stays clear of it.
            requests_per_second: 5.0,
            batch: true,
            listing_interval: Duration::from_secs(3),
            cancel: None,
        }
    }
}

/// A job to watch: its id and the provider that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchTarget {
    /// The job id.
    pub id: JobId,
    /// The provider.
    pub provider: Provider,
}

impl WatchTarget {
    /// A target whose provider is read from the id; `None` for opaque ids (token360), which need [`WatchTarget::with_provider`].
    pub fn from_id(id: JobId) -> Option<Self> {
        Some(Self { provider: id.provider()?, id })
    }

    /// A target with an explicit provider.
    pub fn with_provider(id: JobId, provider: Provider) -> Self {
        Self { id, provider }
    }
}

/// A job that reached a final state.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FinishedJob {
    /// The normalized final view (`completed` or `failed`).
    pub job: Job,
    /// The provider's final record, when one was read (absent when the 1-hour rule decided).
    pub record: Option<ProviderRecord>,
    /// Requests made for this job (listing ticks not included).
    pub polls: u32,
    /// Time from the start of the wait to the final state.
    pub elapsed: Duration,
    /// True when genjob failed the job by the 1-hour rule before the provider did.
    pub timed_out_locally: bool,
}

impl FinishedJob {
    /// True when the job completed.
    pub fn is_completed(&self) -> bool {
        self.job.status == JobStatus::Completed
    }
}

/// Why a wait ended without a final state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The timeout passed first.
    #[error(
        "{id}: still {status} after waiting {elapsed:.1?} ({polls} polls); the timeout passed — wait longer or check later"
    )]
    TimedOut {
        /// The job.
        id: String,
        /// The last known status.
        status: JobStatus,
        /// Time waited.
        elapsed: Duration,
        /// Requests made.
        polls: u32,
        /// The last observed view, if any.
        last: Option<Box<Job>>,
    },
    /// The provider refused or failed in a way that waiting cannot fix.
    #[error("{id}: {source}")]
    Fetch {
        /// The job.
        id: String,
        /// What went wrong.
        #[source]
        source: TransportError,
        /// Requests made.
        polls: u32,
    },
    /// No source was registered for the job's provider.
    #[error("{id}: no {provider} source is configured; set its API token")]
    NoSource {
        /// The job.
        id: String,
        /// The provider.
        provider: Provider,
    },
    /// The wait was cancelled.
    #[error("{id}: the wait was cancelled")]
    Cancelled {
        /// The job.
        id: String,
    },
}

impl WaitError {
    /// True when the timeout passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::TimedOut { .. })
    }

    /// The transport error behind a failed fetch.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            Self::Fetch { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A progress report for one job.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobProgress {
    /// Position of the job in the watched list.
    pub index: usize,
    /// The job id.
    pub id: JobId,
    /// The tracked status.
    pub status: JobStatus,
    /// Provider-reported progress in percent.
    pub progress: Option<u8>,
    /// Time since the wait started.
    pub elapsed: Duration,
    /// Requests made for this job so far.
    pub polls: u32,
    /// Delay until the next check.
    pub next_delay: Duration,
    /// What happened, when worth telling (`rate limited`, `stale read ignored` …).
    pub note: Option<String>,
}

/// The final result of one job.
#[derive(Debug)]
#[non_exhaustive]
pub struct JobFinished {
    /// Position of the job in the watched list.
    pub index: usize,
    /// The job id.
    pub id: JobId,
    /// The final state, or why there is none.
    pub result: Result<FinishedJob, WaitError>,
}

/// What a watch reports as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchEvent {
    /// A job was checked and is not final yet.
    Progress(JobProgress),
    /// A job reached its final state (or its wait ended).
    Finished(Box<JobFinished>),
}

/// Waits on jobs: holds the sources, the policy, the environment and the options.
///
/// ```no_run
/// # async fn demo(source: std::sync::Arc<dyn genjob_transport::JobSource>) -> Result<(), Box<dyn std::error::Error>> {
/// use genjob::{Watcher, WatchTarget};
/// let watcher = Watcher::new().with_source(source);
/// let id = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina".parse()?;
/// let finished = watcher.wait(WatchTarget::from_id(id).ok_or("unknown provider")?).await?;
/// println!("{} after {} polls", finished.job.status, finished.polls);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Watcher {
    sources: HashMap<Provider, Arc<dyn JobSource>>,
    policy: Arc<dyn PollPolicy>,
    env: Arc<dyn Environment>,
    options: WatchOptions,
}

impl Default for Watcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Watcher {
    /// A watcher with the adaptive schedule, the tokio clock, default options and no sources.
    pub fn new() -> Self {
        Self {
            sources: HashMap::new(),
            policy: Arc::new(AdaptiveSchedule::default()),
            env: Arc::new(TokioEnvironment::new()),
            options: WatchOptions::default(),
        }
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

    /// The source registered for a provider.
    pub fn source(&self, provider: Provider) -> Option<&Arc<dyn JobSource>> {
        self.sources.get(&provider)
    }

    /// The environment in use.
    pub fn environment(&self) -> &Arc<dyn Environment> {
        &self.env
    }

    /// Starts watching jobs; drive the returned [`Watch`] as a stream of events.
    pub fn watch(&self, targets: Vec<WatchTarget>) -> Watch {
        Watch::new(self.clone(), targets)
    }

    /// Waits for one job's final state.
    pub async fn wait(&self, target: WatchTarget) -> Result<FinishedJob, WaitError> {
        let mut results = self.wait_all(vec![target]).await;
        // wait_all returns one result per target, in order.
        results.pop().unwrap_or_else(|| unreachable!("one target gives one result"))
    }

    /// Waits for every job's final state; results are in the order of `targets`.
    pub async fn wait_all(&self, targets: Vec<WatchTarget>) -> Vec<Result<FinishedJob, WaitError>> {
        let n = targets.len();
        let mut results: Vec<Option<Result<FinishedJob, WaitError>>> = (0..n).map(|_| None).collect();
        let mut watch = self.watch(targets);
        while let Some(event) = watch.next_event().await {
            if let WatchEvent::Finished(f) = event {
                results[f.index] = Some(f.result);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| unreachable!("a watch ends only when every job has finished")))
            .collect()
    }
}

struct Tracked {
    provider: Provider,
    tracker: StatusTracker,
    polls: u32,
    errors: u32,
    started: Timestamp,
    generation: u32,
    server_hint: Option<Duration>,
    batched: bool,
    listed: bool,
    in_flight: bool,
    done: bool,
}

enum Completion {
    Job { index: usize, result: Box<Result<FetchedJob, TransportError>> },
    Listing { provider: Provider, result: Result<Option<Vec<String>>, TransportError> },
}

#[derive(Default)]
struct ProviderState {
    next_slot: Option<Timestamp>,
    in_flight: usize,
    waiting: VecDeque<usize>,
    listing_in_flight: bool,
    listing_at: Option<Timestamp>,
    listing: Option<HashSet<String>>,
    listing_waiters: Vec<usize>,
}

/// A running watch over many jobs; poll it with [`Watch::next_event`] or use it as a [`Stream`].
///
/// Dropping it stops the watch: every request in flight is dropped with it.
pub struct Watch {
    watcher: Watcher,
    jobs: Vec<Tracked>,
    heap: BinaryHeap<Reverse<(Timestamp, u32, usize)>>,
    in_flight: FuturesUnordered<BoxFuture<'static, Completion>>,
    events: VecDeque<WatchEvent>,
    providers: HashMap<Provider, ProviderState>,
    remaining: usize,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("jobs", &self.jobs.len())
            .field("remaining", &self.remaining)
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl Watch {
    fn new(watcher: Watcher, targets: Vec<WatchTarget>) -> Self {
        let now = watcher.env.now();
        let mut watch = Self {
            jobs: Vec::with_capacity(targets.len()),
            heap: BinaryHeap::with_capacity(targets.len()),
            in_flight: FuturesUnordered::new(),
            events: VecDeque::new(),
            providers: HashMap::new(),
            remaining: targets.len(),
            watcher,
        };
        for (index, target) in targets.into_iter().enumerate() {
            let source = watch.watcher.sources.get(&target.provider);
            let batched = watch.watcher.options.batch && source.is_some_and(|s| s.listing_covers(&target.id));
            let tracked = Tracked {
                provider: target.provider,
                tracker: StatusTracker::new(target.id),
                polls: 0,
                errors: 0,
                started: now,
                generation: 0,
                server_hint: None,
                batched,
                listed: false,
                in_flight: false,
                done: false,
            };
            watch.jobs.push(tracked);
            if source.is_none() {
                watch.finish(
                    index,
                    Err(WaitError::NoSource { id: target_id(&watch.jobs[index]), provider: target.provider }),
                );
                continue;
            }
            let first = watch.watcher.policy.first_delay(&watch.context(index, now));
            watch.schedule(index, now, first);
        }
        watch
    }

    /// Turns the watch into a stream of events.
    pub fn into_stream(self) -> impl Stream<Item = WatchEvent> + Send {
        futures::stream::unfold(self, |mut watch| async move { watch.next_event().await.map(|e| (e, watch)) })
    }

    /// Jobs not finished yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next event, or `None` once every job has finished.
    pub async fn next_event(&mut self) -> Option<WatchEvent> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if self.remaining == 0 {
                return None;
            }
            if self.watcher.options.cancel.as_ref().is_some_and(CancellationToken::is_cancelled) {
                self.cancel_all();
                continue;
            }
            let now = self.watcher.env.now();
            self.dispatch(now);
            if !self.events.is_empty() {
                continue;
            }
            let wake = self.heap.peek().map(|Reverse((due, _, _))| *due);
            let sleep_for = wake.map(|due| positive(due.duration_since(now)));
            let env = self.watcher.env.clone();
            let sleep = async move {
                match sleep_for {
                    Some(d) => env.sleep(d).await,
                    None => futures::future::pending().await,
                }
            };
            let cancelled = async {
                match &self.watcher.options.cancel {
                    Some(token) => token.cancelled().await,
                    None => futures::future::pending().await,
                }
            };
            let completion = tokio::select! {
                Some(done) = self.in_flight.next(), if !self.in_flight.is_empty() => Some(done),
                _ = sleep => None,
                _ = cancelled => None,
            };
            if let Some(done) = completion {
                let now = self.watcher.env.now();
                self.complete(done, now);
            }
        }
    }

    fn context(&self, index: usize, now: Timestamp) -> PollContext<'_> {
        let t = &self.jobs[index];
        let job = t.tracker.job();
        PollContext {
            provider: t.provider,
            kind: job.and_then(|j| j.kind).or_else(|| t.tracker.id().kind()),
            model: job.and_then(|j| j.model.as_deref()),
            age: t.tracker.age(now).map(|a| Duration::try_from(a).unwrap_or(Duration::ZERO)),
            waited: positive(now.duration_since(t.started)),
            status: t.tracker.status(),
            progress: job.and_then(|j| j.progress),
            polls: t.polls,
            server_hint: t.server_hint,
        }
    }

    /// Puts the job back in the queue `delay` from now, earlier if a deadline comes first.
    fn schedule(&mut self, index: usize, now: Timestamp, delay: Duration) -> Duration {
        let t = &mut self.jobs[index];
        t.generation = t.generation.wrapping_add(1);
        let mut due = now.checked_add(delay).unwrap_or(Timestamp::MAX);
        if let Some(timeout) = self.watcher.options.timeout
            && let Ok(deadline) = t.started.checked_add(timeout)
        {
            due = due.min(deadline);
        }
        // Wake just past the 1-hour mark so a stuck job fails on time without a request. Only a
        // future mark of an observed job counts: a mark already past is applied by the next
        // observation, and clamping to it would pop the same entry again and again.
        if t.tracker.job().is_some()
            && let Some(rule) = t.tracker.deadline(now)
            && let Ok(past) = rule.checked_add(Duration::from_millis(1))
            && past > now
        {
            due = due.min(past);
        }
        self.heap.push(Reverse((due, t.generation, index)));
        positive(due.duration_since(now))
    }

    fn dispatch(&mut self, now: Timestamp) {
        while let Some(Reverse((due, generation, index))) = self.heap.peek().copied() {
            if due > now {
                break;
            }
            self.heap.pop();
            let t = &self.jobs[index];
            if t.done || t.in_flight || t.generation != generation {
                continue;
            }
            if self.check_deadlines(index, now) {
                continue;
            }
            if self.jobs[index].batched {
                let state = self.providers.entry(self.jobs[index].provider).or_default();
                state.listing_waiters.push(index);
            } else {
                self.request_job(index, now);
            }
        }
        let providers: Vec<Provider> =
            self.providers.iter().filter(|(_, s)| !s.listing_waiters.is_empty()).map(|(p, _)| *p).collect();
        for provider in providers {
            self.serve_listing_waiters(provider, now);
        }
    }

    /// Ends the job if its timeout passed or the 1-hour rule fires; true when it ended.
    fn check_deadlines(&mut self, index: usize, now: Timestamp) -> bool {
        let t = &mut self.jobs[index];
        if t.tracker.check_deadline(now) {
            let finished = self.finished_job(index, None, now);
            self.finish(index, Ok(finished));
            return true;
        }
        if let Some(timeout) = self.watcher.options.timeout
            && now.duration_since(t.started)
                >= jiff::SignedDuration::try_from(timeout).unwrap_or(jiff::SignedDuration::MAX)
        {
            let error = WaitError::TimedOut {
                id: target_id(t),
                status: t.tracker.status(),
                elapsed: positive(now.duration_since(t.started)),
                polls: t.polls,
                last: t.tracker.job().cloned().map(Box::new),
            };
            self.finish(index, Err(error));
            return true;
        }
        false
    }

    fn serve_listing_waiters(&mut self, provider: Provider, now: Timestamp) {
        let interval = self.watcher.options.listing_interval;
        let state = self.providers.entry(provider).or_default();
        if state.listing_in_flight {
            return;
        }
        let fresh = state.listing_at.is_some_and(|at| positive(now.duration_since(at)) < interval);
        if fresh && state.listing.is_some() {
            let waiters = std::mem::take(&mut state.listing_waiters);
            for index in waiters {
                self.apply_listing_to(index, now, true);
            }
            return;
        }
        if !self.take_slot(provider, now) {
            // No request slot yet: put the waiters back in the queue for when one opens, so the
            // loop has something to wake for even when nothing else is in flight.
            let state = self.providers.entry(provider).or_default();
            let retry = positive(state.next_slot.map_or(jiff::SignedDuration::ZERO, |s| s.duration_since(now)));
            let waiters = std::mem::take(&mut state.listing_waiters);
            for index in waiters {
                self.schedule(index, now, retry.max(Duration::from_millis(10)));
            }
            return;
        }
        let Some(source) = self.watcher.sources.get(&provider).cloned() else { return };
        let state = self.providers.entry(provider).or_default();
        state.listing_in_flight = true;
        state.in_flight += 1;
        self.in_flight.push(Box::pin(async move {
            let result = source.executing().await;
            Completion::Listing { provider, result }
        }));
    }

    /// Reserves a request slot under the provider's rate and concurrency limits.
    fn take_slot(&mut self, provider: Provider, now: Timestamp) -> bool {
        let rps = self.watcher.options.requests_per_second.max(0.001);
        let max = self.watcher.options.max_in_flight.max(1);
        let state = self.providers.entry(provider).or_default();
        if state.in_flight >= max {
            return false;
        }
        let slot = state.next_slot.map_or(now, |s| s.max(now));
        if slot > now {
            return false;
        }
        state.next_slot = slot.checked_add(Duration::from_secs_f64(1.0 / rps)).ok();
        true
    }

    fn request_job(&mut self, index: usize, now: Timestamp) {
        let provider = self.jobs[index].provider;
        if !self.take_slot(provider, now) {
            let state = self.providers.entry(provider).or_default();
            match state.next_slot.filter(|s| *s > now && state.in_flight < self.watcher.options.max_in_flight.max(1)) {
                // Rate-limited: come back when the next slot opens.
                Some(slot) => {
                    let delay = positive(slot.duration_since(now));
                    self.schedule(index, now, delay);
                }
                // Concurrency-limited: wait for a request to finish.
                None => state.waiting.push_back(index),
            }
            return;
        }
        let Some(source) = self.watcher.sources.get(&provider).cloned() else { return };
        let t = &mut self.jobs[index];
        t.in_flight = true;
        let id = t.tracker.id().clone();
        self.providers.entry(provider).or_default().in_flight += 1;
        self.in_flight.push(Box::pin(async move {
            let result = source.fetch(&id).await;
            Completion::Job { index, result: Box::new(result) }
        }));
    }

    fn complete(&mut self, completion: Completion, now: Timestamp) {
        let provider = match &completion {
            Completion::Job { index, .. } => self.jobs[*index].provider,
            Completion::Listing { provider, .. } => *provider,
        };
        let state = self.providers.entry(provider).or_default();
        state.in_flight = state.in_flight.saturating_sub(1);
        let freed = state.waiting.pop_front();
        match completion {
            Completion::Job { index, result } => self.job_fetched(index, *result, now),
            Completion::Listing { provider, result } => self.listing_fetched(provider, result, now),
        }
        if let Some(index) = freed
            && !self.jobs[index].done
        {
            self.request_job(index, now);
        }
    }

    fn job_fetched(&mut self, index: usize, result: Result<FetchedJob, TransportError>, now: Timestamp) {
        let t = &mut self.jobs[index];
        t.in_flight = false;
        t.polls = t.polls.saturating_add(1);
        if t.done {
            return;
        }
        match result {
            Ok(fetched) => {
                t.errors = 0;
                t.server_hint = fetched.retry_after;
                let observation = t.tracker.observe(fetched.job, now);
                if t.tracker.is_terminal() {
                    let finished = self.finished_job(index, Some(fetched.record), now);
                    self.finish(index, Ok(finished));
                    return;
                }
                let note = match observation {
                    Observation::Stale { reported, kept } => {
                        Some(format!("stale read ({reported}) ignored; still {kept}"))
                    }
                    Observation::Unrecognized { provider_status } => {
                        Some(format!("unknown status `{provider_status}`; still waiting"))
                    }
                    _ => None,
                };
                let delay = self.watcher.policy.next_delay(&self.context(index, now), self.watcher.env.random());
                self.reschedule_with_event(index, now, delay, note);
            }
            Err(error) if error.is_retryable() => {
                t.errors = t.errors.saturating_add(1);
                let hint = error.retry_after();
                t.server_hint = hint;
                if let Some(wait) = hint {
                    // One 429 slows every job of the provider, so a large batch never turns into a 429 storm.
                    let state = self.providers.entry(t.provider).or_default();
                    let until = now.checked_add(wait).ok();
                    state.next_slot = state.next_slot.max(until);
                }
                let errors = self.jobs[index].errors;
                let backoff = MIN_INTERVAL.saturating_mul(1u32 << errors.min(5));
                let delay = self
                    .watcher
                    .policy
                    .next_delay(&self.context(index, now), self.watcher.env.random())
                    .min(backoff.max(hint.unwrap_or_default()))
                    .max(hint.unwrap_or_default());
                let note = Some(format!("{error}; retrying"));
                self.reschedule_with_event(index, now, delay, note);
            }
            Err(error) => {
                let id = target_id(t);
                let polls = t.polls;
                self.finish(index, Err(WaitError::Fetch { id, source: error, polls }));
            }
        }
    }

    fn listing_fetched(
        &mut self,
        provider: Provider,
        result: Result<Option<Vec<String>>, TransportError>,
        now: Timestamp,
    ) {
        let state = self.providers.entry(provider).or_default();
        state.listing_in_flight = false;
        let waiters = std::mem::take(&mut state.listing_waiters);
        match result {
            Ok(Some(ids)) => {
                state.listing = Some(ids.into_iter().collect());
                state.listing_at = Some(now);
                // Every batched job learns from the listing, due or not: a job that left it is fetched now.
                let waiting: HashSet<usize> = waiters.iter().copied().collect();
                for index in 0..self.jobs.len() {
                    let t = &self.jobs[index];
                    if t.provider == provider && t.batched && !t.done && !t.in_flight {
                        self.apply_listing_to(index, now, waiting.contains(&index));
                    }
                }
            }
            Ok(None) => {
                for index in waiters {
                    self.jobs[index].batched = false;
                    self.request_job(index, now);
                }
            }
            Err(error) => {
                let hint = error.retry_after();
                if let Some(wait) = hint {
                    state.next_slot = state.next_slot.max(now.checked_add(wait).ok());
                }
                let note = Some(format!("executing-jobs listing failed: {error}"));
                for index in waiters {
                    if error.is_retryable() {
                        let delay = hint.unwrap_or(MIN_INTERVAL * 2);
                        self.reschedule_with_event(index, now, delay, note.clone());
                    } else {
                        // The listing is an optimisation: fall back to reading each job.
                        self.jobs[index].batched = false;
                        self.request_job(index, now);
                    }
                }
            }
        }
    }

    /// Uses the latest listing for one batched job: listed means still running, gone means fetch it.
    fn apply_listing_to(&mut self, index: usize, now: Timestamp, due: bool) {
        let Some(listing) = self.providers.get(&self.jobs[index].provider).and_then(|s| s.listing.as_ref()) else {
            return;
        };
        let t = &mut self.jobs[index];
        let listed_now = listing.contains(t.tracker.id().as_str());
        if listed_now {
            t.listed = true;
            let seen = executing_view(&t.tracker, now);
            t.tracker.observe(seen, now);
            if self.check_deadlines(index, now) {
                return;
            }
            if due {
                let delay = self.watcher.policy.next_delay(&self.context(index, now), self.watcher.env.random());
                self.reschedule_with_event(index, now, delay, None);
            }
        } else if t.listed || due {
            // It left the listing (or never showed up in it): read its record.
            t.listed = false;
            self.request_job(index, now);
        }
    }

    fn reschedule_with_event(&mut self, index: usize, now: Timestamp, delay: Duration, note: Option<String>) {
        let next_delay = self.schedule(index, now, delay);
        let t = &self.jobs[index];
        self.events.push_back(WatchEvent::Progress(JobProgress {
            index,
            id: t.tracker.id().clone(),
            status: t.tracker.status(),
            progress: t.tracker.job().and_then(|j| j.progress),
            elapsed: positive(now.duration_since(t.started)),
            polls: t.polls,
            next_delay,
            note,
        }));
    }

    fn finished_job(&self, index: usize, record: Option<ProviderRecord>, now: Timestamp) -> FinishedJob {
        let t = &self.jobs[index];
        let job = t.tracker.job().cloned().unwrap_or_else(|| executing_view(&t.tracker, now));
        FinishedJob {
            job,
            record: if t.tracker.timed_out_locally() { None } else { record },
            polls: t.polls,
            elapsed: positive(now.duration_since(t.started)),
            timed_out_locally: t.tracker.timed_out_locally(),
        }
    }

    fn finish(&mut self, index: usize, result: Result<FinishedJob, WaitError>) {
        let t = &mut self.jobs[index];
        if t.done {
            return;
        }
        t.done = true;
        self.remaining -= 1;
        let id = t.tracker.id().clone();
        self.events.push_back(WatchEvent::Finished(Box::new(JobFinished { index, id, result })));
    }

    fn cancel_all(&mut self) {
        self.in_flight = FuturesUnordered::new();
        for index in 0..self.jobs.len() {
            if !self.jobs[index].done {
                let id = target_id(&self.jobs[index]);
                self.finish(index, Err(WaitError::Cancelled { id }));
            }
        }
    }
}

fn target_id(t: &Tracked) -> String {
    t.tracker.id().to_string()
}

fn positive(d: jiff::SignedDuration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

/// What an executing-jobs listing says about a job: still `created`, nothing more.
fn executing_view(tracker: &StatusTracker, now: Timestamp) -> Job {
    let id = tracker.id();
    Job {
        provider: tracker.provider().unwrap_or(Provider::Dreamina),
        id: id.to_string(),
        kind: id.kind(),
        status: JobStatus::Queued,
        provider_status: "created".to_owned(),
        model: tracker.job().and_then(|j| j.model.clone()),
        created_at: tracker.created_at(now),
        updated_at: None,
        progress: None,
        outputs: Vec::new(),
        error: None,
    }
}
