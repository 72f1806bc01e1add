//! The provider-neutral job source every adapter implements, and what the poller builds on.

use async_trait::async_trait;
use genjob_models::{
    DreaminaImageJob, DreaminaVideoJob, Endpoint, GoogleFlowJob, Job, JobId, Provider, ProviderRecord, Token360Video,
};
use std::time::Duration;

use crate::{HttpClient, TransportError};

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
#[async_trait]
pub trait JobSource: Send + Sync + std::fmt::Debug {
    /// The provider this source reads.
    fn provider(&self) -> Provider;

    /// Fetches one job's current record.
    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError>;

    /// Ids of every job the provider reports as still executing, in one request, when it has such a
    /// listing (Dreamina's `/scheduler`); `Ok(None)` when it has not. `Some` also says which ids the
    /// listing covers: only those for which [`JobSource::listing_covers`] is true.
    async fn executing(&self) -> Result<Option<Vec<String>>, TransportError> {
        Ok(None)
    }

    /// True when [`JobSource::executing`] lists this job while it runs (Dreamina: video-endpoint jobs).
    fn listing_covers(&self, _id: &JobId) -> bool {
        false
    }

    /// The HTTP client, for downloading outputs (sent without the API token).
    fn client(&self) -> &HttpClient;
}

impl HttpClient {
    /// Reads one job record from `endpoint` (`<prefix>/<id>` under the base URL), typed and normalized.
    pub async fn fetch_record(&self, endpoint: Endpoint, id: &JobId) -> Result<FetchedJob, TransportError> {
        let mut segments: Vec<&str> = endpoint.path_prefix().to_vec();
        segments.push(id.as_str());
        // Decode straight into the endpoint's type: one parse, no intermediate `Value`.
        let (record, attempts, retry_after) = match endpoint {
            Endpoint::DreaminaVideos => {
                let f = self.get_json::<DreaminaVideoJob>(&segments).await?;
                (ProviderRecord::DreaminaVideo(f.value), f.attempts, f.retry_after)
            }
            Endpoint::DreaminaImages => {
                let f = self.get_json::<DreaminaImageJob>(&segments).await?;
                (ProviderRecord::DreaminaImage(f.value), f.attempts, f.retry_after)
            }
            Endpoint::GoogleFlowJobs => {
                let f = self.get_json::<GoogleFlowJob>(&segments).await?;
                (ProviderRecord::GoogleFlow(f.value), f.attempts, f.retry_after)
            }
            Endpoint::Token360Videos => {
                let f = self.get_json::<Token360Video>(&segments).await?;
                (ProviderRecord::Token360(f.value), f.attempts, f.retry_after)
            }
            other => {
                return Err(TransportError::Config { reason: format!("{other} does not return a job record") });
            }
        };
        Ok(FetchedJob::new(record, attempts, retry_after))
    }
}
