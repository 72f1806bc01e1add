//! Watch rows: insert (unique on the job id), read, list by state and label, and the worker's writes.

use super::DbError;
use super::deliveries::{NewDelivery, insert_delivery};
use super::events::{EventType, insert_event};
use super::sqlite::Sqlite;
use genjob::{Job, Provider};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a watch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchState {
    /// Being watched: no final record yet.
    Watching,
    /// The job's record said completed.
    Completed,
    /// The job's record said failed (or the Dreamina 1-hour rule failed it).
    Failed,
    /// Watching ended without a final record: the provider refused (404, 410, 401 …) or has no source.
    Error,
}

impl WatchState {
    /// Every state, for parsing and messages.
    pub const ALL: [WatchState; 4] = [Self::Watching, Self::Completed, Self::Failed, Self::Error];

    /// The word in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watching => "watching",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Error => "error",
        }
    }

    /// Reads a state's word.
    pub fn parse(word: &str) -> Option<WatchState> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

/// Where the kept files of a `download: true` watch stand (none before its final state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DownloadState {
    /// The job completed; its files are still to be kept (and its webhook waits for them).
    Pending,
    /// Every output is on disk, complete; their paths are in the outputs.
    Kept,
    /// Keeping them failed for good (see `download_error`), or the watch ended without outputs.
    Failed,
}

impl DownloadState {
    /// The word in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Kept => "kept",
            Self::Failed => "failed",
        }
    }

    fn parse(word: &str) -> Option<DownloadState> {
        [Self::Pending, Self::Kept, Self::Failed].into_iter().find(|s| s.as_str() == word)
    }
}

/// A file the server kept for output `position` of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptFile {
    /// Which output (0-based, as the file name's index says).
    pub position: usize,
    /// `video`, `image` … (used when the job's record listed no such output).
    pub kind: String,
    /// Where it is.
    pub path: String,
}

/// A watch to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWatch {
    /// The job id, as the provider gave it.
    pub job_id: String,
    /// The provider that runs it.
    pub provider: Provider,
    /// Where to POST the final state.
    pub webhook_url: Option<String>,
    /// Whether the server keeps the outputs' files once the job completes.
    pub download: bool,
    /// Free labels for listing.
    pub labels: BTreeMap<String, String>,
}

/// One output of a finished job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputRow {
    /// `video`, `image` …
    pub kind: String,
    /// The provider's link (it may expire); `None` for a file only the provider's API serves.
    pub url: Option<String>,
    /// Where the server kept the file, when it did.
    pub path: Option<String>,
}

/// A watch as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchRow {
    /// The sortable row id (the list's cursor).
    pub id: i64,
    /// What was asked for.
    pub new: NewWatch,
    /// Where it stands.
    pub state: WatchState,
    /// The status the last record showed.
    pub job_status: Option<String>,
    /// The last progress reported.
    pub progress: Option<u8>,
    /// Record reads made for it (since the server last started watching it).
    pub polls: u32,
    /// The last normalized job, once final.
    pub job: Option<serde_json::Value>,
    /// Why watching ended without a final record, or the last trouble.
    pub error: Option<String>,
    /// When the next check is planned (Unix ms).
    pub next_check_at: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// The finished job's outputs.
    pub outputs: Vec<OutputRow>,
    /// Where its kept files stand (`download: true` watches, once final).
    pub download_state: Option<DownloadState>,
    /// Download attempts that failed so far.
    pub download_attempts: u32,
    /// Why the last download attempt failed (or, once failed, why the files were not kept).
    pub download_error: Option<String>,
}

impl WatchRow {
    /// True while the server owes work for it: watching, or keeping its files.
    pub fn is_unfinished(&self) -> bool {
        self.state == WatchState::Watching || self.download_state == Some(DownloadState::Pending)
    }
}

/// Whether an insert made a new watch or found the job already watched.
#[derive(Debug)]
pub enum Inserted {
    /// A new watch.
    Created(WatchRow),
    /// The job was already watched: its row, unchanged.
    Existing(WatchRow),
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct WatchFilter {
    /// Only watches in this state.
    pub state: Option<WatchState>,
    /// Only watches with this label (key, value).
    pub label: Option<(String, String)>,
    /// Only watches after this row id.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

const COLUMNS: &str = "id, job_id, provider, webhook_url, download, state, job_status, progress, polls, job, error, \
                       next_check_at, created_at, updated_at, download_state, download_attempts, download_error";

/// A stored provider name, read back (both backends).
pub(super) fn parse_provider(text: &str) -> Result<Provider, DbError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| DbError::Corrupt(format!("provider `{text}`")))
}

/// A stored state, read back (both backends).
pub(super) fn parse_state(text: &str) -> Result<WatchState, DbError> {
    WatchState::parse(text).ok_or_else(|| DbError::Corrupt(format!("state `{text}`")))
}

/// A stored download state, read back (both backends).
pub(super) fn parse_download_state(text: &str) -> Result<DownloadState, DbError> {
    DownloadState::parse(text).ok_or_else(|| DbError::Corrupt(format!("download state `{text}`")))
}

/// A stored normalized job, read back (both backends).
pub(super) fn parse_job(text: &str) -> Result<serde_json::Value, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(format!("job JSON: {e}")))
}

/// The word an output's kind is stored as (both backends).
pub(super) fn output_kind(output: &genjob::Output) -> String {
    serde_json::to_value(output.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

type RawRow = (WatchRow, String, String, Option<String>, Option<String>);

fn read_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    let download: i64 = row.get(4)?;
    let progress: Option<i64> = row.get(7)?;
    let polls: i64 = row.get(8)?;
    let watch = WatchRow {
        id: row.get(0)?,
        new: NewWatch {
            job_id: row.get(1)?,
            provider: Provider::Dreamina, // replaced below, once the text is parsed
            webhook_url: row.get(3)?,
            download: download != 0,
            labels: BTreeMap::new(),
        },
        state: WatchState::Watching,
        job_status: row.get(6)?,
        progress: progress.and_then(|p| u8::try_from(p).ok()),
        polls: u32::try_from(polls).unwrap_or(u32::MAX),
        job: None,
        error: row.get(10)?,
        next_check_at: row.get(11)?,
        created_at: row.get(12)?,
        updated_at: row.get(13)?,
        outputs: Vec::new(),
        download_state: None,
        download_attempts: u32::try_from(row.get::<_, i64>(15)?).unwrap_or(u32::MAX),
        download_error: row.get(16)?,
    };
    Ok((watch, row.get(2)?, row.get(5)?, row.get(9)?, row.get(14)?))
}

fn complete(conn: &Connection, raw: RawRow) -> Result<WatchRow, DbError> {
    let (mut watch, provider, state, job, download_state) = raw;
    watch.download_state = download_state.as_deref().map(parse_download_state).transpose()?;
    watch.new.provider = parse_provider(&provider)?;
    watch.state = parse_state(&state)?;
    watch.job = job.as_deref().map(parse_job).transpose()?;
    let mut labels = conn.prepare_cached("SELECT key, value FROM watch_labels WHERE watch_id = ?1 ORDER BY key")?;
    watch.new.labels =
        labels.query_map([watch.id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut outputs =
        conn.prepare_cached("SELECT kind, url, path FROM outputs WHERE watch_id = ?1 ORDER BY position")?;
    watch.outputs = outputs
        .query_map([watch.id], |r| {
            // A file only the API serves has no link of its own: stored as '' (the column is NOT NULL).
            let url: String = r.get(1)?;
            Ok(OutputRow { kind: r.get(0)?, url: Some(url).filter(|u| !u.is_empty()), path: r.get(2)? })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(watch)
}

fn by_job_id(conn: &Connection, job_id: &str) -> Result<Option<WatchRow>, DbError> {
    let raw =
        conn.query_row(&format!("SELECT {COLUMNS} FROM watches WHERE job_id = ?1"), [job_id], read_row).optional()?;
    raw.map(|raw| complete(conn, raw)).transpose()
}

// The SQLite side of the `Store` methods of the same names (documented there).
impl Sqlite {
    pub async fn insert_watch(&self, new: NewWatch, now_ms: i64) -> Result<(Inserted, Option<i64>), DbError> {
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let inserted = tx.execute(
                "INSERT INTO watches (job_id, provider, webhook_url, download, next_check_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5) ON CONFLICT (job_id) DO NOTHING",
                params![new.job_id, new.provider.as_str(), new.webhook_url, new.download, now_ms],
            )?;
            if inserted == 1 {
                let id = tx.last_insert_rowid();
                for (key, value) in &new.labels {
                    tx.execute(
                        "INSERT INTO watch_labels (watch_id, key, value) VALUES (?1, ?2, ?3)",
                        (id, key, value),
                    )?;
                }
            }
            let row = by_job_id(&tx, &new.job_id)?.ok_or(DbError::Corrupt("an inserted watch is missing".into()))?;
            let event = if inserted == 1 { Some(insert_event(&tx, &row, EventType::Created, now_ms)?) } else { None };
            tx.commit()?;
            Ok((if inserted == 1 { Inserted::Created(row) } else { Inserted::Existing(row) }, event))
        })
        .await
    }

    pub async fn watch(&self, job_id: &str) -> Result<Option<WatchRow>, DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| by_job_id(conn, &job_id)).await
    }

    pub async fn list_watches(&self, filter: WatchFilter) -> Result<Vec<WatchRow>, DbError> {
        self.call(move |conn| {
            let (key, value) = filter.label.clone().unzip();
            let sql = format!(
                "SELECT {COLUMNS} FROM watches w WHERE id > ?1 AND (?2 IS NULL OR state = ?2)
                 AND (?3 IS NULL OR EXISTS (SELECT 1 FROM watch_labels l WHERE l.watch_id = w.id AND l.key = ?3 AND l.value = ?4))
                 ORDER BY id LIMIT ?5"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let raws = stmt
                .query_map(
                    params![filter.after.unwrap_or(0), filter.state.map(WatchState::as_str), key, value, filter.limit],
                    read_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            raws.into_iter().map(|raw| complete(conn, raw)).collect()
        })
        .await
    }

    pub async fn delete_watch(&self, job_id: &str, now_ms: i64) -> Result<(bool, Option<i64>), DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            // Read first: the event tells the watch's labels and state, gone once the row is.
            let Some(row) = by_job_id(&tx, &job_id)? else { return Ok((false, None)) };
            let event = insert_event(&tx, &row, EventType::Deleted, now_ms)?;
            tx.execute("DELETE FROM watches WHERE id = ?1", [row.id])?;
            tx.commit()?;
            Ok((true, Some(event)))
        })
        .await
    }

    pub async fn record_progress(
        &self,
        job_id: &str,
        job_status: &str,
        progress: Option<u8>,
        polls: u32,
        next_check_at: i64,
        now_ms: i64,
    ) -> Result<((), Option<i64>), DbError> {
        let (job_id, job_status) = (job_id.to_owned(), job_status.to_owned());
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let before: Option<(Option<String>, Option<i64>)> = tx
                .query_row(
                    "SELECT job_status, progress FROM watches WHERE job_id = ?1 AND state = 'watching'",
                    [&job_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((old_status, old_progress)) = before else { return Ok(((), None)) };
            tx.execute(
                "UPDATE watches SET job_status = ?2, progress = ?3, polls = ?4, next_check_at = ?5, error = NULL,
                 updated_at = ?6 WHERE job_id = ?1 AND state = 'watching'",
                params![job_id, job_status, progress, polls, next_check_at, now_ms],
            )?;
            // Every read lands here; only a change is news to a stream.
            let changed = old_status.as_deref() != Some(job_status.as_str()) || old_progress != progress.map(i64::from);
            let event = if changed {
                let row = by_job_id(&tx, &job_id)?.ok_or(DbError::Corrupt("an updated watch is missing".into()))?;
                Some(insert_event(&tx, &row, EventType::Progress, now_ms)?)
            } else {
                None
            };
            tx.commit()?;
            Ok(((), event))
        })
        .await
    }

    pub async fn record_retry(
        &self,
        job_id: &str,
        error: &str,
        next_check_at: i64,
        now_ms: i64,
    ) -> Result<(), DbError> {
        let (job_id, error) = (job_id.to_owned(), error.to_owned());
        self.call(move |conn| {
            conn.execute(
                "UPDATE watches SET error = ?2, next_check_at = ?3, updated_at = ?4 WHERE job_id = ?1 AND state = 'watching'",
                params![job_id, error, next_check_at, now_ms],
            )?;
            Ok(())
        })
        .await
    }

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
    ) -> Result<(bool, Option<i64>), DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let Some(id) = tx
                .query_row("SELECT id FROM watches WHERE job_id = ?1 AND state = 'watching'", [&job_id], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?
            else {
                return Ok((false, None));
            };
            let job_json =
                job.as_ref().map(serde_json::to_string).transpose().map_err(|e| DbError::Corrupt(e.to_string()))?;
            tx.execute(
                "UPDATE watches SET state = ?2, job = ?3, job_status = COALESCE(?4, job_status), error = ?5,
                 next_check_at = NULL, updated_at = ?6, download_state = ?7 WHERE id = ?1",
                params![
                    id,
                    state.as_str(),
                    job_json,
                    job.as_ref().map(|j| j.status.as_str()),
                    error,
                    now_ms,
                    download.map(DownloadState::as_str)
                ],
            )?;
            for (position, output) in job.iter().flat_map(|j| j.outputs.iter()).enumerate() {
                tx.execute(
                    "INSERT OR REPLACE INTO outputs (watch_id, position, kind, url) VALUES (?1, ?2, ?3, ?4)",
                    params![id, position as i64, output_kind(output), output.url],
                )?;
            }
            if let Some(delivery) = delivery {
                insert_delivery(&tx, id, &delivery, now_ms)?;
            }
            let row = by_job_id(&tx, &job_id)?.ok_or(DbError::Corrupt("a finished watch is missing".into()))?;
            let event = insert_event(&tx, &row, EventType::of_state(state), now_ms)?;
            tx.commit()?;
            Ok((true, Some(event)))
        })
        .await
    }

    pub async fn files_pending(&self) -> Result<Vec<WatchRow>, DbError> {
        self.call(|conn| {
            let sql = format!("SELECT {COLUMNS} FROM watches WHERE download_state = 'pending' ORDER BY id");
            let mut stmt = conn.prepare_cached(&sql)?;
            let raws = stmt.query_map([], read_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            raws.into_iter().map(|raw| complete(conn, raw)).collect()
        })
        .await
    }

    pub async fn record_files(
        &self,
        job_id: &str,
        files: Vec<KeptFile>,
        delivery: Option<NewDelivery>,
        now_ms: i64,
    ) -> Result<bool, DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let Some(id) = pending_id(&tx, &job_id)? else { return Ok(false) };
            for file in &files {
                // An output the record did not list (a file only the API serves) gets its row now.
                tx.execute(
                    "INSERT INTO outputs (watch_id, position, kind, url, path) VALUES (?1, ?2, ?3, '', ?4)
                     ON CONFLICT (watch_id, position) DO UPDATE SET path = excluded.path",
                    params![id, i64::try_from(file.position).unwrap_or(i64::MAX), file.kind, file.path],
                )?;
            }
            tx.execute(
                "UPDATE watches SET download_state = 'kept', download_error = NULL, updated_at = ?2 WHERE id = ?1",
                params![id, now_ms],
            )?;
            if let Some(delivery) = delivery {
                insert_delivery(&tx, id, &delivery, now_ms)?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    pub async fn record_download_failure(
        &self,
        job_id: &str,
        error: &str,
        give_up: bool,
        delivery: Option<NewDelivery>,
        now_ms: i64,
    ) -> Result<Option<u32>, DbError> {
        let (job_id, error) = (job_id.to_owned(), error.to_owned());
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let Some(id) = pending_id(&tx, &job_id)? else { return Ok(None) };
            let state = if give_up { DownloadState::Failed } else { DownloadState::Pending };
            let attempts: i64 = tx.query_row(
                "UPDATE watches SET download_state = ?2, download_attempts = download_attempts + 1,
                 download_error = ?3, updated_at = ?4 WHERE id = ?1 RETURNING download_attempts",
                params![id, state.as_str(), error, now_ms],
                |r| r.get(0),
            )?;
            if let Some(delivery) = delivery.filter(|_| give_up) {
                insert_delivery(&tx, id, &delivery, now_ms)?;
            }
            tx.commit()?;
            Ok(Some(u32::try_from(attempts).unwrap_or(u32::MAX)))
        })
        .await
    }

    pub async fn wake(&self, job_id: &str, now_ms: i64) -> Result<bool, DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| {
            let woken = conn.execute(
                "UPDATE watches SET next_check_at = MIN(COALESCE(next_check_at, ?2), ?2)
                 WHERE job_id = ?1 AND state = 'watching'",
                params![job_id, now_ms],
            )?;
            Ok(woken == 1)
        })
        .await
    }
}

fn pending_id(conn: &Connection, job_id: &str) -> Result<Option<i64>, DbError> {
    Ok(conn
        .query_row("SELECT id FROM watches WHERE job_id = ?1 AND download_state = 'pending'", [job_id], |r| r.get(0))
        .optional()?)
}
