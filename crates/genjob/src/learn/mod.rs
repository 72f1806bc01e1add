//! How long jobs take, learned from their own records, and the poll plan that is best for it.
//!
//! Every finished record says exactly how long its job took (`created` → finish time); every read of
//! a running job says its time is longer than its age. Per [`DurationKey`] (provider, kind, model,
//! request size) [`DurationEstimates`] keeps a bounded ring of both (and lets the older finishes go
//! when the newest say that jobs take another time now); [`DurationEstimate`] turns them
//! into a distribution of time-to-finish (Kaplan–Meier, so running jobs count too); [`PollPlan`]
//! computes from it the checks that give the least expected latency for the request budget of the
//! documented 10-second loop (a dynamic programme: checks come dense where jobs finish, sparse
//! where they do not).
//!
//! All of it but the store is pure: no IO, no clock. The [`Watcher`](crate::Watcher) feeds a
//! [`SharedEstimates`] from the records it reads and hands the estimate of each job's key to the
//! poll policy in its [`PollContext`](crate::policy::PollContext); the policy stays a function of
//! its inputs. The estimates serialize to a small versioned JSON value; a [`LearnedStore`] keeps it
//! between runs ([`FileStore`]: a file in the user's cache directory, what `genjob wait` uses).

mod estimate;
mod file_store;
mod key;
mod persist;
mod plan;
mod shared;
mod store;

pub use estimate::{DurationEstimate, MAX_SAMPLE, Repayment};
pub use file_store::FileStore;
pub use key::DurationKey;
pub use persist::{LearnedStore, StoreError};
pub use plan::{PlanBudget, PollPlan};
pub use shared::SharedEstimates;
pub use store::{
    CHANGE_WINDOW, DurationEstimates, EARLY_FINISHED, MAX_KEYS, MAX_RUNNING, MAX_SAMPLES, MIN_FINISHED, REPAY_FINISHES,
};

use crate::time::positive;
use genjob_models::{JobStatus, Provider, ProviderRecord, StatusTracker};
use jiff::Timestamp;
use std::sync::Arc;

/// What one record read teaches, fed into `shared`: a finish time, a running age, or a failure.
///
/// Returns the job's key and the estimate its next poll should use. The finish time is the
/// record's own (`created` → finish), never the time the watcher noticed; a job the 1-hour rule
/// failed locally, or the provider failed, gives no sample. A finish also reports what watching
/// the job cost: `checks` reads since `watched_from`.
pub(crate) fn observe_read(
    shared: &SharedEstimates,
    provider: Provider,
    tracker: &StatusTracker,
    record: &ProviderRecord,
    (checks, watched_from): (u32, Timestamp),
    now: Timestamp,
) -> (Option<DurationKey>, Option<Arc<DurationEstimate>>) {
    let Some(job) = tracker.job() else { return (None, None) };
    let kind = job.kind.or_else(|| tracker.id().kind());
    let key = DurationKey::new(provider, kind, job.model.as_deref(), record.request_profile());
    let id = tracker.id().as_str();
    match job.status {
        JobStatus::Completed => {
            let created = tracker.created_at(now);
            if let (Some(created), Some(finished)) = (created, record.finished_at()) {
                shared.record_finished(&key, id, positive(finished.duration_since(created)));
                shared.record_spent(&key, id, checks, positive(finished.duration_since(watched_from)));
            }
        }
        JobStatus::Failed => shared.forget(&key, id),
        JobStatus::Queued | JobStatus::Running | JobStatus::Unknown => {
            if let Some(age) = tracker.age(now) {
                shared.record_running(&key, id, positive(age));
            }
        }
    }
    let estimate = shared.estimate(&key);
    (Some(key), estimate)
}
