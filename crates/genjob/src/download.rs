//! Downloading a finished job's outputs: complete files or nothing, with expired URLs refreshed.

use genjob_models::{Job, JobId};
use genjob_transport::{Downloaded, JobSource, TransportError};
use std::path::{Path, PathBuf};

/// The stable file name of a job's output: the id made file-safe, the output index, the extension.
pub fn output_file_name(job: &Job, index: usize) -> String {
    let safe: String = job
        .id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let extension = job.outputs.get(index).map_or("bin", |o| o.kind.extension());
    format!("{safe}-{index}.{extension}")
}

/// Why an output could not be downloaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The download (or the refresh of an expired URL) failed.
    #[error("output {index} of {id}: {source}")]
    Transport {
        /// The job.
        id: String,
        /// Which output.
        index: usize,
        /// What went wrong.
        #[source]
        source: TransportError,
    },
    /// After refreshing the record, the output is no longer listed.
    #[error("output {index} of {id} is gone from the refreshed job record")]
    Vanished {
        /// The job.
        id: String,
        /// Which output.
        index: usize,
    },
    /// The wait's deadline passed or the wait was cancelled while downloading; nothing half-written stays.
    #[error("downloads of {id} stopped: {reason}")]
    Interrupted {
        /// The job.
        id: String,
        /// `the deadline passed` or `the wait was cancelled`.
        reason: &'static str,
    },
}

/// Where and how a watch downloads the outputs of the jobs that complete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadPlan {
    /// The directory the files go to (it must exist).
    pub dir: PathBuf,
    /// Jobs downloaded at once.
    pub concurrency: usize,
}

impl DownloadPlan {
    /// Downloads into `dir`, four jobs at a time.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), concurrency: 4 }
    }

    /// Sets how many jobs are downloaded at once (at least one).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }
}

/// Downloads every output of `job` into `dir`, each complete or not at all.
///
/// A signed URL that has expired (403/410) is refreshed by reading the job record again, once.
/// The API token is never sent to the file host.
pub async fn download_outputs(source: &dyn JobSource, job: &Job, dir: &Path) -> Result<Vec<Downloaded>, DownloadError> {
    let mut done = Vec::with_capacity(job.outputs.len());
    let mut current = job.clone();
    for (index, output) in job.outputs.iter().enumerate() {
        let name = output_file_name(job, index);
        // A refreshed record may list fewer outputs than the first one: never index on its word.
        let url = current.outputs.get(index).map_or_else(|| output.url.clone(), |o| o.url.clone());
        let transport = |source| DownloadError::Transport { id: job.id.clone(), index, source };
        match source.client().download(&url, dir, &name).await {
            Ok(file) => done.push(file),
            Err(e) if e.is_expired_url() => {
                let id = JobId::parse(&job.id).map_err(|_| DownloadError::Vanished { id: job.id.clone(), index })?;
                current = source.fetch(&id).await.map_err(transport)?.job;
                let fresh = current
                    .outputs
                    .get(index)
                    .ok_or_else(|| DownloadError::Vanished { id: job.id.clone(), index })?
                    .url
                    .clone();
                done.push(source.client().download(&fresh, dir, &name).await.map_err(transport)?);
            }
            Err(e) => return Err(transport(e)),
        }
    }
    Ok(done)
}
