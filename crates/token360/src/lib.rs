//! token360 adapter for genjob: OpenAI-style video objects by id, their download URLs, and the
//! account's video list for watching many videos with few requests.
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
use genjob_models::{Output, OutputKind, Provider, Token360Video};
use genjob_transport::{
    EnvNames, HttpClient, JobListing, JobSource, ListingEntry, ListingPage, ListingScope, ensure_own_id,
};
use std::collections::HashSet;

// Re-exported so a user of this adapter alone can name every type its API uses.
pub use genjob_models::{Job, JobId, JobStatus, ProviderRecord, Token360ContentUrl, Token360VideoList};
pub use genjob_transport::{ApiToken, FetchedJob, TransportConfig, TransportError};

/// The provider this adapter reads.
pub const PROVIDER: Provider = Provider::Token360;

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
        self.read(id).await
    }

    async fn read(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        ensure_own_id(id, Provider::Token360)?;
        let fetched = self.http.get_json::<Token360Video>(&[V1, VIDEOS, id.as_str()]).await?;
        Ok(FetchedJob::from_fetched(fetched, ProviderRecord::Token360))
    }

    /// Where a finished video's file can be downloaded (`GET /v1/videos/{video_id}/content`): a
    /// signed URL. Before completion the server answers an error ("Video is not ready yet").
    pub async fn content(&self, id: &JobId) -> Result<Token360ContentUrl, TransportError> {
        let path = [V1, VIDEOS, id.as_str(), "content"];
        Ok(self.http.get_json::<Token360ContentUrl>(&path).await?.value)
    }

    /// One page of the account's videos, newest first (`GET /v1/videos?limit=&after=`).
    pub async fn videos(&self, limit: u32, after: Option<&str>) -> Result<Token360VideoList, TransportError> {
        self.page(limit, after).await
    }

    async fn page(&self, limit: u32, after: Option<&str>) -> Result<Token360VideoList, TransportError> {
        let limit = limit.clamp(1, PAGE_SIZE).to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(after) = after {
            query.push(("after", after));
        }
        Ok(self.http.get_json_query::<Token360VideoList>(&[V1, VIDEOS], &query).await?.value)
    }
}

/// Path segments of the video endpoints.
const V1: &str = "v1";
const VIDEOS: &str = "videos";

/// The largest page the list serves.
const PAGE_SIZE: u32 = 100;

/// The most pages one listing reads: 5,000 videos back.
const MAX_PAGES: usize = 50;

/// How far past the oldest watched job a newest-first list is read, for clocks and ties.
const CREATION_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

#[async_trait]
impl JobSource for Token360Client {
    fn provider(&self) -> Provider {
        Provider::Token360
    }

    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        self.read(id).await
    }

    fn listing(&self) -> Option<&dyn JobListing> {
        Some(self)
    }

    fn outputs_send_a_request(&self) -> bool {
        true
    }

    /// A record with a URL names its file; an OpenAI-style record has none, and `/content` gives one.
    async fn outputs(&self, id: &JobId, job: &Job) -> Result<Vec<Output>, TransportError> {
        if !job.outputs.is_empty() || job.status != JobStatus::Completed {
            return Ok(job.outputs.clone());
        }
        let content = self.content(id).await?;
        let Some(url) = content.url.into_option() else { return Ok(Vec::new()) };
        Ok(vec![Output::new(OutputKind::Video, url)])
    }
}

#[async_trait]
impl JobListing for Token360Client {
    /// The list shows every video of the account: every token360 job.
    fn covers(&self, _id: &JobId) -> bool {
        true
    }

    /// Reads one page of 100, newest first. The next page is needed while a watched video was not
    /// seen yet, the page did not reach videos older than the oldest watched one, and the server
    /// says there is more (at most 50 pages in all: 5,000 videos back).
    async fn list_page(&self, scope: &ListingScope, cursor: Option<&str>) -> Result<ListingPage, TransportError> {
        let mut wanted: HashSet<&str> = scope.ids.iter().map(String::as_str).collect();
        let floor = scope.oldest.and_then(|t| t.checked_sub(CREATION_MARGIN).ok());
        let page = self.page(PAGE_SIZE, cursor).await?;
        let mut older_than_wanted = false;
        let mut entries = Vec::with_capacity(page.data.len());
        for video in &page.data {
            let job = video.normalize();
            wanted.remove(job.id.as_str());
            older_than_wanted |= floor.zip(job.created_at).is_some_and(|(floor, created)| created < floor);
            entries.push(ListingEntry::from_job(&job));
        }
        // A server's `has_more` and `last_id` are followed only while they make progress.
        let next = page.last_id.into_option().or_else(|| page.data.last().map(|v| v.id.clone()));
        let more = !older_than_wanted && !wanted.is_empty() && page.has_more.into_option() == Some(true);
        let next = next.filter(|n| more && Some(n.as_str()) != cursor);
        Ok(ListingPage::new(entries, next))
    }

    fn max_pages(&self) -> usize {
        MAX_PAGES
    }
}
