//! What a watch reports: progress, final states, downloads, and why a wait ended without one.

use crate::download::DownloadError;
use crate::requests::RequestFailure;
use genjob_models::{Job, JobId, JobStatus, Provider, ProviderRecord};
use genjob_transport::{Downloaded, TransportError};
use std::fmt;
use std::time::Duration;

/// A job that reached a final state, read from its own record (or failed by the 1-hour rule).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FinishedJob {
    /// The normalized final view (`completed` or `failed`).
    pub job: Job,
    /// The provider's final record, when one was read (absent when the 1-hour rule decided).
    pub record: Option<ProviderRecord>,
    /// Record reads made for this job (listing requests not included).
    pub polls: u32,
    /// Time from the start of the wait to the final state.
    pub elapsed: Duration,
    /// True when genjob failed the job by the 1-hour rule (its last record still said `created`).
    pub timed_out_locally: bool,
}

impl FinishedJob {
    /// True when the job completed.
    pub fn is_completed(&self) -> bool {
        self.job.status == JobStatus::Completed
    }
}

/// A job's state as read once through the status tracker (`genjob status`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobSnapshot {
    /// The tracked view: the record, with the 1-hour rule applied.
    pub job: Job,
    /// The record as the provider sent it.
    pub record: ProviderRecord,
    /// Requests made (more than one when the error policy retried).
    pub polls: u32,
    /// True when the 1-hour rule failed the job (its record still says `created`).
    pub timed_out_locally: bool,
}

/// Why a wait did not end with a completed job.
///
/// A failed job is an error too, so that `watcher.wait(target).await?` never passes a failure on as
/// success; its record is in [`WaitError::JobFailed`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The job reached the `failed` state (by its record, or by the 1-hour rule).
    #[error("{}: the job failed: {}", .0.job.id, failure_summary(&.0.job))]
    JobFailed(Box<FinishedJob>),
    /// The deadline passed first.
    #[error(
        "{id}: {} after waiting {elapsed:.1?} ({polls} requests){}; the timeout passed — wait longer or check later",
        if last.is_some() { format!("still {status}") } else { "no record read yet".to_owned() },
        last_error.as_ref().map(|e| format!("; last answer: {e}")).unwrap_or_default()
    )]
    TimedOut {
        /// The job.
        id: JobId,
        /// The last status a record showed (`queued` when none was read).
        status: JobStatus,
        /// Time waited.
        elapsed: Duration,
        /// Record reads made.
        polls: u32,
        /// The last view a record showed, if any.
        last: Option<Box<Job>>,
        /// The last failed request's error, when the last request failed.
        last_error: Option<Box<TransportError>>,
    },
    /// The server refused the request in a way asking again cannot change (401, 403, 404, 410,
    /// an invalid answer …).
    #[error("{id}: {source}")]
    Fetch {
        /// The job.
        id: JobId,
        /// The server's answer or the local refusal.
        #[source]
        source: TransportError,
        /// Record reads made.
        polls: u32,
    },
    /// Requests kept failing with trouble that may pass (429, 5xx, timeouts, broken connections),
    /// and the error policy gave up.
    #[error("{id}: {source}; gave up after {polls} attempts over {failing_for:.1?}")]
    RetriesExhausted {
        /// The job.
        id: JobId,
        /// The last attempt's error.
        #[source]
        source: TransportError,
        /// Record reads made.
        polls: u32,
        /// Time from the first failure of the run to the last.
        failing_for: Duration,
    },
    /// The job id names another provider than the one asked to read it: refused before any request.
    #[error("{id}: this is a {own} job id; it cannot be read from {provider}")]
    WrongProvider {
        /// The job.
        id: JobId,
        /// The provider asked to read it.
        provider: Provider,
        /// The provider its id names.
        own: Provider,
    },
    /// The server answered with the record of another job: an invalid answer, never taken as this job's state.
    #[error("{id}: the server answered with the record of job {record_id:?}; it is not a valid answer for this job")]
    WrongRecord {
        /// The job asked for.
        id: JobId,
        /// The id the record carried.
        record_id: String,
        /// Record reads made.
        polls: u32,
    },
    /// No source was registered for the job's provider.
    #[error("{id}: no {provider} source is configured; set its API token")]
    NoSource {
        /// The job.
        id: JobId,
        /// The provider.
        provider: Provider,
    },
    /// The wait was cancelled.
    #[error("{id}: the wait was cancelled")]
    Cancelled {
        /// The job.
        id: JobId,
    },
}

impl WaitError {
    /// The wait's ending for a request that ended without an answer.
    pub(crate) fn from_failure(id: JobId, failure: RequestFailure, status: JobStatus, elapsed: Duration) -> Self {
        match failure {
            RequestFailure::Refused { error, attempts } => Self::Fetch { id, source: error, polls: attempts },
            RequestFailure::RetriesExhausted { error, attempts, failing_for } => {
                Self::RetriesExhausted { id, source: error, polls: attempts, failing_for }
            }
            RequestFailure::DeadlinePassed { last, attempts } => {
                Self::TimedOut { id, status, elapsed, polls: attempts, last: None, last_error: last.map(Box::new) }
            }
        }
    }

    /// True when the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::TimedOut { .. })
    }

    /// The failed job, when the job itself failed.
    pub fn failed_job(&self) -> Option<&FinishedJob> {
        match self {
            Self::JobFailed(job) => Some(job),
            _ => None,
        }
    }

    /// The transport error behind a failed request.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            Self::Fetch { source, .. } | Self::RetriesExhausted { source, .. } => Some(source),
            Self::TimedOut { last_error, .. } => last_error.as_deref(),
            _ => None,
        }
    }

    /// Record reads made before the wait ended, when known.
    pub fn polls(&self) -> Option<u32> {
        match self {
            Self::JobFailed(job) => Some(job.polls),
            Self::TimedOut { polls, .. }
            | Self::Fetch { polls, .. }
            | Self::RetriesExhausted { polls, .. }
            | Self::WrongRecord { polls, .. } => Some(*polls),
            _ => None,
        }
    }
}

/// One line on why a job failed: its error message and code, or its provider status.
pub fn failure_summary(job: &Job) -> String {
    match &job.error {
        Some(e) => match &e.code {
            Some(code) => format!("{} (code {code})", e.message),
            None => e.message.clone(),
        },
        None => format!("provider status `{}`", job.provider_status),
    }
}

/// A progress report for one job.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobProgress {
    /// Position of the job in the watched list.
    pub index: usize,
    /// The job id.
    pub id: JobId,
    /// The status its last record showed.
    pub status: JobStatus,
    /// Provider-reported progress in percent.
    pub progress: Option<u8>,
    /// Time since the wait started.
    pub elapsed: Duration,
    /// Record reads made for this job so far.
    pub polls: u32,
    /// Delay until the next check.
    pub next_delay: Duration,
    /// What happened, when worth telling (`rate limited`, `stale read ignored` …).
    pub note: Option<String>,
}

/// How one job's wait ended: completed, or why not (the payload of [`WatchEvent::Ended`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct JobEnded {
    /// Position of the job in the watched list.
    pub index: usize,
    /// The job id.
    pub id: JobId,
    /// The completed job, or why there is none (a failed job is [`WaitError::JobFailed`]).
    pub result: Result<FinishedJob, WaitError>,
}

/// The downloads of one completed job.
#[derive(Debug)]
#[non_exhaustive]
pub struct JobDownloaded {
    /// Position of the job in the watched list.
    pub index: usize,
    /// The job id.
    pub id: JobId,
    /// The files, each complete, or why they are not all there (nothing half-written stays).
    pub result: Result<Vec<Downloaded>, DownloadError>,
}

/// What a watch reports as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchEvent {
    /// A job was checked and is not final yet.
    Progress(JobProgress),
    /// A job's wait ended: it reached its final state, or why it did not.
    Ended(Box<JobEnded>),
    /// A completed job's outputs were downloaded (only with [`Watch::with_downloads`](crate::Watch::with_downloads)).
    Downloaded(Box<JobDownloaded>),
}

impl fmt::Display for JobProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({} reads)", self.id, self.status, self.polls)?;
        if let Some(p) = self.progress {
            write!(f, " {p}%")?;
        }
        if let Some(note) = &self.note {
            write!(f, ": {note}")?;
        }
        Ok(())
    }
}
