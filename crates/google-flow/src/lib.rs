//! useapi.net Google Flow adapter for genjob: job records by id.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use genjob_google_flow::GoogleFlowClient;
//!
//! let client = GoogleFlowClient::from_env()?; // USEAPI_TOKEN, optional USEAPI_BASE_URL
//! let id = "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow".parse()?;
//! let fetched = client.job(&id).await?;
//! println!("{} with {} outputs", fetched.job.status, fetched.job.outputs.len());
//! # Ok(()) }
//! ```

use async_trait::async_trait;
use genjob_models::{GoogleFlowJob, JobKind, Provider};
use genjob_transport::{EnvNames, ErrorKind, FinishWindow, HttpClient, JobSource, ServerHints, ensure_own_id};

// Re-exported so a user of this adapter alone can name every type its API uses.
pub use genjob_models::{Job, JobId, JobStatus, ProviderRecord};
pub use genjob_transport::{ApiToken, FetchedJob, TransportConfig, TransportError};

/// useapi.net answers 596 when the provider account's session expired: the account must be re-added,
/// so retrying cannot help.
/// A 429 body may say how long to wait in `retryAfter` (seconds).
fn useapi(config: TransportConfig) -> TransportConfig {
    config
        .with_status_kind(596, ErrorKind::AccountUnavailable)
        .with_server_hints(ServerHints::NONE.with_retry_after_body_key("retryAfter"))
}

/// The documented time to finish (shared/PROVIDER_FACTS.md): Veo 3.1 video 60–180 s, Imagen 4 /
/// Nano Banana images 10–20 s, a video upscale 30–60 s.
pub fn documented_window(kind: Option<JobKind>, _model: Option<&str>) -> Option<FinishWindow> {
    match kind? {
        JobKind::Video => Some(FinishWindow::secs(60, 180)),
        JobKind::Image => Some(FinishWindow::secs(10, 20)),
        JobKind::VideoUpscale => Some(FinishWindow::secs(30, 60)),
        _ => None,
    }
}

/// The provider this adapter reads.
pub const PROVIDER: Provider = Provider::GoogleFlow;

/// Environment variables of the useapi.net services (shared with Dreamina).
pub const ENV: EnvNames =
    EnvNames { token: "USEAPI_TOKEN", base_url: "USEAPI_BASE_URL", default_base_url: "https://api.useapi.net" };

/// Reads Google Flow jobs from useapi.net.
#[derive(Debug, Clone)]
pub struct GoogleFlowClient {
    http: HttpClient,
}

impl GoogleFlowClient {
    /// A client with an explicit configuration.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        Ok(Self { http: HttpClient::new(useapi(config))? })
    }

    /// A client configured from `USEAPI_TOKEN` and `USEAPI_BASE_URL`.
    pub fn from_env() -> Result<Self, TransportError> {
        Self::new(TransportConfig::from_env(ENV)?)
    }

    /// Reads one job (`GET /v1/google-flow/jobs/{jobId}`).
    pub async fn job(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        self.read(id).await
    }

    async fn read(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        ensure_own_id(id, Provider::GoogleFlow)?;
        let fetched = self.http.get_json::<GoogleFlowJob>(&["v1", "google-flow", "jobs", id.as_str()]).await?;
        Ok(FetchedJob::from_fetched(fetched, ProviderRecord::GoogleFlow))
    }
}

#[async_trait]
impl JobSource for GoogleFlowClient {
    fn provider(&self) -> Provider {
        Provider::GoogleFlow
    }

    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        self.read(id).await
    }

    fn documented_window(&self, kind: Option<JobKind>, model: Option<&str>) -> Option<FinishWindow> {
        documented_window(kind, model)
    }
}
