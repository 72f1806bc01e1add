//! A running watch over many jobs: one task, a timer heap, per-provider budgets and listings.
//!
//! The pieces: [`hints`] holds the rules that decide when a listing may answer for a job;
//! [`budget`] spends each provider's requests; [`job`] is one watched job and its phase. This file
//! drives them: it pops due jobs, starts requests, folds their answers in, and reports events.

mod downloads;
pub(crate) mod hints;
pub(crate) mod job;
mod listing;
mod stream;
#[cfg(feature = "callbacks")]
mod wake;

use downloads::{Downloads, QueuedDownload};

use crate::budget::{Permit, RequestKind, Slot};
#[cfg(feature = "callbacks")]
use crate::callbacks::Wakes;
use crate::download::{DownloadError, DownloadPlan, Interruption};
use crate::learn::{self, DurationKey};
use crate::outcome::{FinishedJob, JobDownloaded, JobEnded, JobProgress, WaitError, WatchEvent};
use crate::policy::PollContext;
use crate::requests::{Failures, Next, bounded};
use crate::target::WatchTarget;
use crate::time::{Deadline, after, positive, since};
use crate::watcher::Watcher;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use genjob_models::{JobStatus, Observation, Provider, ProviderRecord, StatusTracker};
use genjob_transport::{FetchedJob, ListingPage, TransportError};
use hints::{Check, Coverage, ListingState};
use jiff::Timestamp;
use job::{Phase, TrackedJob};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::pin::Pin;
use std::time::Duration;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// A request's answer, delivered back to the watch.
enum Completion {
    // Boxed: a record is large and a listing page small; both wait in the same queue.
    Record { index: usize, result: Box<Result<FetchedJob, TransportError>> },
    ListingPage { provider: Provider, result: Result<ListingPage, TransportError> },
}

/// What one provider's jobs share in this watch (the request budget itself is the watcher's).
#[derive(Debug)]
struct ProviderState {
    /// Jobs waiting for a request in flight to finish, in arrival order.
    waiting: VecDeque<usize>,
    /// True while a listing waits for a concurrency slot that another task may give back.
    listing_blocked: bool,
    listing: ListingState,
}

/// A running watch over many jobs; use it as a [`Stream`] of [`WatchEvent`]s (or [`Watch::next_event`]).
///
/// It ends once every job has finished and every download is done. Dropping it stops it: every
/// request and download in flight is dropped with it (a half-written download is removed).
pub struct Watch {
    watcher: Watcher,
    jobs: Vec<TrackedJob>,
    heap: BinaryHeap<Reverse<(Timestamp, u32, usize)>>,
    in_flight: FuturesUnordered<BoxFuture<'static, Completion>>,
    events: VecDeque<WatchEvent>,
    providers: HashMap<Provider, ProviderState>,
    remaining: usize,
    started: Timestamp,
    deadline: Deadline,
    cancel: Option<(CancellationToken, Pin<Box<WaitForCancellationFutureOwned>>)>,
    timer: Option<(Timestamp, BoxFuture<'static, ()>)>,
    downloads: Option<Downloads>,
    /// Wake-ups from a callback receiver, when callbacks are expected.
    #[cfg(feature = "callbacks")]
    callbacks: Option<Wakes>,
    /// Each watched id's position, to find the job a callback names.
    #[cfg(feature = "callbacks")]
    index_of: HashMap<String, usize>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("jobs", &self.jobs.len())
            .field("remaining", &self.remaining)
            .field("in_flight", &self.in_flight.len())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Watch {
    pub(crate) fn new(watcher: Watcher, targets: Vec<WatchTarget>) -> Self {
        let now = watcher.env.now();
        let mut watch = Self {
            jobs: Vec::with_capacity(targets.len()),
            heap: BinaryHeap::with_capacity(targets.len()),
            in_flight: FuturesUnordered::new(),
            events: VecDeque::new(),
            providers: HashMap::new(),
            remaining: targets.len(),
            started: now,
            deadline: Deadline::NONE,
            cancel: None,
            timer: None,
            downloads: None,
            #[cfg(feature = "callbacks")]
            callbacks: None,
            #[cfg(feature = "callbacks")]
            index_of: HashMap::new(),
            watcher,
        };
        for (index, target) in targets.into_iter().enumerate() {
            let source = watch.watcher.sources.get(&target.provider).cloned();
            let listed = watch.watcher.options.batch
                && source.as_ref().and_then(|s| s.listing()).is_some_and(|l| l.covers(&target.id));
            watch.jobs.push(TrackedJob {
                provider: target.provider,
                tracker: StatusTracker::new(target.id.clone()),
                phase: Phase::Scheduled(Check::Due),
                coverage: if listed { Coverage::Listed { seen: None } } else { Coverage::Own },
                generation: 0,
                polls: 0,
                failures: Failures::default(),
                last_read: now,
                watched_from: now,
                read_sent: None,
                server_hint: None,
                hint: None,
                last_woken: None,
                running_seen: None,
                key: None,
                estimate: None,
            });
            if source.is_none() {
                watch.finish(index, Err(WaitError::NoSource { id: target.id, provider: target.provider }));
                continue;
            }
            // An id that names its provider is never sent to another one.
            if let Some(own) = target.id.provider().filter(|own| *own != target.provider) {
                watch.finish(index, Err(WaitError::WrongProvider { id: target.id, provider: target.provider, own }));
                continue;
            }
            // Before any read only the id speaks: plan on what is learned for its provider and kind.
            let kind_key = DurationKey::for_kind(target.provider, target.id.kind());
            watch.jobs[index].estimate = watch.watcher.learning.as_ref().and_then(|l| l.estimate(&kind_key));
            let ctx = watch.context(index, now);
            let first = watch.watcher.policy.first_delay(&ctx);
            // Rule 3: a job old enough to be finished is read at once, whether a listing covers it or
            // not. A covered job of unknown age waits for the first listing, which tells its age.
            let unknown_age = ctx.age.is_none() && listed;
            let check = if first.is_zero() && !unknown_age { Check::Record } else { Check::Due };
            watch.schedule(index, now, first, check);
        }
        watch
    }

    /// Ends the watch `timeout` after it started: every unfinished job ends with
    /// [`WaitError::TimedOut`], and requests and downloads in flight are cut.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Deadline::after(self.started, timeout);
        self
    }

    /// Ends the watch when `token` is cancelled (each job then ends with [`WaitError::Cancelled`]).
    ///
    /// The token belongs to this watch only: cancelling it leaves the [`Watcher`] usable.
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        let waiting = Box::pin(token.clone().cancelled_owned());
        self.cancel = Some((token, waiting));
        self
    }

    /// Downloads the outputs of every job that completes, as it completes, a few jobs at a time;
    /// each job's files arrive as a [`WatchEvent::Downloaded`]. The deadline and cancellation cut
    /// downloads in flight too.
    ///
    /// The directory is created now if missing, and refused now ([`DownloadError::Directory`]) if it
    /// cannot be written: before the wait starts, never after it.
    pub fn with_downloads(mut self, plan: DownloadPlan) -> Result<Self, DownloadError> {
        plan.check_dir()?;
        self.downloads = Some(Downloads {
            plan,
            queue: VecDeque::new(),
            running: FuturesUnordered::new(),
            running_ids: HashMap::new(),
        });
        Ok(self)
    }

    /// Wakes jobs from pushed callbacks ([`callbacks::channel`](crate::callbacks::channel)): each
    /// callback for a watched job starts a read of its record at once; only the record decides.
    /// Polling goes on as the fallback, sparser (by `callback_fallback_factor`) for jobs no listing
    /// covers, so a lost callback costs latency, never the job.
    #[cfg(feature = "callbacks")]
    pub fn with_callbacks(mut self, wakes: Wakes) -> Self {
        self.index_of = self.jobs.iter().enumerate().map(|(i, t)| (t.tracker.id().as_str().to_owned(), i)).collect();
        self.callbacks = Some(wakes);
        self
    }

    /// Jobs not finished yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next event, or `None` once every job has finished and every download is done.
    pub async fn next_event(&mut self) -> Option<WatchEvent> {
        self.next().await
    }

    /// Turns the watch into a stream of events (it already is one; kept for readability at call sites).
    pub fn into_stream(self) -> impl Stream<Item = WatchEvent> + Send {
        self
    }

    fn is_over(&self) -> bool {
        self.remaining == 0 && self.downloads.as_ref().is_none_or(|d| d.queue.is_empty() && d.running.is_empty())
    }

    /// What the policy knows about a job: its records first; before any record, the listing's claims
    /// (they only move the next check, never the job's state).
    fn context(&self, index: usize, now: Timestamp) -> PollContext<'_> {
        let t = &self.jobs[index];
        let job = t.tracker.job();
        let hint = t.hint.as_ref().filter(|_| job.is_none());
        let hinted_age = hint.and_then(|h| h.created_at).map(|created| since(now, created));
        let mut ctx = PollContext::new(t.provider);
        ctx.kind = job.and_then(|j| j.kind).or_else(|| t.tracker.id().kind()).or_else(|| hint.and_then(|h| h.kind));
        ctx.model = job.and_then(|j| j.model.as_deref()).or_else(|| hint.and_then(|h| h.model.as_deref()));
        ctx.age = t.tracker.age(now).map(positive).or(hinted_age);
        ctx.waited = since(now, self.started);
        ctx.status = hint.and_then(|h| h.status).filter(|s| !s.is_terminal()).unwrap_or_else(|| t.tracker.status());
        ctx.progress = job.and_then(|j| j.progress).or_else(|| hint.and_then(|h| h.progress));
        ctx.polls = t.polls;
        ctx.server_hint = t.server_hint;
        ctx.running_for = t.running_for(ctx.progress, now);
        ctx.estimate = t.estimate.as_deref();
        // What the provider's documents say, as its adapter declares it.
        ctx.window = self
            .watcher
            .sources
            .get(&t.provider)
            .and_then(|s| s.documented_window(ctx.kind, ctx.model))
            .map(Into::into);
        ctx
    }

    /// The policy's delay to the job's next check; sparser while callbacks are expected (a callback
    /// usually says when it finished), except for jobs a listing answers for, which cost nothing each.
    fn next_delay(&self, index: usize, now: Timestamp) -> Duration {
        let delay = self.watcher.policy.next_delay(&self.context(index, now), self.watcher.env.random());
        #[cfg(feature = "callbacks")]
        let expects_callbacks = self.callbacks.is_some();
        #[cfg(not(feature = "callbacks"))]
        let expects_callbacks = false;
        match (expects_callbacks, self.jobs[index].coverage) {
            (true, Coverage::Own) => {
                let factor = self.watcher.options.callback_fallback_factor;
                let factor = if factor.is_finite() { factor.clamp(1.0, 100.0) } else { 1.0 };
                crate::time::secs(delay.as_secs_f64() * factor)
            }
            _ => delay,
        }
    }

    fn provider(&mut self, provider: Provider) -> &mut ProviderState {
        provider_state(&mut self.providers, provider, self.watcher.options.listing_failure_limit)
    }

    /// Puts the job in the timer heap `delay` from now, earlier if its 1-hour mark or the
    /// unread bound comes first; returns the delay actually used.
    fn schedule(&mut self, index: usize, now: Timestamp, delay: Duration, check: Check) -> Duration {
        let max_unread = self.watcher.options.max_unread;
        let t = &mut self.jobs[index];
        let mut due = after(now, delay);
        // Rule 2: wake just past the mark for a confirming read. Only a future mark counts: one
        // already past is handled by the next check, and clamping to it would spin.
        if let Some(mark) = t.tracker.deadline(now).map(|m| after(m, Duration::from_millis(1)))
            && mark > now
        {
            due = due.min(mark);
        }
        // Rule 5: never longer than the bound without a record read. A record check is such a read
        // already, waiting for its slot or back-off: pulling it to "now" would spin. Uncapped, so
        // that it agrees with `own_read_reason` about when a job is overdue.
        if check == Check::Due {
            due = due.min(t.last_read.checked_add(max_unread).unwrap_or(Timestamp::MAX).max(now));
        }
        t.generation = t.generation.wrapping_add(1);
        t.phase = Phase::Scheduled(check);
        self.heap.push(Reverse((due, t.generation, index)));
        since(due, now)
    }

    /// Starts the checks of every job that is due, then any listing those checks wait for.
    fn dispatch(&mut self, now: Timestamp) {
        while let Some(Reverse((due, generation, index))) = self.heap.peek().copied() {
            if due > now {
                break;
            }
            self.heap.pop();
            let t = &self.jobs[index];
            let Phase::Scheduled(check) = t.phase else { continue };
            if t.generation != generation {
                continue;
            }
            self.start_check(index, now, check);
        }
        let providers: Vec<Provider> = self.providers.keys().copied().collect();
        for provider in providers {
            self.start_waiting(provider, now);
            self.serve_listing(provider, now);
        }
        self.start_downloads();
    }

    /// A due job: its own record, or the listing when the rules allow.
    fn start_check(&mut self, index: usize, now: Timestamp, check: Check) {
        if check == Check::Record {
            return self.read_record(index, now);
        }
        let max_unread = self.watcher.options.max_unread;
        let t = &self.jobs[index];
        let state = provider_state(&mut self.providers, t.provider, self.watcher.options.listing_failure_limit);
        let coverage = t.coverage;
        let reason = hints::own_read_reason(&coverage, &state.listing, &t.tracker, t.last_read, now, max_unread);
        if reason.is_some() {
            self.read_record(index, now);
        } else {
            state.listing.waiters.push(index);
            self.jobs[index].phase = Phase::AwaitingListing;
        }
    }

    /// Starts a read of the job's own record, under the provider's budget.
    fn read_record(&mut self, index: usize, now: Timestamp) {
        let provider = self.jobs[index].provider;
        let permit = match self.watcher.budget.try_take(provider, RequestKind::Record, now, self.watcher.pace()) {
            Ok(permit) => permit,
            Err(Slot::At(at)) => {
                self.schedule(index, now, since(at, now), Check::Record);
                return;
            }
            Err(Slot::WhenOneFinishes) => {
                self.provider(provider).waiting.push_back(index);
                self.jobs[index].phase = Phase::AwaitingSlot;
                return;
            }
        };
        let Some(source) = self.watcher.sources.get(&provider).cloned() else { return };
        let t = &mut self.jobs[index];
        t.phase = Phase::Reading;
        t.read_sent = Some(now);
        t.polls = t.polls.saturating_add(1);
        let id = t.tracker.id().clone();
        let env = self.watcher.env.clone();
        let timeout = self.watcher.request_timeout(now, self.deadline);
        self.in_flight.push(Box::pin(async move {
            let fetch = async {
                permit.shared_turn(&env, None).await;
                source.fetch(&id).await
            };
            let result = bounded(&env, timeout, fetch).await;
            drop::<Permit>(permit);
            Completion::Record { index, result: Box::new(result) }
        }));
    }

    /// Starts the jobs waiting for a concurrency slot, oldest first, while slots are free.
    fn start_waiting(&mut self, provider: Provider, now: Timestamp) {
        while let Some(index) = self.provider(provider).waiting.pop_front() {
            if self.jobs[index].phase != Phase::AwaitingSlot {
                continue;
            }
            self.read_record(index, now);
            if self.jobs[index].phase == Phase::AwaitingSlot {
                // Still no slot: it went back to the end of the queue; put it first again.
                let waiting = &mut self.provider(provider).waiting;
                if let Some(back) = waiting.pop_back() {
                    waiting.push_front(back);
                }
                break;
            }
        }
    }

    fn complete(&mut self, completion: Completion, now: Timestamp) {
        let provider = match &completion {
            Completion::Record { index, .. } => self.jobs[*index].provider,
            Completion::ListingPage { provider, .. } => *provider,
        };
        match completion {
            Completion::Record { index, result } => self.record_read(index, *result, now),
            Completion::ListingPage { provider, result } => self.listing_page_read(provider, result, now),
        }
        // A slot opened: the oldest job waiting for one goes next.
        self.start_waiting(provider, now);
    }

    fn record_read(&mut self, index: usize, result: Result<FetchedJob, TransportError>, now: Timestamp) {
        if self.jobs[index].phase != Phase::Reading {
            return;
        }
        let fetched = match result {
            Ok(fetched) => fetched,
            Err(error) => return self.read_failed(index, error, now),
        };
        let t = &self.jobs[index];
        if let Some(record_id) = crate::watcher::foreign_record(t.tracker.id(), &fetched) {
            let (id, polls) = (t.tracker.id().clone(), t.polls);
            return self.finish(index, Err(WaitError::WrongRecord { id, record_id, polls }));
        }
        // A server's suggested poll interval is a floor, like its Retry-After, and capped like it.
        let hint = self.watcher.capped_hint(fetched.retry_after.max(fetched.poll_after));
        let t = &mut self.jobs[index];
        t.failures = Failures::default();
        t.last_read = now;
        t.server_hint = hint;
        // Rule 1: only a record reaches the tracker. It also applies the 1-hour rule (rule 2): a
        // record still `created` past the mark fails the job; a final record wins.
        let observation = t.tracker.observe(fetched.job, now);
        if let Some(learning) = &self.watcher.learning {
            // The record teaches how long such jobs take: a finish time, or "still running at this age".
            let spent = (t.polls, t.watched_from);
            (t.key, t.estimate) = learn::observe_read(learning, t.provider, &t.tracker, &fetched.record, spent, now);
        }
        if t.tracker.is_terminal() {
            let finished = self.finished_job(index, Some(fetched.record), now);
            return self.finish(index, finished);
        }
        if t.tracker.status() == JobStatus::Running {
            let progress = t.tracker.job().and_then(|j| j.progress);
            t.seen_running(progress, now);
        }
        let note = match observation {
            Observation::Stale { reported, kept } => Some(format!("stale read ({reported}) ignored; still {kept}")),
            Observation::Unrecognized { provider_status } => {
                Some(format!("unknown status `{provider_status}`; still waiting"))
            }
            _ => None,
        };
        let delay = self.next_delay(index, now);
        let check = self.check_after(index, now);
        self.reschedule_with_event(index, now, delay, check, note);
    }

    /// A failed read: the error policy decides; past the 1-hour mark the local rule stands.
    fn read_failed(&mut self, index: usize, error: TransportError, now: Timestamp) {
        // Rule 2: the confirming read failed, so the local rule stands (if a record said `created`).
        if self.jobs[index].tracker.check_deadline(now) {
            let finished = self.finished_job(index, None, now);
            return self.finish(index, finished);
        }
        let provider = self.jobs[index].provider;
        let hint = self.watcher.capped_hint(error.retry_after());
        let note = format!("{error}; retrying");
        let normal = self.next_delay(index, now);
        let mut failures = std::mem::take(&mut self.jobs[index].failures);
        let next = self.watcher.after_failure(provider, RequestKind::Record, &mut failures, error, normal, now);
        self.jobs[index].failures = failures;
        let delay = match next {
            Next::Retry(delay) => delay,
            Next::End(failure) => {
                let t = &self.jobs[index];
                let (id, status) = (t.tracker.id().clone(), t.tracker.status());
                let mut ended = WaitError::from_failure(id, failure, status, since(now, self.started));
                if let WaitError::Fetch { polls, .. } | WaitError::RetriesExhausted { polls, .. } = &mut ended {
                    *polls = t.polls;
                }
                return self.finish(index, Err(ended));
            }
        };
        self.jobs[index].server_hint = hint;
        self.reschedule_with_event(index, now, delay, Check::Record, Some(note));
    }

    fn reschedule_with_event(
        &mut self,
        index: usize,
        now: Timestamp,
        delay: Duration,
        check: Check,
        note: Option<String>,
    ) {
        let next_delay = self.schedule(index, now, delay, check);
        self.progress_event(index, now, next_delay, note);
    }

    /// Reports where a job stands: what its records said, and when it is checked next.
    fn progress_event(&mut self, index: usize, now: Timestamp, next_delay: Duration, note: Option<String>) {
        let t = &self.jobs[index];
        self.events.push_back(WatchEvent::Progress(JobProgress {
            index,
            id: t.tracker.id().clone(),
            status: t.tracker.status(),
            progress: t.tracker.job().and_then(|j| j.progress),
            elapsed: since(now, self.started),
            polls: t.polls,
            next_delay,
            note,
        }));
    }

    /// The final result of a job whose tracker is terminal: completed, or [`WaitError::JobFailed`].
    fn finished_job(
        &self,
        index: usize,
        record: Option<ProviderRecord>,
        now: Timestamp,
    ) -> Result<FinishedJob, WaitError> {
        let t = &self.jobs[index];
        let Some(job) = t.tracker.job().cloned() else {
            let id = t.tracker.id().clone();
            return Err(WaitError::Cancelled { id });
        };
        let local = t.tracker.timed_out_locally();
        let finished = FinishedJob {
            job,
            record: if local { None } else { record },
            polls: t.polls,
            elapsed: since(now, self.started),
            timed_out_locally: local,
        };
        if finished.is_completed() { Ok(finished) } else { Err(WaitError::JobFailed(Box::new(finished))) }
    }

    fn finish(&mut self, index: usize, result: Result<FinishedJob, WaitError>) {
        let t = &mut self.jobs[index];
        if t.phase == Phase::Done {
            return;
        }
        t.phase = Phase::Done;
        self.remaining = self.remaining.saturating_sub(1);
        let id = t.tracker.id().clone();
        if let (Ok(finished), Some(downloads), Some(source)) =
            (&result, self.downloads.as_mut(), self.watcher.sources.get(&t.provider))
        {
            let job = finished.job.clone();
            downloads.queue.push_back(QueuedDownload { index, id: id.clone(), job, source: source.clone() });
        }
        self.events.push_back(WatchEvent::Ended(Box::new(JobEnded { index, id, result })));
    }

    /// Ends every unfinished job and download: the deadline passed (a read still in flight then is
    /// its last failure: it got no answer in time), or the watch was cancelled.
    fn end_all(&mut self, now: Timestamp, cancelled: bool) {
        // Dropping the futures cuts their requests and removes half-written downloads.
        self.in_flight = FuturesUnordered::new();
        for index in 0..self.jobs.len() {
            let t = &self.jobs[index];
            if t.phase == Phase::Done {
                continue;
            }
            let id = t.tracker.id().clone();
            let error = if cancelled {
                WaitError::Cancelled { id }
            } else {
                WaitError::TimedOut {
                    id,
                    status: t.tracker.status(),
                    elapsed: since(now, self.started),
                    polls: t.polls,
                    last: t.tracker.job().cloned().map(Box::new),
                    last_error: in_flight_error(t, now).or_else(|| t.failures.last.clone()).map(Box::new),
                }
            };
            self.finish(index, Err(error));
        }
        if let Some(downloads) = self.downloads.as_mut() {
            let reason = if cancelled { Interruption::Cancelled } else { Interruption::Deadline };
            downloads.running = FuturesUnordered::new();
            let running = std::mem::take(&mut downloads.running_ids).into_iter();
            let queued = std::mem::take(&mut downloads.queue).into_iter().map(|q| (q.index, q.id));
            for (index, id) in running.chain(queued) {
                let error = DownloadError::Interrupted { id: id.to_string(), reason };
                self.events.push_back(WatchEvent::Downloaded(Box::new(JobDownloaded {
                    index,
                    id,
                    result: Err(error),
                })));
            }
        }
    }

    /// When the watch must wake up next, with nothing in flight answering first.
    fn next_wake(&self) -> Option<Timestamp> {
        let heap = self.heap.peek().map(|Reverse((due, _, _))| *due);
        // A listing probe already due but not sent (no job wants it yet) must not wake the loop again and again.
        let now = self.watcher.env.now();
        let listings = self.providers.values().filter_map(|p| p.listing.retry_at()).filter(|at| *at > now);
        // A slot held by another watch or a download comes back without telling this watch: look again soon.
        let blocked = self.providers.values().any(|p| !p.waiting.is_empty() || p.listing_blocked);
        let recheck = blocked.then(|| after(now, crate::budget::RECHECK));
        heap.into_iter().chain(listings).chain(recheck).chain(self.deadline.at()).min()
    }
}

fn provider_state(
    providers: &mut HashMap<Provider, ProviderState>,
    provider: Provider,
    listing_failure_limit: u32,
) -> &mut ProviderState {
    providers.entry(provider).or_insert_with(|| ProviderState {
        waiting: VecDeque::new(),
        listing_blocked: false,
        listing: ListingState::new(listing_failure_limit),
    })
}

// The watch holds only boxed futures and plain data.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Watch>();
};

/// The failure of a record read the deadline cut: no response within the time it had.
fn in_flight_error(t: &TrackedJob, now: Timestamp) -> Option<TransportError> {
    let sent = t.read_sent.filter(|_| t.phase == Phase::Reading)?;
    Some(TransportError::timeout(since(now, sent)).with_attempts(1))
}
