//! One watched job: its tracker, where it is in the watch, and its run of failures.

use super::hints::{Check, Coverage};
use crate::learn::{DurationEstimate, DurationKey};
use crate::requests::Failures;
use genjob_models::{JobKind, JobStatus, Provider, StatusTracker};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// Where a job is in the watch. One phase at a time: a job cannot be both reading and done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for its next check; the timer heap holds it under this job's current generation.
    Scheduled(Check),
    /// Due, waiting for its provider's next listing.
    AwaitingListing,
    /// Due, waiting for a request in flight to finish (the concurrency limit).
    AwaitingSlot,
    /// Its record read is in flight.
    Reading,
    /// Finished and reported.
    Done,
}

/// What the latest listing claimed about a job: used to schedule its checks, never to decide its state.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListingHint {
    /// When the listing says the job was created.
    pub created_at: Option<Timestamp>,
    /// The status the listing claims.
    pub status: Option<JobStatus>,
    /// The progress the listing claims.
    pub progress: Option<u8>,
    /// The model the listing names.
    pub model: Option<String>,
    /// What the listing says the job produces.
    pub kind: Option<JobKind>,
}

/// Everything the watch knows about one job.
#[derive(Debug)]
pub(crate) struct TrackedJob {
    /// The provider that runs it.
    pub provider: Provider,
    /// Its state, folded from its records only.
    pub tracker: StatusTracker,
    /// Where it is in the watch.
    pub phase: Phase,
    /// Whether a listing answers for it.
    pub coverage: Coverage,
    /// Bumped whenever it is (re)scheduled, so stale timer entries are ignored.
    pub generation: u32,
    /// Record reads made (listing requests not included).
    pub polls: u32,
    /// The current run of failed reads.
    pub failures: Failures,
    /// When its record was last read (or the watch started, before any read).
    pub last_read: Timestamp,
    /// When the watch of it started: what a fixed loop would have spent on it is counted from here.
    pub watched_from: Timestamp,
    /// When the read now in flight was sent.
    pub read_sent: Option<Timestamp>,
    /// The least delay the server asked for on its last answer.
    pub server_hint: Option<Duration>,
    /// What the latest listing claimed about it, for scheduling only.
    pub hint: Option<ListingHint>,
    /// When a callback last started (or scheduled) a read of it.
    #[cfg_attr(not(feature = "callbacks"), allow(dead_code))]
    pub last_woken: Option<Timestamp>,
    /// When it was first seen running, and its progress then.
    pub running_seen: Option<(Timestamp, u8)>,
    /// Its key in the learned durations, once a record named its model and request.
    pub key: Option<DurationKey>,
    /// The learned estimate its polls plan on, if its key has one.
    pub estimate: Option<Arc<DurationEstimate>>,
}

impl TrackedJob {
    /// Notes that it is running with `progress` at `now` (the first time only).
    pub fn seen_running(&mut self, progress: Option<u8>, now: Timestamp) {
        if self.running_seen.is_none() {
            self.running_seen = Some((now, progress.unwrap_or(0)));
        }
    }

    /// How long it has been running ([`running_time`](crate::policy::running_time)); `None` when
    /// nothing tells (the policy then uses its age).
    pub fn running_for(&self, progress: Option<u8>, now: Timestamp) -> Option<Duration> {
        let (then, first) = self.running_seen?;
        crate::policy::running_time(first, crate::time::since(now, then), progress)
    }
}
