//! The SQLite store: one connection used from blocking threads, migrations applied at open, and a
//! lock file beside the database: SQLite's lease rule is one process per file.

use super::{DbError, DeliveryStats, StoreStats, WatchState};
use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long opening waits for the lock before saying the database is in use.
///
/// A server stopped in this process lets the lock go when its last task has dropped the store,
/// which can come a moment after `shutdown` returns (a connection's task still ending). A restart
/// in place must not read that as a second server (seen once in CI, on a loaded machine); a second
/// server holds the lock for good, and is still refused.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// The versioned migrations, in order; a released one is never edited, only followed by a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_watches.sql"),
    include_str!("../../migrations/0002_kept_outputs.sql"),
    include_str!("../../migrations/0003_events.sql"),
    include_str!("../../migrations/0004_learned.sql"),
];

/// The SQLite store: cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    // Held (locked) for as long as any clone lives: SQLite's lease rule is one process per file.
    _lock: Arc<File>,
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path`, takes its lock and applies the migrations.
    pub async fn open(path: &Path) -> Result<Sqlite, DbError> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path)).await.map_err(|_| DbError::TaskLost)?
    }

    fn open_blocking(path: &Path) -> Result<Sqlite, DbError> {
        let mut lock_name = path.as_os_str().to_owned();
        lock_name.push(".lock");
        let lock_path = PathBuf::from(lock_name);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| DbError::Lock { path: lock_path.clone(), source })?;
        match genjob::lock_within(&lock, LOCK_PATIENCE) {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(DbError::InUse { path: path.to_owned(), lock: lock_path });
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(DbError::Lock { path: lock_path, source }),
        }
        let mut conn = Connection::open(path).map_err(|source| DbError::Open { path: path.to_owned(), source })?;
        // WAL: readers never wait for the writer; NORMAL sync is durable across a process crash.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")?;
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        migrations.to_latest(&mut conn)?;
        Ok(Sqlite { conn: Arc::new(Mutex::new(conn)), _lock: Arc::new(lock) })
    }

    /// Checks that the database answers (`/healthz`).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.call(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    /// Counts for `/metrics`: watches by state, deliveries by outcome, events written.
    pub async fn stats(&self) -> Result<StoreStats, DbError> {
        self.call(|conn| {
            let mut watches: Vec<(WatchState, u64)> = WatchState::ALL.iter().map(|s| (*s, 0)).collect();
            let mut stmt = conn.prepare_cached("SELECT state, COUNT(*) FROM watches GROUP BY state")?;
            let counts = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for count in counts {
                let (state, n) = count?;
                let state = WatchState::parse(&state).ok_or_else(|| DbError::Corrupt(format!("state `{state}`")))?;
                if let Some(slot) = watches.iter_mut().find(|(s, _)| *s == state) {
                    slot.1 = u64::try_from(n).unwrap_or(0);
                }
            }
            let deliveries = conn.query_row(
                "SELECT COUNT(delivered_at), COALESCE(SUM(attempts - (delivered_at IS NOT NULL)), 0),
                        COUNT(given_up_at), COUNT(next_attempt_at) FROM deliveries",
                [],
                |r| {
                    let n = |i| r.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
                    Ok(DeliveryStats { delivered: n(0)?, failed_attempts: n(1)?, given_up: n(2)?, pending: n(3)? })
                },
            )?;
            let events_written = u64::try_from(super::events::latest_event_id(conn)?).unwrap_or(0);
            Ok(StoreStats { watches, deliveries, events_written })
        })
        .await
    }

    /// Runs `f` on the connection in a blocking thread. Private to `db`: every query is a `Store`
    /// method, which each backend implements.
    pub(super) async fn call<R, F>(&self, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-done transaction behind (it rolls
            // back on drop), so a poisoned lock is safe to use.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|_| DbError::TaskLost)?
    }

    /// The value of a server setting, storing `default()` first if there is none.
    pub async fn setting_or_insert(
        &self,
        name: &'static str,
        default: impl FnOnce() -> String + Send + 'static,
    ) -> Result<String, DbError> {
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let found: Option<String> =
                tx.query_row("SELECT value FROM server_settings WHERE name = ?1", [name], |r| r.get(0)).optional()?;
            let value = match found {
                Some(value) => value,
                None => {
                    let value = default();
                    tx.execute("INSERT INTO server_settings (name, value) VALUES (?1, ?2)", (name, &value))?;
                    value
                }
            };
            tx.commit()?;
            Ok(value)
        })
        .await
    }
}
