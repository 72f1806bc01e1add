//! Where learned durations are kept between runs: the [`LearnedStore`] trait and its error.

use super::store::DurationEstimates;

/// A place that keeps [`DurationEstimates`] between runs ([`FileStore`](super::FileStore) by default).
///
/// Nothing a store holds can stop a wait: a load that fails means "nothing learned" (the caller
/// goes on without it and says why), a save that fails loses only the learning. A store reports;
/// it prints nothing.
///
/// ```no_run
/// use genjob::learn::{FileStore, LearnedStore};
/// use genjob::{SharedEstimates, Watcher};
/// let store: Box<dyn LearnedStore> = Box::new(FileStore::new("learned-durations.json"));
/// let learned = store.load().unwrap_or_else(|warning| {
///     eprintln!("warning: {warning}");
///     Default::default()
/// });
/// let shared = SharedEstimates::new(learned);
/// let watcher = Watcher::new().with_learning(shared.clone());
/// // … watch jobs; then keep what was learned, together with what other runs kept meanwhile:
/// if let Err(warning) = store.save_merged(&shared.snapshot()) {
///     eprintln!("warning: {warning}");
/// }
/// # drop(watcher);
/// ```
pub trait LearnedStore: Send + Sync + std::fmt::Debug {
    /// What earlier runs kept: empty when nothing was kept yet, an error when what is kept cannot be used.
    fn load(&self) -> Result<DurationEstimates, StoreError>;

    /// Keeps `learned` merged ([`DurationEstimates::merge`]) into what the store holds by then.
    ///
    /// Another run may have saved since this one loaded: merging keeps its samples too. What the
    /// store holds but cannot use is replaced.
    fn save_merged(&self, learned: &DurationEstimates) -> Result<(), StoreError>;
}

/// Why a [`LearnedStore`] could not load or save; a warning for the caller to show, never a wait's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// What is kept cannot be used (unreadable, not a regular file, too large, corrupt, foreign or
    /// of a future version): nothing learned is used, and the next save replaces it.
    #[error("ignoring the learned job durations in {location}: {reason}")]
    Unusable {
        /// Where they are kept (a file's path).
        location: String,
        /// What is wrong with them.
        reason: String,
    },
    /// What was learned could not be kept.
    #[error("could not save the learned job durations to {location}: {reason}")]
    NotSaved {
        /// Where they were to be kept.
        location: String,
        /// What failed.
        reason: String,
    },
}
