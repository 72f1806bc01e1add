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
use genjob_models::{GoogleFlowJob, Provider};
use genjob_transport::{EnvNames, ErrorKind, HttpClient, JobSource, ensure_own_id};

// Re-exported so a user of this adapter alone can name every type its API uses.
pub use genjob_models::{Job, JobId, JobStatus, ProviderRecord};
pub use genjob_transport::{ApiToken, FetchedJob, TransportConfig, TransportError};

/// useapi.net answers 596 when the provider account's session expired: the account must be re-added,
/// so retrying cannot help.
fn useapi(config: TransportConfig) -> TransportConfig {
    config.with_status_kind(596, ErrorKind::AccountUnavailable)
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
}
