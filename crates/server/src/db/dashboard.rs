//! What the dashboard reads: aggregates computed by the database (counts, groups, the next checks)
//! and a job's history and deliveries, each bounded, so a page over 10,000 watches stays cheap.

use super::DbError;
use super::sqlite::Sqlite;
use rusqlite::{Connection, params};

/// Reasons of failure shown, the most frequent first.
pub const MAX_REASONS: u32 = 20;
/// Job ids shown per reason.
pub const IDS_PER_REASON: u32 = 10;
/// Labels (key, value) shown.
pub const MAX_LABELS: u32 = 100;
/// Upcoming checks shown.
pub const MAX_NEXT_CHECKS: u32 = 10;
/// Events shown on a job's page (the oldest first).
pub const MAX_JOB_EVENTS: u32 = 200;
/// Deliveries shown on a job's page.
pub const MAX_JOB_DELIVERIES: u32 = 50;

/// Watches by where they stand, as the overview counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Watching, the last record not yet running (queued, created, unknown, or not read yet).
    pub queued: u64,
    /// Watching, the last record said running.
    pub running: u64,
    /// Completed.
    pub completed: u64,
    /// Failed (the job's record said so).
    pub failed: u64,
    /// Watching ended without a final record: expired, refused, no source.
    pub error: u64,
}

impl StateCounts {
    /// Every watch counted.
    pub fn total(&self) -> u64 {
        self.queued + self.running + self.completed + self.failed + self.error
    }

    /// Adds `n` watches in `state` whose last record showed `job_status`.
    pub(super) fn add(&mut self, state: &str, job_status: Option<&str>, n: u64) {
        let slot = match (state, job_status) {
            ("watching", Some("running")) => &mut self.running,
            ("watching", _) => &mut self.queued,
            ("completed", _) => &mut self.completed,
            ("failed", _) => &mut self.failed,
            _ => &mut self.error,
        };
        *slot += n;
    }
}

/// The watches of one label (key, value), by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelProgress {
    /// The label's key.
    pub key: String,
    /// The label's value.
    pub value: String,
    /// Its watches by state.
    pub counts: StateCounts,
}

/// One reason of failure and some of the jobs that failed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureGroup {
    /// `failed` or `error`.
    pub state: String,
    /// The provider's code (`2043`, `408` …), when the record gave one.
    pub code: Option<String>,
    /// The provider's message, or why watching ended.
    pub message: String,
    /// The provider's detail (`OutputVideoRisk` …).
    pub detail: Option<String>,
    /// Watches that failed for it.
    pub count: u64,
    /// Up to [`IDS_PER_REASON`] of their job ids, newest first.
    pub job_ids: Vec<String>,
}

/// The running watches of one provider and when the first of them is checked next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderChecks {
    /// The provider.
    pub provider: String,
    /// Watches still watching.
    pub watching: u64,
    /// The soonest planned check (Unix ms).
    pub next_check_at: Option<i64>,
}

/// A planned check of one watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextCheck {
    /// The job.
    pub job_id: String,
    /// Its provider.
    pub provider: String,
    /// The status its last record showed.
    pub job_status: Option<String>,
    /// When (Unix ms).
    pub next_check_at: Option<i64>,
}

/// Everything the overview shows from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overview {
    /// Every watch by state.
    pub counts: StateCounts,
    /// Up to [`MAX_LABELS`] labels, by key then value.
    pub labels: Vec<LabelProgress>,
    /// Whether there were more labels than shown.
    pub more_labels: bool,
    /// Up to [`MAX_REASONS`] reasons of failure, the most frequent first.
    pub failures: Vec<FailureGroup>,
    /// Watching watches per provider.
    pub providers: Vec<ProviderChecks>,
    /// The [`MAX_NEXT_CHECKS`] soonest planned checks.
    pub next_checks: Vec<NextCheck>,
}

/// One webhook delivery of a watch, as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// The `webhook-id`.
    pub id: String,
    /// Where it is sent.
    pub url: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last failed attempt's answer (status or error).
    pub last_error: Option<String>,
    /// When the receiver accepted it (Unix ms).
    pub delivered_at: Option<i64>,
    /// When it was given up (Unix ms).
    pub given_up_at: Option<i64>,
    /// When the next attempt is due (Unix ms).
    pub next_attempt_at: Option<i64>,
    /// When it was written (Unix ms).
    pub created_at: i64,
}

/// One change in a job's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// The event id.
    pub id: i64,
    /// `watch.created` …
    pub event_type: String,
    /// The state the watch was in after it.
    pub state: Option<String>,
    /// The job's status after it.
    pub job_status: Option<String>,
    /// Progress after it.
    pub progress: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
}

/// The SQL shared by both backends (standard enough for both: FILTER, window functions). The
/// failure reason is read from the stored job's error, else the watch's own error.
pub(super) mod sql {
    /// Watches by state and last status.
    pub const COUNTS: &str = "SELECT state, job_status, COUNT(*) FROM watches GROUP BY state, job_status";

    /// Labels with their watches by state; one row beyond the limit tells there are more.
    pub const LABELS: &str = "SELECT l.key, l.value,
            COUNT(*) FILTER (WHERE w.state = 'watching' AND w.job_status = 'running'),
            COUNT(*) FILTER (WHERE w.state = 'watching' AND (w.job_status IS NULL OR w.job_status <> 'running')),
            COUNT(*) FILTER (WHERE w.state = 'completed'),
            COUNT(*) FILTER (WHERE w.state = 'failed'),
            COUNT(*) FILTER (WHERE w.state NOT IN ('watching', 'completed', 'failed'))
         FROM watch_labels l JOIN watches w ON w.id = l.watch_id
         GROUP BY l.key, l.value ORDER BY l.key, l.value LIMIT $1";

    /// Providers with watches still watching, and their soonest check.
    pub const PROVIDERS: &str = "SELECT provider, COUNT(*), MIN(next_check_at) FROM watches
         WHERE state = 'watching' GROUP BY provider ORDER BY provider";

    /// The soonest planned checks.
    pub const NEXT_CHECKS: &str = "SELECT job_id, provider, job_status, next_check_at FROM watches
         WHERE state = 'watching' ORDER BY next_check_at, id LIMIT $1";

    /// A job's events, oldest first.
    pub const JOB_HISTORY: &str =
        "SELECT id, type, payload, created_at FROM events WHERE job_id = $1 ORDER BY id LIMIT $2";

    /// The webhook deliveries of a job's watch, oldest first.
    pub const JOB_DELIVERIES: &str =
        "SELECT d.id, d.url, d.attempts, d.last_error, d.delivered_at, d.given_up_at, d.next_attempt_at, d.created_at
         FROM deliveries d JOIN watches w ON w.id = d.watch_id WHERE w.job_id = $1
         ORDER BY d.created_at, d.id LIMIT $2";
}

/// The reason columns of a failed watch for a backend: code, message, detail from the job's
/// error (`json` reads a path of it), the watch's error otherwise.
fn reasons_sql(code: &str, message: &str, detail: &str) -> (String, String) {
    let reason = format!(
        "SELECT state, {code} AS code, COALESCE({message}, error, '') AS message, {detail} AS detail, id, job_id
         FROM watches WHERE state IN ('failed', 'error')"
    );
    let groups = format!(
        "SELECT state, code, message, detail, COUNT(*) AS n FROM ({reason}) r
         GROUP BY state, code, message, detail ORDER BY n DESC, message LIMIT $1"
    );
    let ids = format!(
        "SELECT state, code, message, detail, job_id FROM (
            SELECT r.*, ROW_NUMBER() OVER (PARTITION BY state, code, message, detail ORDER BY id DESC) AS rn
            FROM ({reason}) r) ranked
         WHERE rn <= $1 ORDER BY id DESC"
    );
    (groups, ids)
}

/// The failure SQL of SQLite (JSON text read with json_extract).
pub(super) fn sqlite_reasons() -> (String, String) {
    reasons_sql(
        "json_extract(job, '$.error.code')",
        "json_extract(job, '$.error.message')",
        "json_extract(job, '$.error.detail')",
    )
}

/// The failure SQL of PostgreSQL (the job column is JSON text).
pub(super) fn postgres_reasons() -> (String, String) {
    reasons_sql(
        "(job::jsonb -> 'error' ->> 'code')",
        "(job::jsonb -> 'error' ->> 'message')",
        "(job::jsonb -> 'error' ->> 'detail')",
    )
}

/// A job id read by the second failure query, with the reason it belongs to:
/// (state, code, message, detail, job id).
pub(super) type ReasonId = (String, Option<String>, String, Option<String>, String);

/// Puts the job ids read by the second failure query into their groups.
pub(super) fn attach_ids(groups: &mut [FailureGroup], ids: Vec<ReasonId>) {
    for (state, code, message, detail, job_id) in ids {
        if let Some(group) =
            groups.iter_mut().find(|g| g.state == state && g.code == code && g.message == message && g.detail == detail)
        {
            group.job_ids.push(job_id);
        }
    }
}

/// A history row from an event's stored payload.
pub(super) fn history_row(id: i64, event_type: String, payload: &str, created_at: i64) -> HistoryRow {
    // A payload that does not read back still shows the event's type and time.
    let payload: serde_json::Value = serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
    let text = |key: &str| payload.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    HistoryRow {
        id,
        event_type,
        state: text("state"),
        job_status: text("job_status"),
        progress: payload.get("progress").and_then(serde_json::Value::as_i64),
        created_at,
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// SQLite spells bind parameters `?1`; the shared SQL uses `$1`, which SQLite reads as a named
/// parameter bound by position too.
fn overview_sqlite(conn: &Connection) -> Result<Overview, DbError> {
    let mut overview = Overview::default();
    let mut stmt = conn.prepare_cached(sql::COUNTS)?;
    let rows =
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, i64>(2)?)))?;
    for row in rows {
        let (state, status, n) = row?;
        overview.counts.add(&state, status.as_deref(), count(n));
    }

    let mut stmt = conn.prepare_cached(sql::LABELS)?;
    let rows = stmt.query_map([MAX_LABELS + 1], |r| {
        let n = |i| r.get::<_, i64>(i).map(count);
        Ok(LabelProgress {
            key: r.get(0)?,
            value: r.get(1)?,
            counts: StateCounts { running: n(2)?, queued: n(3)?, completed: n(4)?, failed: n(5)?, error: n(6)? },
        })
    })?;
    overview.labels = rows.collect::<rusqlite::Result<_>>()?;
    overview.more_labels = overview.labels.len() > MAX_LABELS as usize;
    overview.labels.truncate(MAX_LABELS as usize);

    let (groups, ids) = sqlite_reasons();
    let mut stmt = conn.prepare_cached(&groups)?;
    let rows = stmt.query_map([MAX_REASONS], |r| {
        Ok(FailureGroup {
            state: r.get(0)?,
            code: r.get::<_, Option<rusqlite::types::Value>>(1)?.map(value_text),
            message: r.get(2)?,
            detail: r.get::<_, Option<rusqlite::types::Value>>(3)?.map(value_text),
            count: count(r.get(4)?),
            job_ids: Vec::new(),
        })
    })?;
    overview.failures = rows.collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare_cached(&ids)?;
    let rows = stmt.query_map([IDS_PER_REASON], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, Option<rusqlite::types::Value>>(1)?.map(value_text),
            r.get(2)?,
            r.get::<_, Option<rusqlite::types::Value>>(3)?.map(value_text),
            r.get(4)?,
        ))
    })?;
    attach_ids(&mut overview.failures, rows.collect::<rusqlite::Result<_>>()?);

    let mut stmt = conn.prepare_cached(sql::PROVIDERS)?;
    let rows = stmt.query_map([], |r| {
        Ok(ProviderChecks { provider: r.get(0)?, watching: count(r.get(1)?), next_check_at: r.get(2)? })
    })?;
    overview.providers = rows.collect::<rusqlite::Result<_>>()?;

    let mut stmt = conn.prepare_cached(sql::NEXT_CHECKS)?;
    let rows = stmt.query_map([MAX_NEXT_CHECKS], |r| {
        Ok(NextCheck { job_id: r.get(0)?, provider: r.get(1)?, job_status: r.get(2)?, next_check_at: r.get(3)? })
    })?;
    overview.next_checks = rows.collect::<rusqlite::Result<_>>()?;
    Ok(overview)
}

/// json_extract answers a JSON number as an SQLite number: a code may be either.
fn value_text(value: rusqlite::types::Value) -> String {
    use rusqlite::types::Value;
    match value {
        Value::Null => String::new(),
        Value::Integer(n) => n.to_string(),
        Value::Real(x) => x.to_string(),
        Value::Text(s) => s,
        Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
    }
}

impl Sqlite {
    /// The overview's aggregates.
    pub async fn overview(&self) -> Result<Overview, DbError> {
        self.call(|conn| overview_sqlite(conn)).await
    }

    /// A job's history (its events, oldest first, at most [`MAX_JOB_EVENTS`]).
    pub async fn job_history(&self, job_id: &str) -> Result<Vec<HistoryRow>, DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(sql::JOB_HISTORY)?;
            let rows = stmt.query_map(params![job_id, MAX_JOB_EVENTS], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
            })?;
            let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows.into_iter().map(|(id, t, p, at)| history_row(id, t, &p, at)).collect())
        })
        .await
    }

    /// The webhook deliveries of a job's watch, oldest first, at most [`MAX_JOB_DELIVERIES`].
    pub async fn job_deliveries(&self, job_id: &str) -> Result<Vec<DeliveryRow>, DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(sql::JOB_DELIVERIES)?;
            let rows = stmt.query_map(params![job_id, MAX_JOB_DELIVERIES], |r| {
                Ok(DeliveryRow {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    attempts: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    last_error: r.get(3)?,
                    delivered_at: r.get(4)?,
                    given_up_at: r.get(5)?,
                    next_attempt_at: r.get(6)?,
                    created_at: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }
}
