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
use genjob_models::{JobKind, Output, OutputKind, Provider, Token360Video};
use genjob_transport::{
    DownloadConfig, EnvNames, ErrorKind, FinishWindow, HttpClient, JobListing, JobSource, JsonOrFile, ListingEntry,
    ListingPage, ListingScope, ServedOutput, ServerHints, ensure_own_id,
};
use std::collections::HashSet;
use std::path::Path;

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
        Ok(Self { http: HttpClient::new(config.with_server_hints(HINTS))? })
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

    /// The `/content` URL of a video's `variant` (`video`, `thumbnail`, `spritesheet`): served with the
    /// API token, by the API itself.
    pub fn content_url(&self, id: &JobId, variant: &str) -> Result<String, TransportError> {
        let mut url = self.http.endpoint(&[V1, VIDEOS, id.as_str(), "content"])?;
        url.query_pairs_mut().append_pair("variant", variant);
        Ok(url.to_string())
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

/// OpenAI-style servers say how long to wait, and how often to poll, in milliseconds.
const HINTS: ServerHints =
    ServerHints::NONE.with_retry_after_ms_header("retry-after-ms").with_poll_after_ms_header("openai-poll-after-ms");

/// token360 documents no time to finish; its Seedance models run the generator Dreamina's do (60–180 s).
pub fn documented_window(kind: Option<JobKind>, model: Option<&str>) -> Option<FinishWindow> {
    match kind? {
        JobKind::Video if model.is_some_and(|m| m.starts_with("seedance")) => Some(FinishWindow::secs(60, 180)),
        _ => None,
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

    fn documented_window(&self, kind: Option<JobKind>, model: Option<&str>) -> Option<FinishWindow> {
        documented_window(kind, model)
    }

    /// A record with a URL names its file; an OpenAI-style record has none: its video is served by
    /// `/content` (no request here: [`JobSource::fetch_output`] asks it when the file is fetched).
    async fn outputs(&self, id: &JobId, job: &Job) -> Result<Vec<Output>, TransportError> {
        if !job.outputs.is_empty() || job.status != JobStatus::Completed {
            return Ok(job.outputs.clone());
        }
        Ok(vec![Output::new(OutputKind::Video, self.content_url(id, "video")?)])
    }

    fn serves(&self, output: &Output) -> bool {
        output.url.starts_with(self.http.config().base_url().as_str()) && output.url.contains("/content")
    }

    /// Asks `/content` for the file: token360 answers a JSON link (followed by the token-less
    /// downloader), the OpenAI API answers the bytes themselves (streamed into `dir`).
    async fn fetch_output(
        &self,
        id: &JobId,
        output: &Output,
        dir: &Path,
        limits: &DownloadConfig,
    ) -> Result<ServedOutput, TransportError> {
        // The variant named in the URL this adapter made (`content_url`); a video when none is.
        let query = output.url.split_once('?').map_or("", |(_, q)| q);
        let variant = query.split('&').find_map(|pair| pair.strip_prefix("variant=")).unwrap_or("video");
        let path = [V1, VIDEOS, id.as_str(), "content"];
        let query = [("variant", variant)];
        match self.http.get_json_or_file(&path, &query, dir, limits.max_size, limits.idle_timeout).await? {
            JsonOrFile::File(file) => Ok(ServedOutput::File(file)),
            JsonOrFile::Json(value) => {
                let content: Token360ContentUrl = serde_json::from_value(value).map_err(|e| {
                    TransportError::new(
                        ErrorKind::InvalidResponse,
                        format!("/content answered JSON without a link: {e}"),
                    )
                })?;
                let url = content.url.into_option().ok_or_else(|| {
                    TransportError::new(ErrorKind::InvalidResponse, "/content answered JSON without a `url`")
                })?;
                Ok(ServedOutput::Link(url))
            }
        }
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
