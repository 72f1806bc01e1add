//! The provider-neutral job source every adapter implements, and what the poller builds on.

use async_trait::async_trait;
use genjob_models::{Job, JobId, JobStatus, Provider, ProviderRecord};
use serde::de::DeserializeOwned;
use std::time::Duration;

use crate::{Fetched, HttpClient, TransportError};

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
}

impl FetchedJob {
    /// Wraps a decoded record, normalizing it.
    pub fn new(record: ProviderRecord, attempts: u32, retry_after: Option<Duration>) -> Self {
        let job = record.normalize();
        Self { record, job, attempts, retry_after }
    }
}

/// Reads jobs of one provider by id. Implemented by each adapter crate.
///
/// Every method makes **one request**, never retried here: the caller (the genjob watcher) owns the
/// error policy, so its request budget bounds the real number of requests, even in a 429 storm.
#[async_trait]
pub trait JobSource: Send + Sync + std::fmt::Debug {
    /// The provider this source reads.
    fn provider(&self) -> Provider;

    /// Reads one job's current record in a single attempt.
    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError>;

    /// The provider's job listing, when it has one (Dreamina's `/scheduler`).
    ///
    /// A listing is a *hint*: it may wake a job or spare a request, but only the job's own record
    /// ([`JobSource::fetch`]) decides its state.
    fn listing(&self) -> Option<&dyn JobListing> {
        None
    }

    /// The HTTP client, for downloading outputs (sent without the API token).
    fn client(&self) -> &HttpClient;
}

/// A provider's listing of many jobs in one request: the batch-watching capability of an adapter.
#[async_trait]
pub trait JobListing: Send + Sync + std::fmt::Debug {
    /// True when the listing shows this job while it runs (Dreamina: jobs read from `/videos`).
    fn covers(&self, id: &JobId) -> bool;

    /// Reads the listing in a single attempt.
    async fn list(&self) -> Result<Vec<ListingEntry>, TransportError>;
}

/// One job as a listing shows it: what the provider claims, to be checked against the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListingEntry {
    /// The job id exactly as listed.
    pub id: String,
    /// The status the listing claims; `None` when the listing only holds executing jobs.
    pub status: Option<JobStatus>,
    /// How long the provider says the job has been running (Dreamina `elapsedSeconds`).
    pub elapsed: Option<Duration>,
    /// The model, when listed.
    pub model: Option<String>,
}

impl ListingEntry {
    /// An entry for a job the listing shows as executing.
    pub fn executing(id: impl Into<String>) -> Self {
        Self { id: id.into(), status: None, elapsed: None, model: None }
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
}

/// How many requests a read may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attempts {
    /// One request: the caller retries on its own terms.
    Once,
    /// As many as the client's [`RetryPolicy`](crate::RetryPolicy) allows.
    RetryPolicy,
}

impl HttpClient {
    /// GETs and decodes `segments` with the given number of attempts.
    pub async fn get_json_as<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        attempts: Attempts,
    ) -> Result<Fetched<T>, TransportError> {
        match attempts {
            Attempts::Once => self.get_json_once(segments).await,
            Attempts::RetryPolicy => self.get_json(segments).await,
        }
    }
}
