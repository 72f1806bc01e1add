//! The event log behind `GET /v1/events`: rows written in the transaction of the change they
//! report (see the watch writes), read in pages after a cursor, pruned by age and count.

use super::DbError;
use super::sqlite::Sqlite;
use super::watches::{WatchRow, WatchState};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::{Value, json};

/// The setting that remembers the newest pruned event id: a resume from before it has a gap.
pub(super) const PRUNED_THROUGH: &str = "events_pruned_through";

/// At most this many event ids are examined by one page read, so a filter that matches rarely
/// never holds the connection for a scan of the whole log.
pub(super) const SCAN_WINDOW: i64 = 10_000;

/// What an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A watch was added.
    Created,
    /// The job's status or progress changed (not sent for reads that changed nothing).
    Progress,
    /// The job completed.
    Completed,
    /// The job failed.
    Failed,
    /// Watching ended without a final record.
    Error,
    /// The watch was deleted.
    Deleted,
}

impl EventType {
    /// Every type, for documents and messages.
    pub const ALL: [EventType; 6] =
        [Self::Created, Self::Progress, Self::Completed, Self::Failed, Self::Error, Self::Deleted];

    /// The SSE `event:` name: `watch.created` …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "watch.created",
            Self::Progress => "watch.progress",
            Self::Completed => "watch.completed",
            Self::Failed => "watch.failed",
            Self::Error => "watch.error",
            Self::Deleted => "watch.deleted",
        }
    }

    /// The event of a watch reaching `state` (a final one; `watching` is progress).
    pub fn of_state(state: WatchState) -> EventType {
        match state {
            WatchState::Watching => Self::Progress,
            WatchState::Completed => Self::Completed,
            WatchState::Failed => Self::Failed,
            WatchState::Error => Self::Error,
        }
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// Increasing, never reused: the SSE `id:` and the resume cursor.
    pub id: i64,
    /// The job whose watch changed.
    pub job_id: String,
    /// `watch.created` …, as stored.
    pub event_type: String,
    /// `{job_id, provider, state, job_status, progress, labels, job?, error?}`.
    pub payload: Value,
    /// Unix ms.
    pub created_at: i64,
}

/// Which events a stream wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this job's.
    pub job_id: Option<String>,
    /// Only those of watches with this label (key, value).
    pub label: Option<(String, String)>,
}

/// One page of events, and how far the log was examined for it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// The matching events, in id order.
    pub events: Vec<EventRow>,
    /// Every event up to this id was examined: the next page reads after it (with a filter, it
    /// can be past the last event returned).
    pub scanned_through: i64,
    /// The newest event id when the page was read.
    pub latest: i64,
    /// Every event up to this id was pruned when the page was read.
    pub pruned_through: i64,
}

/// Where the log stands: what a resume can and cannot get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBounds {
    /// Every event up to this id was pruned (0: none ever was).
    pub pruned_through: i64,
    /// The newest id ever written (0: none yet); it only grows.
    pub latest: i64,
}

/// What `watch` says about itself in an event: small, and the job only once it is final.
pub(super) fn payload(watch: &WatchRow, event: EventType) -> Value {
    let mut payload = json!({
        "job_id": watch.new.job_id,
        "provider": watch.new.provider.as_str(),
        "state": watch.state.as_str(),
        "job_status": watch.job_status,
        "progress": watch.progress,
        "labels": watch.new.labels,
    });
    if let Some(object) = payload.as_object_mut() {
        if matches!(event, EventType::Completed | EventType::Failed | EventType::Error) {
            object.insert("job".into(), watch.job.clone().unwrap_or(Value::Null));
        }
        if let Some(error) = &watch.error {
            object.insert("error".into(), Value::String(error.clone()));
        }
    }
    payload
}

/// Appends an event in the caller's transaction; returns its id.
///
/// SQLite has one writer, so ids become visible in increasing order and a reader reading after its
/// cursor skips none. A backend with concurrent writers must keep that true (say, a lock held from
/// this insert to the commit), or a reader could pass an id whose transaction commits later.
pub(super) fn insert_event(
    tx: &Transaction<'_>,
    watch: &WatchRow,
    event: EventType,
    now_ms: i64,
) -> Result<i64, DbError> {
    tx.execute(
        "INSERT INTO events (job_id, type, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![watch.new.job_id, event.as_str(), payload(watch, event).to_string(), now_ms],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The newest event id ever written (AUTOINCREMENT keeps it in `sqlite_sequence`, pruned or not).
pub(super) fn latest_event_id(conn: &Connection) -> Result<i64, DbError> {
    let seq: Option<i64> =
        conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'events'", [], |r| r.get(0)).optional()?;
    Ok(seq.unwrap_or(0))
}

fn pruned_through(conn: &Connection) -> Result<i64, DbError> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM server_settings WHERE name = ?1", [PRUNED_THROUGH], |r| r.get(0))
        .optional()?;
    value.map_or(Ok(0), |v| v.parse().map_err(|_| DbError::Corrupt(format!("{PRUNED_THROUGH} `{v}`"))))
}

// The SQLite side of the `Store` methods of the same names (documented there).
impl Sqlite {
    pub async fn latest_event(&self) -> Result<i64, DbError> {
        self.call(|conn| latest_event_id(conn)).await
    }

    pub async fn events_page(&self, after: i64, filter: EventFilter, limit: u32) -> Result<EventPage, DbError> {
        self.call(move |conn| {
            let latest = latest_event_id(conn)?;
            let until = after.saturating_add(SCAN_WINDOW).min(latest);
            let (key, value) = filter.label.unzip();
            let mut stmt = conn.prepare_cached(
                "SELECT id, job_id, type, payload, created_at FROM events e
                 WHERE id > ?1 AND id <= ?2 AND (?3 IS NULL OR job_id = ?3)
                 AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(e.payload, '$.labels') l
                                            WHERE l.key = ?4 AND l.value = ?5))
                 ORDER BY id LIMIT ?6",
            )?;
            let rows = stmt
                .query_map(params![after, until, filter.job_id, key, value, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<(i64, String, String, String, i64)>>>()?;
            let full = rows.len() >= usize::try_from(limit).unwrap_or(usize::MAX);
            let events = rows
                .into_iter()
                .map(|(id, job_id, event_type, payload, created_at)| {
                    let payload = serde_json::from_str(&payload)
                        .map_err(|e| DbError::Corrupt(format!("the payload of event {id}: {e}")))?;
                    Ok(EventRow { id, job_id, event_type, payload, created_at })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            // A full page may stop short of `until`: the next one starts after its last event.
            let scanned_through = match events.last() {
                Some(last) if full => last.id,
                _ => until.max(after),
            };
            Ok(EventPage { events, scanned_through, latest, pruned_through: pruned_through(conn)? })
        })
        .await
    }

    pub async fn event_bounds(&self) -> Result<EventBounds, DbError> {
        self.call(|conn| Ok(EventBounds { pruned_through: pruned_through(conn)?, latest: latest_event_id(conn)? }))
            .await
    }

    pub async fn prune_events(&self, before_ms: i64, keep: u64) -> Result<u64, DbError> {
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let latest = latest_event_id(&tx)?;
            let by_count = latest.saturating_sub(i64::try_from(keep).unwrap_or(i64::MAX));
            let by_age: Option<i64> =
                tx.query_row("SELECT MAX(id) FROM events WHERE created_at < ?1", [before_ms], |r| r.get(0))?;
            let through = by_count.max(by_age.unwrap_or(0));
            let deleted = tx.execute("DELETE FROM events WHERE id <= ?1", [through])?;
            if through > pruned_through(&tx)? {
                tx.execute(
                    "INSERT INTO server_settings (name, value) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    params![PRUNED_THROUGH, through.to_string()],
                )?;
            }
            tx.commit()?;
            Ok(u64::try_from(deleted).unwrap_or(0))
        })
        .await
    }
}
