//! The store: SQLite through rusqlite, one connection used from blocking threads, migrations
//! applied at open. The store is the truth of what is watched; the worker only acts on its rows.

mod deliveries;
mod watches;

pub use deliveries::{DueDelivery, NewDelivery};
pub use watches::{DownloadState, Inserted, KeptFile, NewWatch, OutputRow, WatchFilter, WatchRow, WatchState};

use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The versioned migrations, in order; a released one is never edited, only followed by a new one.
const MIGRATIONS: &[&str] =
    &[include_str!("../../migrations/0001_watches.sql"), include_str!("../../migrations/0002_kept_outputs.sql")];

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
    /// The lock file beside the database could not be created.
    #[error("cannot create the lock file {path}: {source}")]
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
}

/// The store: cheap to clone, shared by the API, the worker and the webhook sender.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    // Held (locked) for as long as any clone lives: SQLite's lease rule is one process per file.
    _lock: Arc<File>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, takes its lock and applies the migrations.
    pub async fn open(path: &Path) -> Result<Store, DbError> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path)).await.map_err(|_| DbError::TaskLost)?
    }

    fn open_blocking(path: &Path) -> Result<Store, DbError> {
        let mut lock_name = path.as_os_str().to_owned();
        lock_name.push(".lock");
        let lock_path = PathBuf::from(lock_name);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| DbError::Lock { path: lock_path.clone(), source })?;
        if lock.try_lock().is_err() {
            return Err(DbError::InUse { path: path.to_owned(), lock: lock_path });
        }
        let mut conn = Connection::open(path).map_err(|source| DbError::Open { path: path.to_owned(), source })?;
        // WAL: readers never wait for the writer; NORMAL sync is durable across a process crash.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")?;
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        migrations.to_latest(&mut conn)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)), _lock: Arc::new(lock) })
    }

    /// Runs `f` on the connection in a blocking thread.
    pub(crate) async fn call<R, F>(&self, f: F) -> Result<R, DbError>
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

    /// Answers when the database does (the health check).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.call(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)).await
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
