//! A scripted in-process job source: each read answers the next step of its job's script, in tokio's time.
//!
//! It stands in for an adapter, not for HTTP: records are built as the documented JSON and decoded
//! as an adapter decodes them ([`super::records`]), errors are the adapters' `TransportError`s, and every request
//! is logged (when it started, when it ended, what it answered) so the properties can compare what
//! the watcher reports with what the source really said.

use super::records::{foreign_id, record};
use async_trait::async_trait;
use genjob::{
    Endpoint, Environment, FetchedJob, Job, JobId, JobListing, JobSource, JobStatus, ListingEntry, ListingPage,
    Provider, TransportError,
};
use genjob_transport::{ErrorKind, ListingScope, ProviderMessage};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long the source takes to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// Answers after this long.
    After(Duration),
    /// Never answers: only the watcher's request timeout or deadline ends the request.
    Never,
}

/// What a record's creation time field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The creation time the id encodes.
    AsId,
    /// No creation time at all.
    Absent,
    /// `0001-01-01T00:00:00Z`: a broken replica.
    YearOne,
    /// `9999-12-30T21:30:00Z`: a broken replica (the latest hour jiff can still represent, so its
    /// 1-hour mark overflows).
    Year9999,
}

/// The status a record states, in neutral words; each provider spells it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// Dreamina `created`, token360 `queued`.
    Waiting,
    /// token360 `in_progress` (Dreamina has no such state).
    Running,
    /// `completed`.
    Completed,
    /// `failed`.
    Failed,
}

/// One record the source answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpec {
    /// Its status.
    pub said: Said,
    /// Its creation time field.
    pub created: Created,
    /// True when the record carries another job's id than the one asked for.
    pub foreign_id: bool,
    /// Outputs of a completed record (0 to 2): a later record may list fewer than an earlier one.
    pub outputs: u8,
    /// token360 progress in percent.
    pub progress: Option<u8>,
    /// A `Retry-After` the answer carries.
    pub retry_after: Option<Duration>,
}

/// One failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSpec {
    /// HTTP 429 with this `Retry-After`.
    RateLimited(Option<Duration>),
    /// HTTP 503 with this `Retry-After`.
    Unavailable(Option<Duration>),
    /// No answer in time (the adapter's own timeout).
    Timeout,
    /// HTTP 404.
    NotFound,
    /// A success status with a body that is not the record.
    InvalidResponse,
}

impl ErrorSpec {
    /// The error an adapter would return.
    pub fn build(self) -> TransportError {
        let http = |kind, status| {
            TransportError::new(kind, "").with_status(status).with_message(ProviderMessage::default()).with_attempts(1)
        };
        match self {
            Self::RateLimited(retry_after) => http(ErrorKind::RateLimited, 429).with_retry_after(retry_after),
            Self::Unavailable(retry_after) => http(ErrorKind::Server, 503).with_retry_after(retry_after),
            Self::Timeout => TransportError::timeout(Duration::from_secs(30)).with_attempts(1),
            Self::NotFound => http(ErrorKind::NotFound, 404),
            Self::InvalidResponse => TransportError::new(
                ErrorKind::InvalidResponse,
                "expected value at line 1 column 1 (content type text/html)",
            )
            .with_status(200)
            .with_attempts(1),
        }
    }
}

/// What one record read answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A record.
    Record(RecordSpec),
    /// A failed request.
    Error(ErrorSpec),
}

/// One step of a job's script: a delay, then an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How long the answer takes.
    pub delay: Delay,
    /// The answer.
    pub answer: Answer,
}

/// One job a listing shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySpec {
    /// The watched job it names, by index; an index past the watched jobs names a stranger.
    pub job: usize,
    /// The elapsed time it claims.
    pub elapsed: Option<Duration>,
    /// The status it claims.
    pub status: Option<JobStatus>,
}

/// One step of the listing's script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingStep {
    /// How long the answer takes.
    pub delay: Delay,
    /// The entries, or a failed request.
    pub answer: Result<Vec<EntrySpec>, ErrorSpec>,
}

/// A watched job and its script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedJob {
    /// The provider that runs it.
    pub provider: Provider,
    /// Its id, in the provider's real form.
    pub id: String,
    /// Its creation time (the one its Dreamina id encodes).
    pub created: Timestamp,
    /// The answers to its record reads, in order; the last one repeats forever.
    pub steps: Vec<Step>,
}

/// What one request turned out to be.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Not answered yet.
    InFlight,
    /// Answered with a record, normalized.
    Record(Box<Job>),
    /// A listing answered with its entries.
    Listed,
    /// Answered with an error.
    Error(String),
    /// Dropped by the watcher before answering (its timeout or deadline).
    Dropped,
}

/// One request the source saw.
#[derive(Debug, Clone)]
pub struct Call {
    /// The job read, by index; `None` for a listing request.
    pub job: Option<usize>,
    /// The provider asked.
    pub provider: Provider,
    /// When the request reached the source.
    pub started: Timestamp,
    /// When it answered or was dropped.
    pub ended: Option<Timestamp>,
    /// What it answered.
    pub outcome: Outcome,
}

/// Every request the sources saw, and how many were in flight at once.
#[derive(Debug, Default)]
pub struct Log {
    /// The requests, in the order they reached a source.
    pub calls: Vec<Call>,
    in_flight: HashMap<Provider, usize>,
    /// The most requests in flight at once, per provider.
    pub max_in_flight: HashMap<Provider, usize>,
}

/// The log shared by the sources of one case.
pub type SharedLog = Arc<Mutex<Log>>;

fn lock(log: &SharedLog) -> MutexGuard<'_, Log> {
    // A poisoned log only means a panic elsewhere, which fails the case anyway.
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One request in flight: logs its end, or its drop when the watcher cuts it.
struct CallGuard {
    log: SharedLog,
    env: Arc<dyn Environment>,
    provider: Provider,
    call: usize,
}

impl CallGuard {
    fn start(log: &SharedLog, env: &Arc<dyn Environment>, provider: Provider, job: Option<usize>) -> Self {
        let mut l = lock(log);
        let call = l.calls.len();
        l.calls.push(Call { job, provider, started: env.now(), ended: None, outcome: Outcome::InFlight });
        let now = {
            let n = l.in_flight.entry(provider).or_default();
            *n += 1;
            *n
        };
        let max = l.max_in_flight.entry(provider).or_default();
        *max = (*max).max(now);
        Self { log: log.clone(), env: env.clone(), provider, call }
    }

    fn answered(&self, outcome: Outcome) {
        let mut l = lock(&self.log);
        let call = &mut l.calls[self.call];
        call.ended = Some(self.env.now());
        call.outcome = outcome;
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let now = self.env.now();
        let mut l = lock(&self.log);
        let call = &mut l.calls[self.call];
        if call.ended.is_none() {
            call.ended = Some(now);
            call.outcome = Outcome::Dropped;
        }
        if let Some(n) = l.in_flight.get_mut(&self.provider) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Steps answered in order, the last one repeating.
#[derive(Debug)]
struct Script<T> {
    steps: Vec<T>,
    next: AtomicUsize,
}

impl<T> Script<T> {
    fn new(steps: Vec<T>) -> Self {
        assert!(!steps.is_empty(), "a script needs at least one step");
        Self { steps, next: AtomicUsize::new(0) }
    }

    fn take(&self) -> &T {
        let at = self.next.fetch_add(1, Ordering::Relaxed);
        &self.steps[at.min(self.steps.len() - 1)]
    }
}

/// Answers reads of one provider's jobs from their scripts, and its listing from the listing's script.
#[derive(Debug)]
pub struct ScriptedSource {
    provider: Provider,
    env: Arc<dyn Environment>,
    /// The watched jobs of this provider, by id: their index and script.
    jobs: HashMap<String, (usize, ScriptedJob, Script<Step>)>,
    /// Every watched id, by index, to name listing entries.
    ids: Vec<String>,
    listing: Option<Script<ListingStep>>,
    log: SharedLog,
}

impl ScriptedSource {
    /// The source of `provider`'s jobs among `jobs`; `listing` makes it list its executing jobs.
    pub fn new(
        provider: Provider,
        jobs: &[ScriptedJob],
        listing: Option<Vec<ListingStep>>,
        env: Arc<dyn Environment>,
        log: SharedLog,
    ) -> Self {
        let own = jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| j.provider == provider)
            .map(|(i, j)| (j.id.clone(), (i, j.clone(), Script::new(j.steps.clone()))))
            .collect();
        Self {
            provider,
            env,
            jobs: own,
            ids: jobs.iter().map(|j| j.id.clone()).collect(),
            listing: listing.map(Script::new),
            log,
        }
    }

    async fn wait(delay: Delay) {
        match delay {
            Delay::After(d) => tokio::time::sleep(d).await,
            Delay::Never => std::future::pending().await,
        }
    }
}

#[async_trait]
impl JobSource for ScriptedSource {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        let Some((index, job, script)) = self.jobs.get(id.as_str()) else {
            panic!("the watcher read {id}, which it does not watch on {}", self.provider);
        };
        let guard = CallGuard::start(&self.log, &self.env, self.provider, Some(*index));
        let step = script.take();
        Self::wait(step.delay).await;
        match &step.answer {
            Answer::Record(spec) => {
                let record = record(job, spec, self.env.now());
                let fetched = FetchedJob::new(record, 1, spec.retry_after);
                guard.answered(Outcome::Record(Box::new(fetched.job.clone())));
                Ok(fetched)
            }
            Answer::Error(spec) => {
                let error = spec.build();
                guard.answered(Outcome::Error(error.to_string()));
                Err(error)
            }
        }
    }

    fn listing(&self) -> Option<&dyn JobListing> {
        self.listing.as_ref().map(|_| self as &dyn JobListing)
    }
}

#[async_trait]
impl JobListing for ScriptedSource {
    fn covers(&self, id: &JobId) -> bool {
        // As the Dreamina adapter: the listing shows the jobs read from `/videos`.
        id.endpoint() == Some(Endpoint::DreaminaVideos)
    }

    async fn list_page(&self, _scope: &ListingScope, _cursor: Option<&str>) -> Result<ListingPage, TransportError> {
        self.listed().await.map(|entries| ListingPage::new(entries, None))
    }
}

impl ScriptedSource {
    /// The scripted listing's next answer: one page holding every entry.
    async fn listed(&self) -> Result<Vec<ListingEntry>, TransportError> {
        let Some(script) = &self.listing else {
            panic!("the watcher listed {}, which has no listing", self.provider);
        };
        let guard = CallGuard::start(&self.log, &self.env, self.provider, None);
        let step = script.take();
        Self::wait(step.delay).await;
        match &step.answer {
            Ok(entries) => {
                guard.answered(Outcome::Listed);
                let stranger = foreign_id(self.provider, self.env.now());
                Ok(entries
                    .iter()
                    .map(|e| {
                        let id = self.ids.get(e.job).unwrap_or(&stranger);
                        ListingEntry::executing(id.clone()).with_elapsed(e.elapsed).with_status(e.status)
                    })
                    .collect())
            }
            Err(spec) => {
                let error = spec.build();
                guard.answered(Outcome::Error(error.to_string()));
                Err(error)
            }
        }
    }
}

/// A snapshot of the log.
pub fn snapshot(log: &SharedLog) -> (Vec<Call>, HashMap<Provider, usize>) {
    let l = lock(log);
    (l.calls.clone(), l.max_in_flight.clone())
}
