//! Downloads of generated media from signed URLs: a client with no token, streamed, size-checked, atomic.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempPath;
use tokio::io::AsyncWriteExt;
use tracing::Instrument;
use url::Url;

use crate::client::{content_type, redacted_url, redacted_url_text, request_error, retry_after_header};
use crate::path::validate_file_name;
use crate::{DEFAULT_MAX_DOWNLOAD_SIZE, ErrorKind, ServerHints, TransportError};

/// A file that was downloaded completely and is in place under its final name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Downloaded {
    /// Where the file now is (`dir/file_name`).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The server's `Content-Type`, if it sent one.
    pub content_type: Option<String>,
}

/// A file downloaded completely (checked and synced) that still has a temporary name in its directory.
///
/// Give it its final name with [`FetchedFile::persist`]; dropped instead, it is deleted, so a
/// download is complete under its final name or absent.
#[derive(Debug)]
pub struct FetchedFile {
    temp: TempPath,
    dir: PathBuf,
    bytes: u64,
    content_type: Option<String>,
    url_extension: Option<String>,
}

/// Why [`FetchedFile::persist`] did not move the file; the file is handed back, still complete.
#[derive(Debug)]
pub struct PersistError {
    /// The file, still under its temporary name.
    pub file: FetchedFile,
    /// What went wrong (`AlreadyExists` when the name is taken and overwriting was not asked for).
    pub error: std::io::Error,
}

impl FetchedFile {
    /// Its size in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The server's `Content-Type`, if it sent one.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The file extension of the URL's last path segment (`mp4` of `…/clip.mp4?sig=…`), lower-cased,
    /// when it is a plausible one (1–5 ASCII letters or digits).
    pub fn url_extension(&self) -> Option<&str> {
        self.url_extension.as_deref()
    }

    /// Moves the file to `dir/name` in one step. An existing file of that name is replaced only when
    /// `overwrite` is true; otherwise the error is `AlreadyExists` and the file comes back to try another name.
    pub fn persist(self, name: &str, overwrite: bool) -> Result<Downloaded, PersistError> {
        if let Err(reason) = validate_file_name(name) {
            let error = std::io::Error::new(std::io::ErrorKind::InvalidInput, reason);
            return Err(PersistError { file: self, error });
        }
        let destination = self.dir.join(name);
        let Self { temp, dir, bytes, content_type, url_extension } = self;
        let persisted = if overwrite { temp.persist(&destination) } else { temp.persist_noclobber(&destination) };
        match persisted {
            Ok(()) => Ok(Downloaded { path: destination, bytes, content_type }),
            Err(e) => Err(PersistError {
                file: Self { temp: e.path, dir, bytes, content_type, url_extension },
                error: e.error,
            }),
        }
    }
}

/// Settings of a [`Downloader`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DownloadConfig {
    /// The `User-Agent` header value.
    pub user_agent: String,
    /// How long establishing a connection may take.
    pub connect_timeout: Duration,
    /// How long the response head, and then each body chunk, may take: a stalled transfer ends,
    /// a large one is never cut off. (An overall deadline is the caller's: drop the future.)
    pub idle_timeout: Duration,
    /// The largest file accepted, in bytes.
    pub max_size: u64,
}

impl DownloadConfig {
    /// `genjob/<version>`, 10 s to connect, 30 s idle, 2 GiB files.
    pub fn new() -> Self {
        Self {
            user_agent: concat!("genjob/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_size: DEFAULT_MAX_DOWNLOAD_SIZE,
        }
    }

    /// Sets the largest file accepted.
    pub fn with_max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// Sets how long the response head and each chunk may take.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }
}

impl Default for DownloadConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Fetches generated files from signed URLs. It holds no API token, so it never sends one to a
/// file host, whoever that is; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Downloader {
    http: reqwest::Client,
    config: DownloadConfig,
}

impl Downloader {
    /// A downloader with these settings.
    pub fn new(config: DownloadConfig) -> Result<Self, TransportError> {
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|e| TransportError::config(format!("cannot build the download client: {e}")))?;
        Ok(Self { http, config })
    }

    /// Its settings.
    pub fn config(&self) -> &DownloadConfig {
        &self.config
    }

    /// Downloads `url` into `dir` under a temporary name; name it with [`FetchedFile::persist`].
    ///
    /// The body is checked against `Content-Length` and the size limit and synced before this
    /// returns. The file is created with the process's umask (mode 0666 before it), like any file
    /// the user creates. One attempt: whether a failure that may pass (429, 5xx, timeouts, cut
    /// connections) is tried again is the caller's decision. A 403 or 410 usually means the signed
    /// URL expired: see [`TransportError::is_expired_url`].
    pub async fn fetch_file(&self, url: &str, dir: &Path) -> Result<FetchedFile, TransportError> {
        let url = parse_download_url(url)?;
        self.download_once(&url, dir).await.map_err(|e| e.with_attempts(1))
    }

    /// Downloads `url` to `dir/file_name`, replacing a file of that name: complete or absent.
    pub async fn download(&self, url: &str, dir: &Path, file_name: &str) -> Result<Downloaded, TransportError> {
        validate_file_name(file_name).map_err(|reason| {
            TransportError::new(ErrorKind::InvalidInput, format!("cannot download to {file_name:?}: {reason}"))
        })?;
        let file = self.fetch_file(url, dir).await?;
        file.persist(file_name, true).map_err(|e| io_error("move the download to", &dir.join(file_name), e.error))
    }

    async fn download_once(&self, url: &Url, dir: &Path) -> Result<FetchedFile, TransportError> {
        let span = tracing::debug_span!(
            "genjob_download",
            method = "GET",
            host = url.host_str().unwrap_or_default(),
            path = url.path(),
            status = tracing::field::Empty,
            bytes = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let outcome = self.stream_to_file(url, dir).instrument(span.clone()).await;
        span.record("elapsed_ms", started.elapsed().as_millis());
        match &outcome {
            Ok(done) => {
                span.record("bytes", done.bytes);
                tracing::debug!(parent: &span, "downloaded");
            }
            Err(error) => tracing::debug!(parent: &span, error = %error, "failed"),
        }
        outcome
    }

    async fn stream_to_file(&self, url: &Url, dir: &Path) -> Result<FetchedFile, TransportError> {
        let idle = self.config.idle_timeout;
        let limit = self.config.max_size;
        let request = self.http.get(url.clone()).send();
        let response = tokio::time::timeout(idle, request)
            .await
            .map_err(|_| TransportError::timeout(idle))?
            .map_err(|e| request_error(e, idle, None))?;
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        if !response.status().is_success() {
            return Err(TransportError::new(ErrorKind::DownloadStatus, redacted_url(url))
                .with_status(status)
                .with_retry_after(retry_after_header(response.headers(), ServerHints::NONE)));
        }
        body_to_file(response, url, dir, limit, idle).await
    }
}

/// Streams a successful response's body into a temporary file in `dir`: checked against its
/// `Content-Length` and `limit`, each chunk within `idle`, synced; the file is deleted if anything fails.
pub(crate) async fn body_to_file(
    mut response: reqwest::Response,
    url: &Url,
    dir: &Path,
    limit: u64,
    idle: Duration,
) -> Result<FetchedFile, TransportError> {
    let expected = response.content_length();
    let too_large = || TransportError::new(ErrorKind::TooLarge, limit.to_string());
    if expected.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let content_type = content_type(response.headers());

    let mut builder = tempfile::Builder::new();
    builder.prefix(".genjob-download-").suffix(".part");
    // tempfile's default is 0600; open(2) masks this with the umask, as for any file the user makes.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let temp = builder.tempfile_in(dir).map_err(|source| io_error("create a temporary file in", dir, source))?;
    // The TempPath deletes the file when dropped, so every early return below cleans up.
    let (file, temp_path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut received: u64 = 0;
    let truncated = |received: u64| {
        let of = expected.map(|e| format!(" of {e}")).unwrap_or_default();
        TransportError::new(ErrorKind::Truncated, format!("{received} bytes{of}"))
    };
    loop {
        let chunk = tokio::time::timeout(idle, response.chunk()).await.map_err(|_| TransportError::timeout(idle))?;
        let chunk = match chunk {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // hyper reports a connection closed before the announced length (or before the
            // last chunk of a chunked body) as a body error: the file is incomplete.
            Err(_) => return Err(truncated(received)),
        };
        received = received.saturating_add(chunk.len() as u64);
        if received > limit {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(|source| io_error("write", &temp_path, source))?;
    }
    if expected.is_some_and(|expected| received != expected) {
        return Err(truncated(received));
    }
    file.flush().await.map_err(|source| io_error("write", &temp_path, source))?;
    file.sync_all().await.map_err(|source| io_error("sync", &temp_path, source))?;
    drop(file);
    sync_dir(dir).await;
    Ok(FetchedFile {
        temp: temp_path,
        dir: dir.to_path_buf(),
        bytes: received,
        content_type,
        url_extension: url_extension(url),
    })
}

/// Makes the rename durable; best effort, since some filesystems cannot sync a directory and
/// the file itself is already safely written.
async fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    {
        let synced = match tokio::fs::File::open(dir).await {
            Ok(handle) => handle.sync_all().await,
            Err(e) => Err(e),
        };
        if let Err(error) = synced {
            tracing::debug!(dir = %dir.display(), %error, "could not sync the download directory");
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The extension of the URL's last path segment, when it looks like one.
fn url_extension(url: &Url) -> Option<String> {
    let last = url.path_segments()?.next_back()?;
    let (_, extension) = last.rsplit_once('.')?;
    let plausible = (1..=5).contains(&extension.len()) && extension.chars().all(|c| c.is_ascii_alphanumeric());
    plausible.then(|| extension.to_ascii_lowercase())
}

fn parse_download_url(url: &str) -> Result<Url, TransportError> {
    let refuse = |shown: String, reason: String| {
        // The URL came from a server's record: refusing it is an invalid answer, not bad user input.
        TransportError::new(ErrorKind::InvalidResponse, format!("cannot download {shown}: {reason}"))
    };
    // An unparsable URL cannot be redacted by structure; the text form drops credentials and query.
    let parsed = Url::parse(url).map_err(|e| refuse(redacted_url_text(url), format!("it is not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(refuse(redacted_url(&parsed), "only http and https URLs can be downloaded".into()));
    }
    Ok(parsed)
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> TransportError {
    TransportError::new(ErrorKind::Io, format!("{action} {}", path.display())).with_source(source)
}
