//! Downloads of generated media from signed URLs: no token, streamed, size-checked, atomic.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempPath;
use tokio::io::AsyncWriteExt;
use tracing::Instrument;
use url::Url;

use crate::client::{content_type, redacted_url, retry_after_header};
use crate::path::validate_file_name;
use crate::{HttpClient, TransportError};

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

impl HttpClient {
    /// Downloads `url` into `dir` under a temporary name, never sending the API token; name it with
    /// [`FetchedFile::persist`].
    ///
    /// The body is checked against `Content-Length` and `max_download_size` and synced before this
    /// returns. The file is created with the process's umask (mode 0666 before it), like any file
    /// the user creates. Failed attempts that may succeed later (429, 5xx, timeouts, cut
    /// connections) are retried per the retry policy, each from scratch.
    pub async fn fetch_file(&self, url: &str, dir: &Path) -> Result<FetchedFile, TransportError> {
        let url = parse_download_url(url).map_err(|e| match e {
            TransportError::InvalidDownload { url, reason } => {
                TransportError::InvalidDownload { url: self.scrub(&url), reason }
            }
            other => other,
        })?;
        let (outcome, _, _) = self.retrying(|attempt| self.download_once(&url, dir, attempt)).await;
        outcome
    }

    /// Downloads `url` to `dir/file_name`, never sending the API token (any host may serve it).
    ///
    /// The body streams into a temporary file in `dir`, is checked against `Content-Length`
    /// and `max_download_size`, fsynced, then renamed over `dir/file_name` in one step (an
    /// existing file of that name is replaced). On any failure the temporary file is removed and
    /// nothing appears under the final name. Failed attempts that may succeed later (429, 5xx,
    /// timeouts, cut connections) are retried per the retry policy, each from scratch.
    /// A 403 or 410 usually means the signed URL expired: see
    /// [`TransportError::is_expired_url`].
    pub async fn download(&self, url: &str, dir: &Path, file_name: &str) -> Result<Downloaded, TransportError> {
        let url = parse_download_url(url).map_err(|e| match e {
            TransportError::InvalidDownload { url, reason } => {
                TransportError::InvalidDownload { url: self.scrub(&url), reason }
            }
            other => other,
        })?;
        validate_file_name(file_name).map_err(|reason| TransportError::InvalidDownload {
            url: self.scrub(&redacted_url(&url)),
            reason: reason.to_owned(),
        })?;
        let file = self.fetch_file(url.as_str(), dir).await?;
        file.persist(file_name, true).map_err(|e| io_error("move the download to", &dir.join(file_name), e.error))
    }

    async fn download_once(&self, url: &Url, dir: &Path, attempt: u32) -> Result<FetchedFile, TransportError> {
        let span = tracing::debug_span!(
            "genjob_download",
            method = "GET",
            host = url.host_str().unwrap_or_default(),
            path = url.path(),
            attempt,
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
        let config = self.config();
        // No overall timeout: a large file may take long. Instead the response head and every
        // chunk must arrive within the request timeout, which catches stalled transfers.
        let idle = config.request_timeout();
        let limit = config.max_download_size();
        let request = self.http().get(url.clone()).send();
        let mut response = tokio::time::timeout(idle, request)
            .await
            .map_err(|_| timeout_error(idle))?
            .map_err(|e| self.request_error(e, idle))?;
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        if !response.status().is_success() {
            return Err(TransportError::DownloadStatus {
                status,
                url: self.scrub(&redacted_url(url)),
                retry_after: retry_after_header(response.headers()),
                attempts: 0,
            });
        }
        let expected = response.content_length();
        if expected.is_some_and(|len| len > limit) {
            return Err(TransportError::TooLarge { limit, attempts: 0 });
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
        loop {
            let chunk = tokio::time::timeout(idle, response.chunk()).await.map_err(|_| timeout_error(idle))?;
            let chunk = match chunk {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // hyper reports a connection closed before the announced length (or before the
                // last chunk of a chunked body) as a body error: the file is incomplete.
                Err(_) => {
                    return Err(TransportError::Truncated { expected, received, attempts: 0 });
                }
            };
            received += chunk.len() as u64;
            if received > limit {
                return Err(TransportError::TooLarge { limit, attempts: 0 });
            }
            file.write_all(&chunk).await.map_err(|source| io_error("write", &temp_path, source))?;
        }
        if let Some(expected) = expected
            && received != expected
        {
            return Err(TransportError::Truncated { expected: Some(expected), received, attempts: 0 });
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
    let parsed = Url::parse(url).map_err(|e| TransportError::InvalidDownload {
        // An unparsable URL cannot be redacted by structure; cut at the query by hand.
        url: url.split(['?', '#']).next().unwrap_or_default().to_owned(),
        reason: format!("it is not a valid URL ({e})"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TransportError::InvalidDownload {
            url: redacted_url(&parsed),
            reason: "only http and https URLs can be downloaded".into(),
        });
    }
    Ok(parsed)
}

fn timeout_error(timeout: Duration) -> TransportError {
    TransportError::Timeout { timeout, attempts: 0 }
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> TransportError {
    TransportError::Io { action, path: path.to_path_buf(), source }
}
