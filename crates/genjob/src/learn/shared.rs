//! Learned durations shared by watchers, and read back after a watch to save them.

use super::estimate::DurationEstimate;
use super::key::DurationKey;
use super::store::DurationEstimates;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// [`DurationEstimates`] shared by watchers (and read back after a watch, to save it).
///
/// Cloning shares: every clone sees and feeds the same estimates.
///
/// ```
/// use genjob::learn::{DurationEstimates, SharedEstimates};
/// use genjob::Watcher;
/// let learned = SharedEstimates::new(DurationEstimates::new()); // or one loaded from a file
/// let watcher = Watcher::new().with_learning(learned.clone());
/// // … watch jobs; then keep what was learned:
/// let snapshot: DurationEstimates = learned.snapshot();
/// # drop((watcher, snapshot));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SharedEstimates(Arc<Mutex<DurationEstimates>>);

impl SharedEstimates {
    /// Shares `estimates`.
    pub fn new(estimates: DurationEstimates) -> Self {
        Self(Arc::new(Mutex::new(estimates)))
    }

    /// A copy of what is learned now (to save it).
    pub fn snapshot(&self) -> DurationEstimates {
        self.lock().clone()
    }

    /// Adds what `other` holds ([`DurationEstimates::merge`]): how a process takes in what others
    /// learned (a shared store's merged estimates) without losing what it learned meanwhile, and
    /// without counting a job twice.
    pub fn merge(&self, other: &DurationEstimates) {
        self.lock().merge(other);
    }

    /// Runs `f` on the estimates, holding the lock.
    pub fn update<R>(&self, f: impl FnOnce(&mut DurationEstimates) -> R) -> R {
        f(&mut self.lock())
    }

    /// See [`DurationEstimates::record_finished`].
    pub fn record_finished(&self, key: &DurationKey, job: &str, took: Duration) {
        self.lock().record_finished(key, job, took);
    }

    /// See [`DurationEstimates::record_spent`].
    pub fn record_spent(&self, key: &DurationKey, job: &str, checks: u32, watched: Duration) {
        self.lock().record_spent(key, job, checks, watched);
    }

    /// See [`DurationEstimates::record_running`].
    pub fn record_running(&self, key: &DurationKey, job: &str, age: Duration) {
        self.lock().record_running(key, job, age);
    }

    /// See [`DurationEstimates::forget`].
    pub fn forget(&self, key: &DurationKey, job: &str) {
        self.lock().forget(key, job);
    }

    /// See [`DurationEstimates::estimate`].
    pub fn estimate(&self, key: &DurationKey) -> Option<Arc<DurationEstimate>> {
        self.lock().estimate(key)
    }

    /// See [`DurationEstimates::changes`].
    pub fn changes(&self, key: &DurationKey) -> Vec<u64> {
        self.lock().changes(key)
    }

    fn lock(&self) -> MutexGuard<'_, DurationEstimates> {
        // A poisoned lock only means a panic elsewhere mid-update; the rings are still well formed.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genjob_models::{JobKind, Provider};

    #[test]
    fn merging_back_a_store_s_merge_keeps_what_was_learned_meanwhile_and_counts_each_job_once() {
        let key = DurationKey::for_kind(Provider::Dreamina, Some(JobKind::Video));
        let shared = SharedEstimates::default();
        shared.record_finished(&key, "mine", Duration::from_secs(90));
        // A store merges a snapshot into what another process saved …
        let mut stored = DurationEstimates::new();
        stored.record_finished(&key, "theirs", Duration::from_secs(100));
        stored.merge(&shared.snapshot());
        // … while this process learns more.
        shared.record_finished(&key, "meanwhile", Duration::from_secs(80));
        shared.merge(&stored);
        assert_eq!(shared.snapshot().samples(&key), (3, 0));
        // Taking the same back again adds nothing.
        shared.merge(&stored);
        assert_eq!(shared.snapshot().samples(&key), (3, 0));
    }
}
