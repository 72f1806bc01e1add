//! Downloading a finished job's outputs: complete files or nothing, unique names, expired URLs refreshed.

use crate::budget::RequestKind;
use crate::requests::RequestFailure;
use crate::target::WatchTarget;
use crate::time::Deadline;
use crate::watcher::Watcher;
use genjob_models::{Job, JobId, JobStatus, Output, OutputKind, Provider};
use genjob_transport::{Downloaded, FetchedFile, JobSource, ServedOutput, TransportError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest file name genjob writes, in bytes: common file systems allow 255, and the index,
/// a collision counter and the extension need room.
const MAX_NAME_BYTES: usize = 200;

/// Why an output could not be downloaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The download (or the look-up of the files, or the refresh of an expired URL) failed: refused,
    /// or failing until the error policy gave up.
    #[error("output {index} of {id}: {source}")]
    Transport {
        /// The job.
        id: String,
        /// Which output.
        index: usize,
        /// What went wrong (the last attempt's error).
        #[source]
        source: TransportError,
    },
    /// The download directory cannot be created or written to; nothing was waited on or fetched.
    #[error("cannot download into {}: {source}; create it or choose a writable directory", dir.display())]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The job completed, but neither its record nor its provider names a file to download.
    #[error("{id} completed, but its outputs cannot be found: neither its record nor its provider names a file")]
    NoOutputs {
        /// The job.
        id: String,
    },
    /// After refreshing the record, the output is no longer listed.
    #[error("output {index} of {id} is gone from the refreshed job record")]
    Vanished {
        /// The job.
        id: String,
        /// Which output.
        index: usize,
    },
    /// The file could not be given a name in the download directory.
    #[error("output {index} of {id}: cannot write {}: {source}; check the download directory", path.display())]
    Write {
        /// The job.
        id: String,
        /// Which output.
        index: usize,
        /// The name it was to have.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The wait's deadline (or the plan's own) passed or the wait was cancelled while downloading;
    /// nothing half-written stays.
    #[error("downloads of {id} stopped: {reason}")]
    Interrupted {
        /// The job.
        id: String,
        /// What stopped them.
        reason: Interruption,
    },
    /// The download task failed unexpectedly (a bug); the job's files may be missing.
    #[error("downloads of {id} stopped unexpectedly: {reason}")]
    Crashed {
        /// The job.
        id: String,
        /// What is known of the failure.
        reason: String,
    },
}

/// What stopped downloads before they ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Interruption {
    /// The wait's deadline passed.
    Deadline,
    /// The plan's own download timeout passed.
    DownloadTimeout,
    /// The wait was cancelled (Ctrl-C, a signal, a cancellation token).
    Cancelled,
}

impl std::fmt::Display for Interruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Deadline => "the deadline passed",
            Self::DownloadTimeout => "the download timeout passed",
            Self::Cancelled => "the wait was cancelled",
        })
    }
}

/// Where and how outputs are downloaded; one plan is one run, whose file names never collide.
///
/// ```
/// use genjob::DownloadPlan;
/// use std::time::Duration;
/// let plan = DownloadPlan::new("out").with_concurrency(2).with_timeout(Some(Duration::from_secs(600)));
/// assert_eq!(plan.concurrency, 2);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DownloadPlan {
    /// The directory the files go to (it must exist and be writable: see [`DownloadPlan::check_dir`]).
    pub dir: PathBuf,
    /// Jobs downloaded at once.
    pub concurrency: usize,
    /// Replace files that already exist in `dir` (files written in this run are never replaced).
    pub overwrite: bool,
    /// Each job's downloads must end within this time, however slowly the server trickles.
    pub timeout: Option<Duration>,
    /// Names written in this run, shared by every clone of the plan.
    written: Arc<Mutex<HashSet<PathBuf>>>,
}

impl DownloadPlan {
    /// Downloads into `dir`, four jobs at a time, never replacing a file, with no timeout of its own.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), concurrency: 4, overwrite: false, timeout: None, written: Arc::default() }
    }

    /// Sets how many jobs are downloaded at once (at least one).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Replaces files that already exist in the directory (never one written in this run).
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Bounds each job's downloads in time.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Creates the directory if needed and proves it writable, before any job is waited on.
    pub fn check_dir(&self) -> Result<(), DownloadError> {
        let probe = || {
            std::fs::create_dir_all(&self.dir)?;
            tempfile::Builder::new().prefix(".genjob-probe-").tempfile_in(&self.dir).map(drop)
        };
        probe().map_err(|source| DownloadError::Directory { dir: self.dir.clone(), source })
    }

    /// Claims a name for this run; false when this run already wrote (or claimed) it.
    fn claim(&self, path: &Path) -> bool {
        // A poisoned lock only means another download panicked; the set of names is still right.
        self.written.lock().unwrap_or_else(|p| p.into_inner()).insert(path.to_path_buf())
    }

    fn release(&self, path: &Path) {
        self.written.lock().unwrap_or_else(|p| p.into_inner()).remove(path);
    }
}

/// The readable, file-safe stem of a job's output files: the id with every character but ASCII
/// letters, digits, `-` and `_` replaced by `_`, and, when longer than a file system allows, cut
/// with a stable hash of the whole id appended.
pub fn output_stem(id: &JobId) -> String {
    let safe: String = id
        .as_str()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') { c } else { '_' })
        .collect();
    if safe.len() <= MAX_NAME_BYTES - 40 {
        return safe;
    }
    let head: String = safe.chars().take(MAX_NAME_BYTES - 60).collect();
    format!("{head}-{:016x}", fnv1a(id.as_str().as_bytes()))
}

/// FNV-1a, 64 bits: a stable hash (the standard library's is not stable across releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The extension of a downloaded output: from its content type, else its URL, else its kind.
fn extension(file: &FetchedFile, kind: Option<OutputKind>) -> String {
    let from_type = file.content_type().and_then(|t| {
        let essence = t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let known = match essence.as_str() {
            "video/mp4" => "mp4",
            "video/webm" => "webm",
            "video/quicktime" => "mov",
            "image/jpeg" | "image/jpg" => "jpg",
            "image/png" => "png",
            "image/webp" => "webp",
            "image/gif" => "gif",
            "image/avif" => "avif",
            "image/heic" => "heic",
            _ => return None,
        };
        Some(known.to_owned())
    });
    from_type
        .or_else(|| file.url_extension().map(str::to_owned))
        .unwrap_or_else(|| kind.map_or("bin", OutputKind::extension).to_owned())
}

/// Gives a downloaded file a name no file in the directory and no file of this run has: `stem.ext`,
/// then `stem-2.ext`, `stem-3.ext` …
fn place(
    mut file: FetchedFile,
    stem: &str,
    extension: &str,
    plan: &DownloadPlan,
) -> Result<Downloaded, (PathBuf, std::io::Error)> {
    for attempt in 1u32..=1000 {
        let name = if attempt == 1 { format!("{stem}.{extension}") } else { format!("{stem}-{attempt}.{extension}") };
        let path = plan.dir.join(&name);
        if !plan.claim(&path) {
            continue;
        }
        match file.persist(&name, plan.overwrite) {
            Ok(done) => return Ok(done),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                plan.release(&path);
                file = e.file;
            }
            Err(e) => {
                plan.release(&path);
                return Err((path, e.error));
            }
        }
    }
    Err((plan.dir.join(format!("{stem}.{extension}")), std::io::Error::other("a thousand files of this name exist")))
}

impl Watcher {
    /// Downloads every output of a finished job as `plan` says, each file complete or not at all.
    ///
    /// The directory is created (or refused) first. Every request — the look-up of the files, a
    /// refresh of an expired link, each download — takes a slot of the provider's budget and is
    /// retried only as the error policy says; see [`Watch::with_downloads`](crate::Watch::with_downloads)
    /// to download as jobs complete.
    pub async fn download(
        &self,
        target: &WatchTarget,
        job: &Job,
        plan: &DownloadPlan,
    ) -> Result<Vec<Downloaded>, DownloadError> {
        plan.check_dir()?;
        let Some(source) = self.sources.get(&target.provider).cloned() else {
            let reason = format!("no {} source is configured; set its API token", target.provider);
            return Err(DownloadError::Crashed { id: target.id.to_string(), reason });
        };
        self.download_outputs(target.provider, &source, &target.id, job, plan, Deadline::NONE).await
    }

    /// Downloads every output of job `id` (its record `job`) as the plan says, within `deadline`.
    ///
    /// The source names the files ([`JobSource::outputs`]: the record's URLs, or URLs it resolves); a
    /// completed job with none is [`DownloadError::NoOutputs`], never a silent success. Files are named
    /// from the id asked for (never from what the server reports), unique within the plan's run. A
    /// signed URL that has expired (403/410) is refreshed by reading the job record again, once. The
    /// downloader holds no API token, so none reaches a file host.
    pub(crate) async fn download_outputs(
        &self,
        provider: Provider,
        source: &Arc<dyn JobSource>,
        id: &JobId,
        job: &Job,
        plan: &DownloadPlan,
        deadline: Deadline,
    ) -> Result<Vec<Downloaded>, DownloadError> {
        let own = plan.timeout.map_or(Deadline::NONE, |t| Deadline::after(self.env.now(), t));
        let binding = if own.min(deadline) == own && own != Deadline::NONE {
            Interruption::DownloadTimeout
        } else {
            Interruption::Deadline
        };
        let deadline = deadline.min(own);
        let Some(downloader) = self.downloader.as_ref() else {
            let reason = "the download client could not be built".to_owned();
            return Err(DownloadError::Crashed { id: id.to_string(), reason });
        };
        let failed = |index: usize, failure: RequestFailure| match failure {
            RequestFailure::DeadlinePassed { .. } => DownloadError::Interrupted { id: id.to_string(), reason: binding },
            RequestFailure::Refused { error: source, .. } | RequestFailure::RetriesExhausted { error: source, .. } => {
                DownloadError::Transport { id: id.to_string(), index, source }
            }
        };
        let stem = output_stem(id);
        // Naming the files reads the record and sends nothing; a file the API serves is asked for
        // below, under the budget (`JobSource::fetch_output`).
        let look_up = |job: &Job| {
            let job = job.clone();
            async move { source.outputs(id, &job).await.map_err(|error| RequestFailure::Refused { error, attempts: 0 }) }
        };
        let outputs = look_up(job).await.map_err(|f| failed(0, f))?;
        if outputs.is_empty() && job.status == JobStatus::Completed {
            return Err(DownloadError::NoOutputs { id: id.to_string() });
        }
        let mut done = Vec::with_capacity(outputs.len());
        let mut current = outputs.clone();
        for (index, output) in outputs.iter().enumerate() {
            // A refreshed record may list fewer outputs than the first one: never index on its word.
            let url = current.get(index).map_or_else(|| output.url.clone(), |o| o.url.clone());
            // One file: the provider's API serves some outputs itself (with the token: the file or a
            // link, under the API's pace); every link goes to the token-less downloader.
            let fetch = |url: String| {
                let output = Output::new(output.kind, url);
                async move {
                    let link = if source.serves(&output) {
                        let ask = || source.fetch_output(id, &output, &plan.dir, downloader.config());
                        match self.send(provider, RequestKind::Content, deadline, ask).await? {
                            ServedOutput::File(file) => return Ok(file),
                            ServedOutput::Link(link) => link,
                            other => {
                                let detail = format!("an answer for an output genjob does not know: {other:?}");
                                let error = TransportError::new(genjob_transport::ErrorKind::InvalidResponse, detail);
                                return Err(RequestFailure::Refused { error, attempts: 1 });
                            }
                        }
                    } else {
                        output.url.clone()
                    };
                    self.send(provider, RequestKind::Download, deadline, || {
                        let link = link.clone();
                        async move { downloader.fetch_file(&link, &plan.dir).await }
                    })
                    .await
                }
            };
            let file = match fetch(url).await {
                Ok(file) => file,
                Err(RequestFailure::Refused { error, .. }) if error.is_expired_url() => {
                    let read = || source.fetch(id);
                    let fresh_job = self
                        .send(provider, RequestKind::Refresh, deadline, read)
                        .await
                        .map_err(|f| failed(index, f))?
                        .job;
                    current = look_up(&fresh_job).await.map_err(|f| failed(index, f))?;
                    let fresh = current
                        .get(index)
                        .ok_or_else(|| DownloadError::Vanished { id: id.to_string(), index })?
                        .url
                        .clone();
                    fetch(fresh).await.map_err(|f| failed(index, f))?
                }
                Err(failure) => return Err(failed(index, failure)),
            };
            let extension = extension(&file, Some(output.kind));
            let placed = place(file, &format!("{stem}-{index}"), &extension, plan)
                .map_err(|(path, source)| DownloadError::Write { id: id.to_string(), index, path, source })?;
            done.push(placed);
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> JobId {
        JobId::parse(raw).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn stems_are_readable_file_safe_and_short() {
        let dreamina = id("j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina");
        assert_eq!(output_stem(&dreamina), "j0223140530123456789v-u12345-CA_user_example_com-bot_dreamina");
        let long = id(&format!("video_{}", "x".repeat(400)));
        let stem = output_stem(&long);
        assert!(stem.len() <= MAX_NAME_BYTES - 20, "{}", stem.len());
        assert_eq!(stem, output_stem(&long), "stable");
        let other = id(&format!("video_{}y", "x".repeat(399)));
        assert_ne!(output_stem(&other), stem, "ids sharing a long prefix still get distinct names");
        assert!(!output_stem(&id(".hidden")).starts_with('.'));
    }
}
