//! The store: the truth of what is watched; the worker only acts on its rows. Two backends behind
//! one [`Store`]: SQLite (embedded, one process per file, the default) and PostgreSQL (several
//! replicas, each holding the watches it runs under a lease). Migrations are applied at open.

pub mod dashboard;
mod deliveries;
mod events;
mod learned;
mod postgres;
mod sqlite;
mod watches;

pub use deliveries::{DueDelivery, NewDelivery};
pub use events::{EventBounds, EventFilter, EventPage, EventRow, EventType};
pub use watches::{DownloadState, Inserted, KeptFile, NewWatch, OutputRow, WatchFilter, WatchRow, WatchState};

use crate::cfg::DbUrl;
use genjob::Job;
use genjob::learn::DurationEstimates;
use postgres::Postgres;
use sqlite::Sqlite;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The database file could not be opened or created.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// Another `genjob serve` holds this database (SQLite: one process per file).
    #[error(
        "the database {path} is in use by another genjob serve (lock {lock}); stop it, or give this one another --db"
    )]
    InUse {
        /// The database file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The lock file beside the database could not be created or locked.
    #[error("cannot create or lock the lock file {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Applying the migrations failed (a database written by a newer genjob, say).
    #[error(
        "cannot migrate the database: {0}; a database written by a newer genjob needs that genjob (or another --db)"
    )]
    Migrate(#[from] rusqlite_migration::Error),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] rusqlite::Error),
    /// A stored JSON value did not read back.
    #[error("a stored value does not read back: {0}")]
    Corrupt(String),
    /// The blocking task running the query was lost (the runtime is shutting down).
    #[error("the database task ended early")]
    TaskLost,
    /// A PostgreSQL query or connection failed (the server's own message when it sent one: the
    /// driver's text alone says only "db error").
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// No PostgreSQL connection could be had from the pool.
    #[error("PostgreSQL: no connection: {0}; check that the server in --db is up and the role may log in")]
    Pool(String),
    /// Applying the PostgreSQL migrations failed.
    #[error("cannot migrate the PostgreSQL database: {0}")]
    PostgresMigrate(String),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Postgres(match e.as_db_error() {
            Some(db) => format!("{} ({}: {})", e, db.code().code(), db.message()),
            None => e.to_string(),
        })
    }
}

/// A watch held by this replica, as the lease renewal sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The job.
    pub job_id: String,
    /// A callback (received by any replica) asked for its record to be read now.
    pub woken: bool,
}

/// The store: cheap to clone, shared by the API, the worker and the webhook sender.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    // The newest event id this process wrote: wakes the event streams (they re-read the table
    // now and then too, for events another process wrote).
    events: Arc<watch::Sender<i64>>,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

/// Calls the same method on whichever backend the store is.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(b) => b.$method($($arg),*).await,
            Backend::Postgres(b) => b.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (creating if needed) the database `url` names and applies the migrations. SQLite takes
    /// the file's lock (one process per file); PostgreSQL is shared by every replica pointed at it.
    pub async fn open(url: impl Into<DbUrl>) -> Result<Store, DbError> {
        let backend = match url.into() {
            DbUrl::Sqlite(path) => Backend::Sqlite(Sqlite::open(&path).await?),
            DbUrl::Postgres(url) => Backend::Postgres(Postgres::open(url.expose()).await?),
        };
        let store = Store { backend, events: Arc::new(watch::Sender::new(0)) };
        let latest = dispatch!(store.latest_event())?;
        store.events.send_replace(latest);
        Ok(store)
    }

    /// Whether several processes share this store (each then holds its watches under a lease).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// A receiver that changes whenever this store writes an event (its value: the newest id).
    pub fn subscribe_events(&self) -> watch::Receiver<i64> {
        self.events.subscribe()
    }

    /// Wakes the event streams after a write that appended event `id` (only after its commit: a
    /// woken stream must find it).
    fn emitted<R>(&self, (result, event): (R, Option<i64>)) -> R {
        if let Some(id) = event {
            self.events.send_if_modified(|latest| {
                let newer = id > *latest;
                *latest = (*latest).max(id);
                newer
            });
        }
        result
    }

    /// Checks that the database answers (`/healthz`).
    pub async fn ping(&self) -> Result<(), DbError> {
        dispatch!(self.ping())
    }

    /// Counts for `/metrics`: watches by state, deliveries by outcome, events written.
    pub async fn stats(&self) -> Result<StoreStats, DbError> {
        dispatch!(self.stats())
    }

    /// The value of a server setting, storing `default()` first if there is none (the first
    /// replica to start decides it for all).
    pub async fn setting_or_insert(
        &self,
        name: &'static str,
        default: impl FnOnce() -> String + Send + 'static,
    ) -> Result<String, DbError> {
        dispatch!(self.setting_or_insert(name, default))
    }

    /// Adds a watch, or returns the existing one for the same job id (the unique constraint decides).
    pub async fn insert_watch(&self, new: NewWatch, now_ms: i64) -> Result<Inserted, DbError> {
        Ok(self.emitted(dispatch!(self.insert_watch(new, now_ms))?))
    }

    /// The watch of a job, if there is one.
    pub async fn watch(&self, job_id: &str) -> Result<Option<WatchRow>, DbError> {
        dispatch!(self.watch(job_id))
    }

    /// Watches in row order after the filter's cursor.
    pub async fn list_watches(&self, filter: WatchFilter) -> Result<Vec<WatchRow>, DbError> {
        dispatch!(self.list_watches(filter))
    }

    /// Removes a watch, its labels, outputs and pending deliveries; false when there was none.
    pub async fn delete_watch(&self, job_id: &str, now_ms: i64) -> Result<bool, DbError> {
        Ok(self.emitted(dispatch!(self.delete_watch(job_id, now_ms))?))
    }

    /// Every watch still being watched, oldest first: what a starting SQLite server picks up again.
    pub async fn unfinished(&self) -> Result<Vec<WatchRow>, DbError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let filter = WatchFilter { state: Some(WatchState::Watching), label: None, after, limit: 500 };
            let page = self.list_watches(filter).await?;
            let Some(last) = page.last() else { return Ok(all) };
            after = Some(last.id);
            all.extend(page);
        }
    }

    /// A record was read and the job is not final: its status, progress and next check (and a
    /// `watch.progress` event when the status or progress changed).
    pub async fn record_progress(
        &self,
        job_id: &str,
        job_status: &str,
        progress: Option<u8>,
        polls: u32,
        next_check_at: i64,
        now_ms: i64,
    ) -> Result<(), DbError> {
        let written = dispatch!(self.record_progress(job_id, job_status, progress, polls, next_check_at, now_ms))?;
        self.emitted(written);
        Ok(())
    }

    /// Watching stopped for a while (requests kept failing): the trouble, and when to start again.
    pub async fn record_retry(
        &self,
        job_id: &str,
        error: &str,
        next_check_at: i64,
        now_ms: i64,
    ) -> Result<(), DbError> {
        dispatch!(self.record_retry(job_id, error, next_check_at, now_ms))
    }

    /// The final state, its job and outputs, and the webhook it owes, in one transaction: a crash
    /// leaves either all of it or none (then the job is watched again and ends again).
    ///
    /// `download`: the watch's files are still to be kept (`download_state` becomes `pending`);
    /// its webhook then waits for them and `delivery` is `None` (see [`Store::record_files`]).
    ///
    /// Returns false, writing nothing, when the watch is gone or already final (another replica
    /// wrote it first: the webhook is owed once).
    #[allow(clippy::too_many_arguments)] // one transaction's inputs, each named at the call
    pub async fn record_final(
        &self,
        job_id: &str,
        state: WatchState,
        job: Option<Job>,
        error: Option<String>,
        download: Option<DownloadState>,
        delivery: Option<NewDelivery>,
        now_ms: i64,
    ) -> Result<bool, DbError> {
        let written = dispatch!(self.record_final(job_id, state, job, error, download, delivery, now_ms))?;
        Ok(self.emitted(written))
    }

    /// Every watch whose files are still to be kept, oldest first: what a starting SQLite server
    /// picks up again besides the watching ones.
    pub async fn files_pending(&self) -> Result<Vec<WatchRow>, DbError> {
        dispatch!(self.files_pending())
    }

    /// The files are kept: their paths, `download_state = kept`, and the webhook that carries them,
    /// in one transaction. Returns false, writing nothing, when no files are pending for the job.
    pub async fn record_files(
        &self,
        job_id: &str,
        files: Vec<KeptFile>,
        delivery: Option<NewDelivery>,
        now_ms: i64,
    ) -> Result<bool, DbError> {
        dispatch!(self.record_files(job_id, files, delivery, now_ms))
    }

    /// A download attempt failed. With `give_up`, the files will not be kept: `download_state =
    /// failed`, the reason, and the webhook saying so (`delivery`), in one transaction; otherwise
    /// the attempt is counted, the files stay pending and `delivery` is ignored. Returns the failed
    /// attempts so far, or `None` when no files are pending for the job.
    pub async fn record_download_failure(
        &self,
        job_id: &str,
        error: &str,
        give_up: bool,
        delivery: Option<NewDelivery>,
        now_ms: i64,
    ) -> Result<Option<u32>, DbError> {
        dispatch!(self.record_download_failure(job_id, error, give_up, delivery, now_ms))
    }

    /// A callback named the job: check it now (`next_check_at = now`), wherever it is watched.
    /// Returns false when no watch of the job is watching (unknown, or final already).
    pub async fn wake(&self, job_id: &str, now_ms: i64) -> Result<bool, DbError> {
        dispatch!(self.wake(job_id, now_ms))
    }

    /// Up to `limit` events after `after` that pass `filter`, in id order.
    pub async fn events_page(&self, after: i64, filter: EventFilter, limit: u32) -> Result<EventPage, DbError> {
        dispatch!(self.events_page(after, filter, limit))
    }

    /// Where the log stands (what was pruned, the newest id).
    pub async fn event_bounds(&self) -> Result<EventBounds, DbError> {
        dispatch!(self.event_bounds())
    }

    /// Deletes events older than `before_ms`, and beyond the newest `keep` ones; returns how many.
    /// The newest pruned id is kept, so a stream resuming from before it is told of the gap.
    pub async fn prune_events(&self, before_ms: i64, keep: u64) -> Result<u64, DbError> {
        dispatch!(self.prune_events(before_ms, keep))
    }

    /// The dashboard's overview: counts, labels, failure reasons, next checks (aggregated by the
    /// database, bounded whatever the number of watches).
    pub async fn overview(&self) -> Result<dashboard::Overview, DbError> {
        dispatch!(self.overview())
    }

    /// A job's history of changes (its events, oldest first, bounded).
    pub async fn job_history(&self, job_id: &str) -> Result<Vec<dashboard::HistoryRow>, DbError> {
        dispatch!(self.job_history(job_id))
    }

    /// The webhook deliveries of a job's watch and their answers, oldest first (bounded).
    pub async fn job_deliveries(&self, job_id: &str) -> Result<Vec<dashboard::DeliveryRow>, DbError> {
        dispatch!(self.job_deliveries(job_id))
    }

    /// Deliveries due at `now_ms`, oldest first. On a shared store each is taken for a while
    /// (`claim`), so two replicas do not send the same attempt at once.
    pub async fn due_deliveries(&self, now_ms: i64, limit: u32, claim: Duration) -> Result<Vec<DueDelivery>, DbError> {
        dispatch!(self.due_deliveries(now_ms, limit, claim))
    }

    /// When the next pending attempt is due (Unix ms), if any is pending.
    pub async fn next_delivery_at(&self) -> Result<Option<i64>, DbError> {
        dispatch!(self.next_delivery_at())
    }

    /// The receiver accepted the delivery.
    pub async fn delivery_succeeded(&self, id: &str, now_ms: i64) -> Result<(), DbError> {
        dispatch!(self.delivery_succeeded(id, now_ms))
    }

    /// An attempt failed: try again at `retry_at`, or give up when there is none.
    pub async fn delivery_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
        now_ms: i64,
    ) -> Result<(), DbError> {
        dispatch!(self.delivery_failed(id, error, retry_at, now_ms))
    }

    /// What the store holds of learned job durations: empty when nothing was saved yet, an error
    /// ([`DbError::Corrupt`]) when what is saved cannot be used (the next merge replaces it).
    pub async fn learned(&self) -> Result<DurationEstimates, DbError> {
        dispatch!(self.learned())
    }

    /// Merges `ours` into the learned job durations the store holds and returns the result, in one
    /// transaction (PostgreSQL: with the row locked, so replicas merging at once lose nothing).
    /// Samples belong to job ids: merging again what was taken back counts no job twice. What the
    /// store holds but cannot use is replaced.
    pub async fn merge_learned(&self, ours: DurationEstimates, now_ms: i64) -> Result<DurationEstimates, DbError> {
        dispatch!(self.merge_learned(ours, now_ms))
    }

    /// Shared store only: this replica's heartbeat, the leases of the watches it holds renewed until
    /// `now + lease`, and those it still holds (a watch deleted, finished or taken over is not).
    pub async fn renew(&self, replica: &str, now_ms: i64, lease: Duration) -> Result<Vec<Held>, DbError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Vec::new()),
            Backend::Postgres(pg) => pg.renew(replica, now_ms, lease).await,
        }
    }

    /// Shared store only: how many watches this replica should hold, an even share of the
    /// unfinished ones among the replicas alive within `lease`.
    pub async fn fair_share(&self, now_ms: i64, lease: Duration) -> Result<usize, DbError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(usize::MAX),
            Backend::Postgres(pg) => pg.fair_share(now_ms, lease).await,
        }
    }

    /// Shared store only: takes up to `limit` unfinished watches (watching, or files pending) no
    /// live replica holds (never held, or their lease ran out), or only `only`; they are this
    /// replica's until `now + lease`.
    pub async fn claim(
        &self,
        replica: &str,
        now_ms: i64,
        lease: Duration,
        limit: usize,
        only: Option<&str>,
    ) -> Result<Vec<WatchRow>, DbError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Vec::new()),
            Backend::Postgres(pg) => pg.claim(replica, now_ms, lease, limit, only).await,
        }
    }

    /// Shared store only: gives up the lease of these watches (`None`: of all it holds), so
    /// another replica takes them.
    pub async fn release(&self, replica: &str, job_ids: Option<Vec<String>>) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(pg) => pg.release(replica, job_ids).await,
        }
    }

    /// Shared store only: the request pace of the whole fleet, per provider lane.
    pub fn shared_pace(&self) -> Option<Arc<dyn genjob::SharedPace>> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(pg) => Some(Arc::new(pg.clone())),
        }
    }
}

/// What `/metrics` reads from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    /// Watches in each state (every state, zeros included).
    pub watches: Vec<(WatchState, u64)>,
    /// The outbox (deliveries of deleted watches go with them: these are gauges, not counters).
    pub deliveries: DeliveryStats,
    /// Events ever written (the newest event id; pruning does not lower it).
    pub events_written: u64,
}

/// The webhook outbox by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Deliveries a receiver accepted.
    pub delivered: u64,
    /// Attempts that failed, over every delivery.
    pub failed_attempts: u64,
    /// Deliveries given up after the last retry.
    pub given_up: u64,
    /// Deliveries with an attempt still to come.
    pub pending: u64,
}
