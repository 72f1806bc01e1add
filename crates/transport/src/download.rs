//! Downloads of generated media from signed URLs: no token, streamed, size-checked, atomic.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

impl HttpClient {
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
        let destination = dir.join(file_name);
        let (outcome, _, _) = self.retrying(|attempt| self.download_once(&url, dir, &destination, attempt)).await;
        outcome
    }

    async fn download_once(
        &self,
        url: &Url,
        dir: &Path,
        destination: &Path,
        attempt: u32,
    ) -> Result<Downloaded, TransportError> {
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
        let outcome = self.stream_to_file(url, dir, destination).instrument(span.clone()).await;
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

    async fn stream_to_file(&self, url: &Url, dir: &Path, destination: &Path) -> Result<Downloaded, TransportError> {
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

        let temp = tempfile::Builder::new()
            .prefix(".genjob-download-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|source| io_error("create a temporary file in", dir, source))?;
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
        temp_path.persist(destination).map_err(|e| io_error("move the download to", destination, e.error))?;
        sync_dir(dir).await;
        Ok(Downloaded { path: destination.to_path_buf(), bytes: received, content_type })
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
