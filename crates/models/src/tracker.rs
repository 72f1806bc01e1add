//! The status state machine: folds observations of one job into a status that only moves forward.

use crate::id::{JobId, retention};
use crate::job::{Job, JobError, JobStatus, Provider};
use jiff::{SignedDuration, Timestamp};

/// How long a Dreamina job may stay `created` before the service (and genjob) call it failed.
///
/// Both Dreamina job pages: "Jobs older than 1 hour that are still created are auto-marked as failed
/// with "Generation timed out" (code 408)".
pub const DREAMINA_CREATED_TIMEOUT: SignedDuration = SignedDuration::from_secs(60 * 60);

/// How far ahead of the local clock a job id's timestamp may be and still count as "now".
pub const CLOCK_SKEW_ALLOWANCE: SignedDuration = SignedDuration::from_secs(24 * 60 * 60);

/// What one observation did to the tracked status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Observation {
    /// The first record seen for the job.
    First(JobStatus),
    /// The job moved forward.
    Advanced {
        /// The status before.
        from: JobStatus,
        /// The status now.
        to: JobStatus,
    },
    /// Same status as before; details (progress, fresh signed URLs) were refreshed.
    Unchanged(JobStatus),
    /// The record is older than what is known (a lagging replica, a late webhook): ignored.
    Stale {
        /// What the record said.
        reported: JobStatus,
        /// What the tracker keeps.
        kept: JobStatus,
    },
    /// The record's status is one genjob does not know; the tracked status is kept.
    Unrecognized {
        /// The provider's raw status.
        provider_status: String,
    },
    /// The Dreamina 1-hour rule failed the job locally.
    TimedOutLocally,
}

/// Tracks one job across observations: forward-only status, absorbing terminal states, the 1-hour rule.
///
/// ```
/// use genjob_models::{JobId, JobStatus, StatusTracker};
/// let id: JobId = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina".parse()?;
/// let mut tracker = StatusTracker::new(id);
/// let now: jiff::Timestamp = "2026-02-23T15:05:31Z".parse()?;
/// // An hour and a second after creation with no sign of completion: failed locally.
/// tracker.check_deadline(now);
/// assert_eq!(tracker.status(), JobStatus::Queued); // nothing observed yet, nothing to fail
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StatusTracker {
    id: JobId,
    created_at: Option<Timestamp>,
    job: Option<Job>,
    observations: u32,
    last_observed_at: Option<Timestamp>,
    timed_out_locally: bool,
}

/// How far a record's `created` may stray from the time its id records and still be believed.
const CREATED_AGREEMENT: SignedDuration = SignedDuration::from_secs(24 * 60 * 60);

/// The creation time to believe: the record's (it has the year and the precision) when it agrees with
/// what the id says; the id's when they disagree, since a record dated year 1 (or 9999) must not fail
/// a fresh job by the 1-hour rule, nor switch the rule off.
fn plausible_creation(from_record: Option<Timestamp>, from_id: Option<Timestamp>) -> Option<Timestamp> {
    match (from_record, from_id) {
        (Some(record), Some(id)) if record.duration_since(id).abs() <= CREATED_AGREEMENT => Some(record),
        (_, Some(id)) => Some(id),
        (record, None) => record,
    }
}

fn rank(status: JobStatus) -> Option<u8> {
    match status {
        JobStatus::Queued => Some(0),
        JobStatus::Running => Some(1),
        JobStatus::Completed | JobStatus::Failed => Some(2),
        JobStatus::Unknown => None,
    }
}

impl StatusTracker {
    /// Starts tracking a job known only by its id.
    pub fn new(id: JobId) -> Self {
        Self { id, created_at: None, job: None, observations: 0, last_observed_at: None, timed_out_locally: false }
    }

    /// The tracked job's id.
    pub fn id(&self) -> &JobId {
        &self.id
    }

    /// The provider, from the latest record or else from the id.
    pub fn provider(&self) -> Option<Provider> {
        self.job.as_ref().map(|j| j.provider).or_else(|| self.id.provider())
    }

    /// The latest accepted view of the job, if any record was observed.
    pub fn job(&self) -> Option<&Job> {
        self.job.as_ref()
    }

    /// The tracked status (`queued` until something is observed).
    pub fn status(&self) -> JobStatus {
        self.job.as_ref().map_or(JobStatus::Queued, |j| j.status)
    }

    /// True once the job is completed or failed.
    pub fn is_terminal(&self) -> bool {
        self.status().is_terminal()
    }

    /// How many records were observed.
    pub fn observations(&self) -> u32 {
        self.observations
    }

    /// When the last record was observed.
    pub fn last_observed_at(&self) -> Option<Timestamp> {
        self.last_observed_at
    }

    /// True when the failure came from the local 1-hour rule rather than from the provider.
    pub fn timed_out_locally(&self) -> bool {
        self.timed_out_locally
    }

    /// The creation time: from a record, else from the id resolved against `reference`.
    ///
    /// The id is resolved against `reference` plus [`CLOCK_SKEW_ALLOWANCE`]: a server clock a little
    /// ahead of ours must not turn a fresh yearless Dreamina id into one from last year.
    pub fn created_at(&self, reference: Timestamp) -> Option<Timestamp> {
        self.created_at.or_else(|| self.id.created_at(reference.checked_add(CLOCK_SKEW_ALLOWANCE).unwrap_or(reference)))
    }

    /// The job's age at `now`, when its creation time is known.
    pub fn age(&self, now: Timestamp) -> Option<SignedDuration> {
        self.created_at(now).map(|c| now.duration_since(c))
    }

    /// When the 1-hour rule will fail the job if it is still `created` (Dreamina jobs only).
    pub fn deadline(&self, reference: Timestamp) -> Option<Timestamp> {
        if self.provider() != Some(Provider::Dreamina) || self.is_terminal() {
            return None;
        }
        self.created_at(reference)?.checked_add(DREAMINA_CREATED_TIMEOUT).ok()
    }

    /// True when the provider has forgotten the job at `now` (Dreamina 30 days, Google Flow 7 days).
    pub fn expired(&self, now: Timestamp) -> bool {
        let (Some(created), Some(keep)) = (self.created_at(now), self.provider().and_then(retention)) else {
            return false;
        };
        created.checked_add(keep).is_ok_and(|end| now > end)
    }

    /// Folds in a record observed at `observed_at`, then applies the 1-hour rule at that time.
    pub fn observe(&mut self, job: Job, observed_at: Timestamp) -> Observation {
        self.observations = self.observations.saturating_add(1);
        self.last_observed_at = Some(self.last_observed_at.map_or(observed_at, |t| t.max(observed_at)));
        if self.created_at.is_none() {
            self.created_at = plausible_creation(job.created_at, self.created_at(observed_at));
        }
        let reported = job.status;
        let outcome = match self.job.as_ref().map(|j| j.status) {
            None => {
                self.job = Some(job);
                Observation::First(reported)
            }
            Some(kept) => match (rank(kept), rank(reported)) {
                (_, None) => Observation::Unrecognized { provider_status: job.provider_status },
                (Some(k), Some(r)) if r < k => Observation::Stale { reported, kept },
                // Two different terminal states: the first one stands (terminal states absorb).
                (Some(2), Some(2)) if kept != reported => Observation::Stale { reported, kept },
                (Some(k), Some(r)) if r == k && kept == reported => {
                    // Same status: keep the fresher details (progress, re-signed URLs).
                    if !self.timed_out_locally {
                        self.job = Some(job);
                    }
                    Observation::Unchanged(kept)
                }
                _ => {
                    self.job = Some(job);
                    Observation::Advanced { from: kept, to: reported }
                }
            },
        };
        if self.check_deadline(observed_at) { Observation::TimedOutLocally } else { outcome }
    }

    /// Applies the 1-hour rule at `now`; true when it just failed the job.
    ///
    /// A Dreamina job still `created` more than 60 minutes after its creation is failed with code
    /// 408 "Generation timed out", as the service itself would. At exactly 60:00.000 it is still queued.
    pub fn check_deadline(&mut self, now: Timestamp) -> bool {
        let Some(deadline) = self.deadline(now) else { return false };
        let Some(job) = self.job.as_mut() else { return false };
        if job.status != JobStatus::Queued || now <= deadline {
            return false;
        }
        job.status = JobStatus::Failed;
        job.error = Some(JobError::generation_timed_out());
        self.timed_out_locally = true;
        true
    }
}
