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

    /// Runs `f` on the estimates, holding the lock.
    pub fn update<R>(&self, f: impl FnOnce(&mut DurationEstimates) -> R) -> R {
        f(&mut self.lock())
    }

    /// See [`DurationEstimates::record_finished`].
    pub fn record_finished(&self, key: &DurationKey, job: &str, took: Duration) {
        self.lock().record_finished(key, job, took);
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

    fn lock(&self) -> MutexGuard<'_, DurationEstimates> {
        // A poisoned lock only means a panic elsewhere mid-update; the rings are still well formed.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
