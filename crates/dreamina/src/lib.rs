//! useapi.net Dreamina adapter for genjob: video and image job records and the executing-jobs scheduler.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use genjob_dreamina::DreaminaClient;
//!
//! let client = DreaminaClient::from_env()?; // USEAPI_TOKEN, optional USEAPI_BASE_URL
//! let id = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina".parse()?;
//! let fetched = client.job(&id).await?;
//! println!("{} {:?}", fetched.job.status, fetched.job.outputs.first().map(|o| &o.url));
//! let executing = client.executing_jobs().await?;
//! println!("{} jobs executing", executing.jobs().count());
//! # Ok(()) }
//! ```
//!
//! The endpoint of a job (`/videos` or `/images`) comes from its id's type letter (`v`, `V`, `F`
//! → videos; `i`, `I` → images); [`DreaminaClient::with_endpoint`] overrides it for letters the
//! service adds later.

use async_trait::async_trait;
use genjob_models::{Endpoint, JobKind, Provider, decode_executing};
use genjob_transport::{
    EnvNames, ErrorKind, FinishWindow, HttpClient, JobListing, JobSource, ListingEntry, ListingPage, ListingScope,
    ServerHints, ensure_own_id,
};
use std::time::Duration;

// Re-exported so a user of this adapter alone can name every type its API uses.
pub use genjob_models::{
    DreaminaImageJob, DreaminaVideoJob, ExecutingJob, ExecutingJobs, Job, JobId, JobStatus, ProviderRecord,
};
pub use genjob_transport::{ApiToken, FetchedJob, TransportConfig, TransportError};

/// The path segments every Dreamina endpoint starts with.
const V1: &str = "v1";
const DREAMINA: &str = "dreamina";

/// useapi.net answers 596 when the provider account's session expired: the account must be re-added,
/// so retrying cannot help.
/// A 429 body may say how long to wait in `retryAfter` (seconds).
fn useapi(config: TransportConfig) -> TransportConfig {
    config
        .with_status_kind(596, ErrorKind::AccountUnavailable)
        .with_server_hints(ServerHints::NONE.with_retry_after_body_key("retryAfter"))
}

/// The documented time to finish (shared/PROVIDER_FACTS.md): Seedance video 60–180 s "depending on
/// the model and duration", Seedream images (up to 4) 15–120 s.
pub fn documented_window(kind: Option<JobKind>, _model: Option<&str>) -> Option<FinishWindow> {
    match kind? {
        JobKind::Video => Some(FinishWindow::secs(60, 180)),
        JobKind::Image => Some(FinishWindow::secs(15, 120)),
        // Upscales are asynchronous with no documented time; image-sized work is the closest fact.
        JobKind::ImageUpscale => Some(FinishWindow::secs(15, 120)),
        JobKind::VideoUpscale | JobKind::VideoInterpolate => Some(FinishWindow::secs(30, 180)),
        _ => None,
    }
}

/// The provider this adapter reads.
pub const PROVIDER: Provider = Provider::Dreamina;

/// Environment variables of the useapi.net services (shared with Google Flow).
pub const ENV: EnvNames =
    EnvNames { token: "USEAPI_TOKEN", base_url: "USEAPI_BASE_URL", default_base_url: "https://api.useapi.net" };

/// Reads Dreamina jobs from useapi.net.
#[derive(Debug, Clone)]
pub struct DreaminaClient {
    http: HttpClient,
    endpoint: Option<Endpoint>,
}

impl DreaminaClient {
    /// A client with an explicit configuration (base URL `https://api.useapi.net` or a sandbox).
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        Ok(Self { http: HttpClient::new(useapi(config))?, endpoint: None })
    }

    /// A client configured from `USEAPI_TOKEN` and `USEAPI_BASE_URL`.
    pub fn from_env() -> Result<Self, TransportError> {
        Self::new(TransportConfig::from_env(ENV)?)
    }

    /// Reads every job from `endpoint` instead of the one the id's type letter names.
    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// The endpoint that reads `id`: the override, else the id's type letter, else `/videos`.
    pub fn endpoint_for(&self, id: &JobId) -> Endpoint {
        self.endpoint.or_else(|| id.endpoint()).unwrap_or(Endpoint::DreaminaVideos)
    }

    /// Reads one job (`GET /v1/dreamina/videos/{jobid}` or `/images/{jobid}`) in one attempt.
    pub async fn job(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        self.read(id).await
    }

    async fn read(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        ensure_own_id(id, Provider::Dreamina)?;
        // Decoded straight into the endpoint's type: one parse, no intermediate `Value`.
        if self.endpoint_for(id) == Endpoint::DreaminaImages {
            let path = [V1, DREAMINA, "images", id.as_str()];
            let fetched = self.http.get_json::<DreaminaImageJob>(&path).await?;
            Ok(FetchedJob::from_fetched(fetched, ProviderRecord::DreaminaImage))
        } else {
            let path = [V1, DREAMINA, "videos", id.as_str()];
            let fetched = self.http.get_json::<DreaminaVideoJob>(&path).await?;
            Ok(FetchedJob::from_fetched(fetched, ProviderRecord::DreaminaVideo))
        }
    }

    /// Lists every executing job of every account in one request (`GET /v1/dreamina/scheduler`),
    /// in one attempt.
    pub async fn executing_jobs(&self) -> Result<ExecutingJobs, TransportError> {
        self.scheduler().await
    }

    async fn scheduler(&self) -> Result<ExecutingJobs, TransportError> {
        Ok(self.http.get_json::<ExecutingJobs>(&[V1, DREAMINA, "scheduler"]).await?.value)
    }

    /// Decodes a scheduler listing from bytes (a webhook body, a saved file).
    pub fn decode_executing(bytes: &[u8]) -> Result<ExecutingJobs, genjob_models::DecodeError> {
        decode_executing(bytes)
    }
}

#[async_trait]
impl JobSource for DreaminaClient {
    fn provider(&self) -> Provider {
        Provider::Dreamina
    }

    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        self.read(id).await
    }

    fn listing(&self) -> Option<&dyn JobListing> {
        Some(self)
    }

    fn documented_window(&self, kind: Option<JobKind>, model: Option<&str>) -> Option<FinishWindow> {
        documented_window(kind, model)
    }
}

#[async_trait]
impl JobListing for DreaminaClient {
    /// The scheduler lists video generation jobs: those read from `/videos`.
    fn covers(&self, id: &JobId) -> bool {
        self.endpoint_for(id) == Endpoint::DreaminaVideos
    }

    /// One request: the scheduler lists every executing job on one page, whatever the scope.
    async fn list_page(&self, _scope: &ListingScope, _cursor: Option<&str>) -> Result<ListingPage, TransportError> {
        let listing = self.scheduler().await?;
        let entries = listing
            .jobs()
            .map(|j| {
                ListingEntry::executing(j.jobid.clone())
                    .with_elapsed(
                        j.elapsed_seconds
                            .as_option()
                            .and_then(|n| n.as_f64())
                            .and_then(|s| Duration::try_from_secs_f64(s).ok()),
                    )
                    .with_model(j.model.as_option().cloned())
            })
            .collect();
        Ok(ListingPage::new(entries, None))
    }
}
