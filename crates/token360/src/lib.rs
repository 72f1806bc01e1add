//! token360 adapter for genjob: OpenAI-style video objects by id.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use genjob_token360::Token360Client;
//!
//! let client = Token360Client::from_env()?; // TOKEN360_API_KEY, optional TOKEN360_BASE_URL
//! let id = "video_abc123".parse()?;
//! let fetched = client.video(&id).await?;
//! println!("{} {:?}%", fetched.job.status, fetched.job.progress);
//! # Ok(()) }
//! ```

use async_trait::async_trait;
use genjob_models::{Provider, Token360Video};
use genjob_transport::{Attempts, EnvNames, HttpClient, JobSource};

// Re-exported so a user of this adapter alone can name every type its API uses.
pub use genjob_models::{Job, JobId, JobStatus, ProviderRecord};
pub use genjob_transport::{ApiToken, FetchedJob, RetryPolicy, TransportConfig, TransportError};

/// Environment variables of token360.
pub const ENV: EnvNames =
    EnvNames { token: "TOKEN360_API_KEY", base_url: "TOKEN360_BASE_URL", default_base_url: "https://api.token360.ai" };

/// Reads token360 video tasks.
#[derive(Debug, Clone)]
pub struct Token360Client {
    http: HttpClient,
}

impl Token360Client {
    /// A client with an explicit configuration.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        Ok(Self { http: HttpClient::new(config)? })
    }

    /// A client configured from `TOKEN360_API_KEY` and `TOKEN360_BASE_URL`.
    pub fn from_env() -> Result<Self, TransportError> {
        Self::new(TransportConfig::from_env(ENV)?)
    }

    /// Reads one video task (`GET /v1/videos/{video_id}`).
    pub async fn video(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        self.read(id, Attempts::RetryPolicy).await
    }

    async fn read(&self, id: &JobId, attempts: Attempts) -> Result<FetchedJob, TransportError> {
        let f = self.http.get_json_as::<Token360Video>(&["v1", "videos", id.as_str()], attempts).await?;
        Ok(FetchedJob::new(ProviderRecord::Token360(f.value), f.attempts, f.retry_after))
    }
}

#[async_trait]
impl JobSource for Token360Client {
    fn provider(&self) -> Provider {
        Provider::Token360
    }

    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        self.read(id, Attempts::Once).await
    }

    fn client(&self) -> &HttpClient {
        &self.http
    }
}
