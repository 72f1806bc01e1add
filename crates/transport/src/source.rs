//! The provider-neutral job source every adapter implements, and what the poller builds on.

use async_trait::async_trait;
use genjob_models::{Job, JobId, JobKind, JobStatus, Output, Provider, ProviderRecord};
use jiff::Timestamp;
use std::time::Duration;

use crate::{DownloadConfig, Fetched, FetchedFile, TransportError};
use std::path::Path;

/// One job record as read from a provider: the typed record and its normalized view.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchedJob {
    /// The provider's record, typed and lossless.
    pub record: ProviderRecord,
    /// The normalized view of `record`.
    pub job: Job,
    /// Requests the transport sent for this read (retries included).
    pub attempts: u32,
    /// A `Retry-After` hint the server attached to the answer, if any.
    pub retry_after: Option<Duration>,
    /// The poll interval the server suggests, if any.
    pub poll_after: Option<Duration>,
}

impl FetchedJob {
    /// Wraps a decoded record, normalizing it.
    pub fn new(record: ProviderRecord, attempts: u32, retry_after: Option<Duration>) -> Self {
        let job = record.normalize();
        Self { record, job, attempts, retry_after, poll_after: None }
    }

    /// Wraps a record read through [`HttpClient::get_json`](crate::HttpClient::get_json), keeping the server's hints.
    pub fn from_fetched<T>(fetched: Fetched<T>, wrap: impl FnOnce(T) -> ProviderRecord) -> Self {
        let Fetched { value, attempts, retry_after, poll_after, .. } = fetched;
        Self { poll_after, ..Self::new(wrap(value), attempts, retry_after) }
    }
}

/// Reads jobs of one provider: implemented by each adapter crate, and by anyone adding a provider.
///
/// Every method makes **one request** (or a bounded few, said where), never retried here: the caller
/// (the genjob watcher) owns the error policy, so its request budget bounds the real number of
/// requests, even in a 429 storm.
#[async_trait]
pub trait JobSource: Send + Sync + std::fmt::Debug {
    /// The provider this source reads.
    fn provider(&self) -> Provider;

    /// Reads one job's current record in a single attempt.
    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError>;

    /// The provider's documented time to finish for a kind of job (and model), when its documents
    /// give one: what the poller plans on until it has learned better.
    fn documented_window(&self, kind: Option<JobKind>, model: Option<&str>) -> Option<FinishWindow> {
        let _ = (kind, model);
        None
    }

    /// The provider's listing of many jobs in one request, when it has one.
    ///
    /// A listing is a *hint*: it may wake a job or spare a request, but only the job's own record
    /// ([`JobSource::fetch`]) decides its state.
    fn listing(&self) -> Option<&dyn JobListing> {
        None
    }

    /// True when `output` is served by the provider's own API (it needs the API token): then
    /// [`JobSource::fetch_output`] fetches it, never the token-less downloader.
    fn serves(&self, output: &Output) -> bool {
        let _ = output;
        false
    }

    /// Fetches an output the provider's API serves ([`JobSource::serves`]) in one request, into
    /// `dir`: the file itself, or a link for the token-less downloader, decided by the answer.
    async fn fetch_output(
        &self,
        id: &JobId,
        output: &Output,
        dir: &Path,
        limits: &DownloadConfig,
    ) -> Result<ServedOutput, TransportError> {
        let _ = (id, dir, limits);
        Ok(ServedOutput::Link(output.url.clone()))
    }

    /// The files to download for a finished job, named without a request: by default the URLs its
    /// record lists. A provider whose records carry no URL names outputs its API serves here
    /// ([`JobSource::serves`]), fetched later by [`JobSource::fetch_output`]; an empty list for a
    /// completed job means its outputs cannot be found.
    async fn outputs(&self, id: &JobId, job: &Job) -> Result<Vec<Output>, TransportError> {
        let _ = id;
        Ok(job.outputs.clone())
    }
}

/// A provider's documented time to finish: most jobs of the kind finish between `earliest` and `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FinishWindow {
    /// Jobs rarely finish before this age.
    pub earliest: Duration,
    /// Most jobs have finished by this age.
    pub latest: Duration,
}

impl FinishWindow {
    /// A window from whole seconds.
    pub const fn secs(earliest: u64, latest: u64) -> Self {
        Self { earliest: Duration::from_secs(earliest), latest: Duration::from_secs(latest) }
    }
}

/// Refuses, before any request, an id that names another provider than `provider`: an id is never
/// sent to another provider's API. Opaque ids name none and pass.
pub fn ensure_own_id(id: &JobId, provider: Provider) -> Result<(), TransportError> {
    match id.provider() {
        Some(own) if own != provider => Err(TransportError::new(
            crate::ErrorKind::InvalidInput,
            format!("`{}` is a {own} job id; a {provider} client cannot read it", id.as_str().escape_debug()),
        )),
        _ => Ok(()),
    }
}

/// An output as the provider's API served it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServedOutput {
    /// The file itself, complete, under a temporary name.
    File(FetchedFile),
    /// Where to download it (a signed URL): for the token-less downloader.
    Link(String),
}

/// Which jobs a listing request must reach, so a paginated listing reads no more pages than needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListingScope {
    /// The watched jobs the listing should show.
    pub ids: Vec<String>,
    /// The creation time of the oldest of them, when known: a newest-first listing can stop there.
    pub oldest: Option<Timestamp>,
}

impl ListingScope {
    /// A scope over these jobs.
    pub fn new(ids: Vec<String>, oldest: Option<Timestamp>) -> Self {
        Self { ids, oldest }
    }
}

/// A provider's listing of many jobs: the batch-watching capability of an adapter.
///
/// A listing is read a page at a time ([`JobListing::list_page`], one request each), so whoever reads
/// it paces every page: the genjob watcher takes a slot of the provider's request budget per page.
#[async_trait]
pub trait JobListing: Send + Sync + std::fmt::Debug {
    /// True when the listing shows this job (while it runs, or until it is old).
    fn covers(&self, id: &JobId) -> bool;

    /// Reads one page in one request: the first when `cursor` is `None`, else the one `cursor` names.
    ///
    /// `scope` holds the watched jobs not seen on earlier pages of this listing; the page's
    /// [`ListingPage::next`] is `None` when no further page can show one of them.
    async fn list_page(&self, scope: &ListingScope, cursor: Option<&str>) -> Result<ListingPage, TransportError>;

    /// The most pages one listing reads, however many the server offers.
    fn max_pages(&self) -> usize {
        1
    }

    /// Reads every page `scope` needs, one request after another, without pacing or retrying: for
    /// callers that use an adapter alone. The genjob watcher reads pages itself, each under its budget.
    async fn list(&self, scope: &ListingScope) -> Result<Vec<ListingEntry>, TransportError> {
        let mut scope = scope.clone();
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..self.max_pages().max(1) {
            let page = self.list_page(&scope, cursor.as_deref()).await?;
            scope.ids.retain(|id| !page.entries.iter().any(|e| &e.id == id));
            entries.extend(page.entries);
            // A cursor that does not move would read the same page for ever.
            match page.next {
                Some(next) if cursor.as_deref() != Some(next.as_str()) && !scope.ids.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        Ok(entries)
    }
}

/// One page of a listing: its entries, and the cursor of the next page when one is needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListingPage {
    /// The jobs on this page.
    pub entries: Vec<ListingEntry>,
    /// The next page's cursor; `None` when this page ends the listing for the scope.
    pub next: Option<String>,
}

impl ListingPage {
    /// A page and the cursor of the one after it.
    pub fn new(entries: Vec<ListingEntry>, next: Option<String>) -> Self {
        Self { entries, next }
    }
}

/// One job as a listing shows it: what the provider claims, to be checked against the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListingEntry {
    /// The job id exactly as listed.
    pub id: String,
    /// The status the listing claims; `None` when the listing only holds executing jobs.
    pub status: Option<JobStatus>,
    /// How long the provider says the job has been running (since it was submitted).
    pub elapsed: Option<Duration>,
    /// The model, when listed.
    pub model: Option<String>,
    /// What the job produces, when the listing says.
    pub kind: Option<JobKind>,
    /// When the job was created, when the listing says.
    pub created_at: Option<Timestamp>,
    /// Progress in percent, when the listing says.
    pub progress: Option<u8>,
}

impl ListingEntry {
    /// An entry for a job the listing shows as executing.
    pub fn executing(id: impl Into<String>) -> Self {
        Self { id: id.into(), status: None, elapsed: None, model: None, kind: None, created_at: None, progress: None }
    }

    /// Sets the elapsed time the provider reports.
    pub fn with_elapsed(mut self, elapsed: Option<Duration>) -> Self {
        self.elapsed = elapsed;
        self
    }

    /// Sets the model.
    pub fn with_model(mut self, model: Option<String>) -> Self {
        self.model = model;
        self
    }

    /// Sets the claimed status.
    pub fn with_status(mut self, status: Option<JobStatus>) -> Self {
        self.status = status;
        self
    }

    /// An entry from a full job view a listing returned (the listing's claims, still only a hint).
    pub fn from_job(job: &Job) -> Self {
        Self {
            id: job.id.clone(),
            status: Some(job.status),
            elapsed: None,
            model: job.model.clone(),
            kind: job.kind,
            created_at: job.created_at,
            progress: job.progress,
        }
    }
}
