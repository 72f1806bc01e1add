//! The PostgreSQL store, for several replicas over one database: a pool of connections, the
//! migrations applied at open under an advisory lock (replicas starting together migrate once), and
//! what the replicas share: each watch's lease, their heartbeats, and the fleet's request pace.

use super::dashboard::{
    self, DeliveryRow, FailureGroup, HistoryRow, LabelProgress, NextCheck, Overview, ProviderChecks, StateCounts,
};
use super::deliveries::{DueDelivery, NewDelivery};
use super::events::{EventBounds, EventFilter, EventPage, EventRow, EventType, PRUNED_THROUGH, SCAN_WINDOW, payload};
use super::watches::{
    DownloadState, Inserted, KeptFile, NewWatch, OutputRow, WatchFilter, WatchRow, WatchState, output_kind,
    parse_download_state, parse_job, parse_provider, parse_state,
};
use super::{DbError, DeliveryStats, Held, StoreStats};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use genjob::{Job, Provider, SharedPace};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;
use tokio_postgres::{GenericClient, NoTls, Row};

refinery::embed_migrations!("migrations/postgres");

/// The advisory lock the migrations run under: any constant, the same in every replica.
const MIGRATION_LOCK: i64 = 0x6765_6e6a_6f62;

/// The advisory lock every transaction appending an event holds until it commits, so event ids
/// become visible in increasing order (a stream reading after its cursor never passes one that
/// commits later).
const EVENTS_LOCK: i64 = 0x6765_6e6a_6f63;

/// Unfinished: the server still owes work for the watch (watching, or keeping its files).
const UNFINISHED: &str = "(state = 'watching' OR download_state = 'pending')";

/// How long a connection may take to open, and a query to wait for a free connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections a replica keeps open at most.
const POOL_SIZE: usize = 16;

/// The database's clock in Unix milliseconds: every replica takes pace turns by the same clock.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

const COLUMNS: &str = "id, job_id, provider, webhook_url, download, state, job_status, progress, polls, job, error, \
                       next_check_at, created_at, updated_at, download_state, download_attempts, download_error";

/// The PostgreSQL store: cheap to clone (a pool).
#[derive(Clone)]
pub(crate) struct Postgres {
    pool: Pool,
}

impl fmt::Debug for Postgres {
    // The URL holds a password: it is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Postgres { .. }")
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn read_row(row: &Row) -> Result<WatchRow, DbError> {
    let provider: String = row.try_get(2)?;
    let state: String = row.try_get(5)?;
    let job: Option<String> = row.try_get(9)?;
    let progress: Option<i32> = row.try_get(7)?;
    let polls: i32 = row.try_get(8)?;
    let download_state: Option<String> = row.try_get(14)?;
    let download_attempts: i32 = row.try_get(15)?;
    Ok(WatchRow {
        id: row.try_get(0)?,
        new: NewWatch {
            job_id: row.try_get(1)?,
            provider: parse_provider(&provider)?,
            webhook_url: row.try_get(3)?,
            download: row.try_get(4)?,
            labels: BTreeMap::new(),
        },
        state: parse_state(&state)?,
        job_status: row.try_get(6)?,
        progress: progress.and_then(|p| u8::try_from(p).ok()),
        polls: u32::try_from(polls).unwrap_or(0),
        job: job.as_deref().map(parse_job).transpose()?,
        error: row.try_get(10)?,
        next_check_at: row.try_get(11)?,
        created_at: row.try_get(12)?,
        updated_at: row.try_get(13)?,
        outputs: Vec::new(),
        download_state: download_state.as_deref().map(parse_download_state).transpose()?,
        download_attempts: u32::try_from(download_attempts).unwrap_or(0),
        download_error: row.try_get(16)?,
    })
}

/// Reads watch rows with their labels and outputs (two queries for all of them, not two each).
async fn complete(client: &impl GenericClient, rows: &[Row]) -> Result<Vec<WatchRow>, DbError> {
    let mut watches = rows.iter().map(read_row).collect::<Result<Vec<_>, _>>()?;
    if watches.is_empty() {
        return Ok(watches);
    }
    let ids: Vec<i64> = watches.iter().map(|w| w.id).collect();
    let at: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let labels =
        client.query("SELECT watch_id, key, value FROM watch_labels WHERE watch_id = ANY($1)", &[&ids]).await?;
    for label in labels {
        if let Some(&i) = at.get(&label.try_get::<_, i64>(0)?) {
            watches[i].new.labels.insert(label.try_get(1)?, label.try_get(2)?);
        }
    }
    let outputs = client
        .query(
            "SELECT watch_id, kind, url, path FROM outputs WHERE watch_id = ANY($1) ORDER BY watch_id, position",
            &[&ids],
        )
        .await?;
    for output in outputs {
        if let Some(&i) = at.get(&output.try_get::<_, i64>(0)?) {
            // A file only the API serves has no link of its own: stored as '' (the column is NOT NULL).
            let url: String = output.try_get(2)?;
            let url = Some(url).filter(|u| !u.is_empty());
            watches[i].outputs.push(OutputRow { kind: output.try_get(1)?, url, path: output.try_get(3)? });
        }
    }
    Ok(watches)
}

/// Appends an event in the caller's transaction (under [`EVENTS_LOCK`]); returns its id.
async fn insert_event(
    tx: &tokio_postgres::Transaction<'_>,
    watch: &WatchRow,
    event: EventType,
    now_ms: i64,
) -> Result<i64, DbError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK]).await?;
    let row = tx
        .query_one(
            "INSERT INTO events (job_id, type, payload, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&watch.new.job_id, &event.as_str(), &payload(watch, event).to_string(), &now_ms],
        )
        .await?;
    Ok(row.try_get(0)?)
}

async fn pruned_through(client: &impl GenericClient) -> Result<i64, DbError> {
    let value: Option<String> = client
        .query_opt("SELECT value FROM server_settings WHERE name = $1", &[&PRUNED_THROUGH])
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    value.map_or(Ok(0), |v| v.parse().map_err(|_| DbError::Corrupt(format!("{PRUNED_THROUGH} `{v}`"))))
}

/// The newest event id committed (or pruned): with [`EVENTS_LOCK`], every smaller id is committed too.
async fn latest_event_id(client: &impl GenericClient) -> Result<i64, DbError> {
    let max: Option<i64> = client.query_one("SELECT MAX(id) FROM events", &[]).await?.try_get(0)?;
    Ok(max.unwrap_or(0).max(pruned_through(client).await?))
}

async fn insert_delivery(
    tx: &tokio_postgres::Transaction<'_>,
    watch_id: i64,
    d: &NewDelivery,
    now_ms: i64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO deliveries (id, watch_id, url, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)",
        &[&d.id, &watch_id, &d.url, &d.payload, &now_ms],
    )
    .await?;
    Ok(())
}

async fn pending_id(tx: &tokio_postgres::Transaction<'_>, job_id: &str) -> Result<Option<i64>, DbError> {
    let row = tx
        .query_opt("SELECT id FROM watches WHERE job_id = $1 AND download_state = 'pending' FOR UPDATE", &[&job_id])
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

async fn by_job_id(client: &impl GenericClient, job_id: &str) -> Result<Option<WatchRow>, DbError> {
    let rows = client.query(&format!("SELECT {COLUMNS} FROM watches WHERE job_id = $1"), &[&job_id]).await?;
    Ok(complete(client, &rows).await?.pop())
}

impl Postgres {
    /// Connects to `url` and applies the migrations.
    pub(crate) async fn open(url: &str) -> Result<Postgres, DbError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| DbError::Pool(format!("--db is not a PostgreSQL URL ({e})")))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        // Migrations on a connection of their own, under a lock, so replicas starting together
        // do not both create the tables.
        let (mut client, connection) = config.connect(NoTls).await?;
        let connection = tokio::spawn(connection);
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
        let migrated = migrations::runner().run_async(&mut client).await;
        let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
        drop(client);
        connection.abort();
        migrated.map_err(|e| DbError::PostgresMigrate(e.to_string()))?;
        unlocked?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Postgres { pool })
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, DbError> {
        self.pool.get().await.map_err(|e| DbError::Pool(e.to_string()))
    }

    pub(crate) async fn ping(&self) -> Result<(), DbError> {
        self.client().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    pub(crate) async fn setting_or_insert(
        &self,
        name: &'static str,
        default: impl FnOnce() -> String + Send + 'static,
    ) -> Result<String, DbError> {
        let client = self.client().await?;
        // Two statements: the SELECT sees a value another replica committed meanwhile.
        client
            .execute(
                "INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &default()],
            )
            .await?;
        let row = client.query_one("SELECT value FROM server_settings WHERE name = $1", &[&name]).await?;
        Ok(row.try_get(0)?)
    }

    pub(crate) async fn insert_watch(&self, new: NewWatch, now_ms: i64) -> Result<(Inserted, Option<i64>), DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let inserted = tx
            .query_opt(
                "INSERT INTO watches (job_id, provider, webhook_url, download, next_check_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5, $5) ON CONFLICT (job_id) DO NOTHING RETURNING id",
                &[&new.job_id, &new.provider.as_str(), &new.webhook_url, &new.download, &now_ms],
            )
            .await?;
        if let Some(row) = &inserted {
            let id: i64 = row.try_get(0)?;
            for (key, value) in &new.labels {
                tx.execute("INSERT INTO watch_labels (watch_id, key, value) VALUES ($1, $2, $3)", &[&id, key, value])
                    .await?;
            }
        }
        let row = by_job_id(&*tx, &new.job_id).await?.ok_or(DbError::Corrupt("an inserted watch is missing".into()))?;
        let event = match inserted {
            Some(_) => Some(insert_event(&tx, &row, EventType::Created, now_ms).await?),
            None => None,
        };
        tx.commit().await?;
        Ok((if event.is_some() { Inserted::Created(row) } else { Inserted::Existing(row) }, event))
    }

    pub(crate) async fn watch(&self, job_id: &str) -> Result<Option<WatchRow>, DbError> {
        by_job_id(&**self.client().await?, job_id).await
    }

    pub(crate) async fn list_watches(&self, filter: WatchFilter) -> Result<Vec<WatchRow>, DbError> {
        let client = self.client().await?;
        let (key, value) = filter.label.clone().unzip();
        let sql = format!(
            "SELECT {COLUMNS} FROM watches w WHERE id > $1 AND ($2::text IS NULL OR state = $2)
             AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM watch_labels l WHERE l.watch_id = w.id AND l.key = $3 AND l.value = $4))
             ORDER BY id LIMIT $5"
        );
        let state = filter.state.map(|s| s.as_str());
        let rows =
            client.query(&sql, &[&filter.after.unwrap_or(0), &state, &key, &value, &i64::from(filter.limit)]).await?;
        complete(&**client, &rows).await
    }

    pub(crate) async fn delete_watch(&self, job_id: &str, now_ms: i64) -> Result<(bool, Option<i64>), DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Read first: the event tells the watch's labels and state, gone once the row is.
        let Some(row) = by_job_id(&*tx, job_id).await? else { return Ok((false, None)) };
        let event = insert_event(&tx, &row, EventType::Deleted, now_ms).await?;
        tx.execute("DELETE FROM watches WHERE id = $1", &[&row.id]).await?;
        tx.commit().await?;
        Ok((true, Some(event)))
    }

    pub(crate) async fn record_progress(
        &self,
        job_id: &str,
        job_status: &str,
        progress: Option<u8>,
        polls: u32,
        next_check_at: i64,
        now_ms: i64,
    ) -> Result<((), Option<i64>), DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let statement = tx
            .prepare_cached(
                "UPDATE watches w SET job_status = $2, progress = $3, polls = $4, next_check_at = $5, error = NULL,
                 updated_at = $6 FROM (SELECT id, job_status, progress FROM watches
                                       WHERE job_id = $1 AND state = 'watching' FOR UPDATE) old
                 WHERE w.id = old.id RETURNING old.job_status, old.progress",
            )
            .await?;
        let progress = progress.map(i32::from);
        let before = tx
            .query_opt(&statement, &[&job_id, &job_status, &progress, &to_i32(polls), &next_check_at, &now_ms])
            .await?;
        let Some(before) = before else { return Ok(((), None)) };
        let (old_status, old_progress): (Option<String>, Option<i32>) = (before.try_get(0)?, before.try_get(1)?);
        // Every read lands here; only a change is news to a stream.
        let event = if old_status.as_deref() != Some(job_status) || old_progress != progress {
            let row = by_job_id(&*tx, job_id).await?.ok_or(DbError::Corrupt("an updated watch is missing".into()))?;
            Some(insert_event(&tx, &row, EventType::Progress, now_ms).await?)
        } else {
            None
        };
        tx.commit().await?;
        Ok(((), event))
    }

    pub(crate) async fn record_retry(
        &self,
        job_id: &str,
        error: &str,
        next_check_at: i64,
        now_ms: i64,
    ) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "UPDATE watches SET error = $2, next_check_at = $3, updated_at = $4 WHERE job_id = $1 AND state = 'watching'",
                &[&job_id, &error, &next_check_at, &now_ms],
            )
            .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // one transaction's inputs, each named at the call
    pub(crate) async fn record_final(
        &self,
        job_id: &str,
        state: WatchState,
        job: Option<Job>,
        error: Option<String>,
        download: Option<DownloadState>,
        delivery: Option<NewDelivery>,
        now_ms: i64,
    ) -> Result<(bool, Option<i64>), DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The row lock makes two replicas writing the same end (one whose lease ran out) write it once.
        let Some(row) = tx
            .query_opt("SELECT id FROM watches WHERE job_id = $1 AND state = 'watching' FOR UPDATE", &[&job_id])
            .await?
        else {
            return Ok((false, None));
        };
        let id: i64 = row.try_get(0)?;
        let job_json =
            job.as_ref().map(serde_json::to_string).transpose().map_err(|e| DbError::Corrupt(e.to_string()))?;
        let status = job.as_ref().map(|j| j.status.as_str());
        tx.execute(
            "UPDATE watches SET state = $2, job = $3, job_status = COALESCE($4, job_status), error = $5,
             next_check_at = NULL, updated_at = $6, download_state = $7 WHERE id = $1",
            &[&id, &state.as_str(), &job_json, &status, &error, &now_ms, &download.map(DownloadState::as_str)],
        )
        .await?;
        for (position, output) in job.iter().flat_map(|j| j.outputs.iter()).enumerate() {
            let position = i32::try_from(position).unwrap_or(i32::MAX);
            tx.execute(
                "INSERT INTO outputs (watch_id, position, kind, url) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (watch_id, position) DO UPDATE SET kind = EXCLUDED.kind, url = EXCLUDED.url",
                &[&id, &position, &output_kind(output), &output.url],
            )
            .await?;
        }
        if let Some(d) = delivery {
            insert_delivery(&tx, id, &d, now_ms).await?;
        }
        let row = by_job_id(&*tx, job_id).await?.ok_or(DbError::Corrupt("a finished watch is missing".into()))?;
        let event = insert_event(&tx, &row, EventType::of_state(state), now_ms).await?;
        tx.commit().await?;
        Ok((true, Some(event)))
    }

    pub(crate) async fn files_pending(&self) -> Result<Vec<WatchRow>, DbError> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM watches WHERE download_state = 'pending' ORDER BY id");
        let rows = client.query(&sql, &[]).await?;
        complete(&**client, &rows).await
    }

    pub(crate) async fn record_files(
        &self,
        job_id: &str,
        files: Vec<KeptFile>,
        delivery: Option<NewDelivery>,
        now_ms: i64,
    ) -> Result<bool, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(id) = pending_id(&tx, job_id).await? else { return Ok(false) };
        for file in &files {
            let position = i32::try_from(file.position).unwrap_or(i32::MAX);
            // An output the record did not list (a file only the API serves) gets its row now.
            tx.execute(
                "INSERT INTO outputs (watch_id, position, kind, url, path) VALUES ($1, $2, $3, '', $4)
                 ON CONFLICT (watch_id, position) DO UPDATE SET path = EXCLUDED.path",
                &[&id, &position, &file.kind, &file.path],
            )
            .await?;
        }
        tx.execute(
            "UPDATE watches SET download_state = 'kept', download_error = NULL, leased_by = NULL, lease_until = NULL,
             updated_at = $2 WHERE id = $1",
            &[&id, &now_ms],
        )
        .await?;
        if let Some(d) = delivery {
            insert_delivery(&tx, id, &d, now_ms).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn record_download_failure(
        &self,
        job_id: &str,
        error: &str,
        give_up: bool,
        delivery: Option<NewDelivery>,
        now_ms: i64,
    ) -> Result<Option<u32>, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(id) = pending_id(&tx, job_id).await? else { return Ok(None) };
        let state = if give_up { DownloadState::Failed } else { DownloadState::Pending };
        let attempts: i32 = tx
            .query_one(
                "UPDATE watches SET download_state = $2, download_attempts = download_attempts + 1,
                 download_error = $3, updated_at = $4 WHERE id = $1 RETURNING download_attempts",
                &[&id, &state.as_str(), &error, &now_ms],
            )
            .await?
            .try_get(0)?;
        if let Some(d) = delivery.filter(|_| give_up) {
            insert_delivery(&tx, id, &d, now_ms).await?;
        }
        tx.commit().await?;
        Ok(Some(u32::try_from(attempts).unwrap_or(0)))
    }

    pub(crate) async fn wake(&self, job_id: &str, now_ms: i64) -> Result<bool, DbError> {
        // `woken_at` tells the replica holding the job at its next lease renewal.
        let woken = self
            .client()
            .await?
            .execute(
                "UPDATE watches SET next_check_at = LEAST(COALESCE(next_check_at, $2), $2), woken_at = $2
                 WHERE job_id = $1 AND state = 'watching'",
                &[&job_id, &now_ms],
            )
            .await?;
        Ok(woken == 1)
    }

    pub(crate) async fn latest_event(&self) -> Result<i64, DbError> {
        latest_event_id(&**self.client().await?).await
    }

    pub(crate) async fn events_page(&self, after: i64, filter: EventFilter, limit: u32) -> Result<EventPage, DbError> {
        let client = self.client().await?;
        let latest = latest_event_id(&**client).await?;
        let until = after.saturating_add(SCAN_WINDOW).min(latest);
        let (key, value) = filter.label.unzip();
        let rows = client
            .query(
                "SELECT id, job_id, type, payload, created_at FROM events
                 WHERE id > $1 AND id <= $2 AND ($3::text IS NULL OR job_id = $3)
                 AND ($4::text IS NULL OR (payload::jsonb -> 'labels' ->> $4) = $5)
                 ORDER BY id LIMIT $6",
                &[&after, &until, &filter.job_id, &key, &value, &i64::from(limit)],
            )
            .await?;
        let full = rows.len() >= usize::try_from(limit).unwrap_or(usize::MAX);
        let events = rows
            .iter()
            .map(|r| {
                let id: i64 = r.try_get(0)?;
                let text: String = r.try_get(3)?;
                let payload = serde_json::from_str(&text)
                    .map_err(|e| DbError::Corrupt(format!("the payload of event {id}: {e}")))?;
                Ok(EventRow {
                    id,
                    job_id: r.try_get(1)?,
                    event_type: r.try_get(2)?,
                    payload,
                    created_at: r.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        // A full page may stop short of `until`: the next one starts after its last event.
        let scanned_through = match events.last() {
            Some(last) if full => last.id,
            _ => until.max(after),
        };
        Ok(EventPage { events, scanned_through, latest, pruned_through: pruned_through(&**client).await? })
    }

    pub(crate) async fn event_bounds(&self) -> Result<EventBounds, DbError> {
        let client = self.client().await?;
        Ok(EventBounds { pruned_through: pruned_through(&**client).await?, latest: latest_event_id(&**client).await? })
    }

    pub(crate) async fn prune_events(&self, before_ms: i64, keep: u64) -> Result<u64, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Under the events lock: no event commits between reading the newest id and the delete.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK]).await?;
        let latest = latest_event_id(&*tx).await?;
        let by_count = latest.saturating_sub(i64::try_from(keep).unwrap_or(i64::MAX));
        let by_age: Option<i64> =
            tx.query_one("SELECT MAX(id) FROM events WHERE created_at < $1", &[&before_ms]).await?.try_get(0)?;
        let through = by_count.max(by_age.unwrap_or(0));
        let deleted = tx.execute("DELETE FROM events WHERE id <= $1", &[&through]).await?;
        if through > pruned_through(&*tx).await? {
            tx.execute(
                "INSERT INTO server_settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[&PRUNED_THROUGH, &through.to_string()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    pub(crate) async fn stats(&self) -> Result<StoreStats, DbError> {
        let client = self.client().await?;
        let mut watches: Vec<(WatchState, u64)> = WatchState::ALL.iter().map(|s| (*s, 0)).collect();
        for row in client.query("SELECT state, COUNT(*) FROM watches GROUP BY state", &[]).await? {
            let state = parse_state(&row.try_get::<_, String>(0)?)?;
            if let Some(slot) = watches.iter_mut().find(|(s, _)| *s == state) {
                slot.1 = count(row.try_get(1)?);
            }
        }
        let row = client
            .query_one(
                "SELECT COUNT(delivered_at),
                        COALESCE(SUM(attempts - CASE WHEN delivered_at IS NULL THEN 0 ELSE 1 END), 0)::bigint,
                        COUNT(given_up_at), COUNT(next_attempt_at) FROM deliveries",
                &[],
            )
            .await?;
        let deliveries = DeliveryStats {
            delivered: count(row.try_get(0)?),
            failed_attempts: count(row.try_get(1)?),
            given_up: count(row.try_get(2)?),
            pending: count(row.try_get(3)?),
        };
        Ok(StoreStats { watches, deliveries, events_written: count(latest_event_id(&**client).await?) })
    }

    pub(crate) async fn due_deliveries(
        &self,
        now_ms: i64,
        limit: u32,
        claim: Duration,
    ) -> Result<Vec<DueDelivery>, DbError> {
        // Taken for `claim`: another replica leaves them alone meanwhile, and if this one dies
        // mid-attempt they are due again afterwards (at least once, never lost).
        let rows = self
            .client()
            .await?
            .query(
                "UPDATE deliveries SET next_attempt_at = $1::bigint + $3::bigint WHERE id IN (
                   SELECT id FROM deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1
                   ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                 RETURNING id, url, payload, attempts",
                &[&now_ms, &i64::from(limit), &millis(claim)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let attempts: i32 = r.try_get(3)?;
                Ok(DueDelivery {
                    id: r.try_get(0)?,
                    url: r.try_get(1)?,
                    payload: r.try_get(2)?,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                })
            })
            .collect()
    }

    pub(crate) async fn next_delivery_at(&self) -> Result<Option<i64>, DbError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT MIN(next_attempt_at) FROM deliveries WHERE next_attempt_at IS NOT NULL", &[])
            .await?;
        Ok(row.try_get(0)?)
    }

    pub(crate) async fn delivery_succeeded(&self, id: &str, now_ms: i64) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "UPDATE deliveries SET attempts = attempts + 1, delivered_at = $2, next_attempt_at = NULL, last_error = NULL
                 WHERE id = $1",
                &[&id, &now_ms],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn delivery_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
        now_ms: i64,
    ) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
                 given_up_at = CASE WHEN $3::bigint IS NULL THEN $4::bigint END WHERE id = $1",
                &[&id, &error, &retry_at, &now_ms],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn renew(&self, replica: &str, now_ms: i64, lease: Duration) -> Result<Vec<Held>, DbError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO replicas (id, seen_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET seen_at = $2",
                &[&replica, &now_ms],
            )
            .await?;
        // Replicas not seen for a hundred leases are gone for good.
        client
            .execute("DELETE FROM replicas WHERE seen_at < $1", &[&now_ms.saturating_sub(millis(lease) * 100)])
            .await?;
        let sql = format!(
            "WITH held AS (SELECT id, woken_at FROM watches WHERE leased_by = $1 AND {UNFINISHED} FOR UPDATE)
                 UPDATE watches w SET lease_until = $2::bigint + $3::bigint, woken_at = NULL FROM held WHERE w.id = held.id
             RETURNING w.job_id, held.woken_at IS NOT NULL"
        );
        let rows = client.query(&sql, &[&replica, &now_ms, &millis(lease)]).await?;
        rows.iter().map(|r| Ok(Held { job_id: r.try_get(0)?, woken: r.try_get(1)? })).collect()
    }

    pub(crate) async fn fair_share(&self, now_ms: i64, lease: Duration) -> Result<usize, DbError> {
        let row = self
            .client()
            .await?
            .query_one(
                &format!(
                    "SELECT (SELECT count(*) FROM watches WHERE {UNFINISHED}),
                            (SELECT count(*) FROM replicas WHERE seen_at >= $1)"
                ),
                &[&now_ms.saturating_sub(millis(lease))],
            )
            .await?;
        let (watching, replicas): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let share = (watching.max(0) as u64).div_ceil(replicas.max(1) as u64);
        Ok(usize::try_from(share).unwrap_or(usize::MAX))
    }

    pub(crate) async fn claim(
        &self,
        replica: &str,
        now_ms: i64,
        lease: Duration,
        limit: usize,
        only: Option<&str>,
    ) -> Result<Vec<WatchRow>, DbError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        // SKIP LOCKED: replicas claiming at once take different rows instead of waiting for each other.
        let sql = format!(
            "UPDATE watches SET leased_by = $1, lease_until = $2::bigint + $3::bigint WHERE id IN (
               SELECT id FROM watches WHERE {UNFINISHED} AND (lease_until IS NULL OR lease_until < $2)
               AND ($5::text IS NULL OR job_id = $5)
               ORDER BY next_check_at NULLS FIRST, id LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING {COLUMNS}"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client.query(&sql, &[&replica, &now_ms, &millis(lease), &limit, &only]).await?;
        complete(&**client, &rows).await
    }

    pub(crate) async fn release(&self, replica: &str, job_ids: Option<Vec<String>>) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "UPDATE watches SET leased_by = NULL, lease_until = NULL
                 WHERE leased_by = $1 AND ($2::text[] IS NULL OR job_id = ANY($2))",
                &[&replica, &job_ids],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn learned(&self) -> Result<genjob::learn::DurationEstimates, DbError> {
        let row = self.client().await?.query_one("SELECT estimates FROM learned WHERE id = 1", &[]).await?;
        let text: Option<String> = row.try_get(0)?;
        super::learned::parse_learned(text.as_deref())
    }

    pub(crate) async fn merge_learned(
        &self,
        ours: genjob::learn::DurationEstimates,
        now_ms: i64,
    ) -> Result<genjob::learn::DurationEstimates, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The row is locked until the commit: a replica merging at the same time waits and then
        // merges into this one's result, so neither loses the other's samples.
        let row = tx.query_one("SELECT estimates FROM learned WHERE id = 1 FOR UPDATE", &[]).await?;
        let stored: Option<String> = row.try_get(0)?;
        let (merged, text) = super::learned::merged(stored.as_deref(), &ours)?;
        tx.execute("UPDATE learned SET estimates = $1, updated_at = $2 WHERE id = 1", &[&text, &now_ms]).await?;
        tx.commit().await?;
        Ok(merged)
    }

    async fn try_turn(&self, lane: &str, spacing: Duration) -> Result<Duration, DbError> {
        let client = self.client().await?;
        // The turn is taken only when it is free now (by the database's clock), so requests are
        // spaced at the moment they go, whoever sends them; a row updated by nothing returns nothing.
        let take = client
            .prepare_cached(&format!(
                "INSERT INTO request_pace (lane, next_at) VALUES ($1, {DB_NOW_MS} + $2::bigint)
                 ON CONFLICT (lane) DO UPDATE SET next_at = {DB_NOW_MS} + $2::bigint
                 WHERE request_pace.next_at <= {DB_NOW_MS} RETURNING 0::bigint"
            ))
            .await?;
        // The spacing carries the budget's headroom for the jitter between a turn and the provider.
        let spacing = millis(spacing);
        if client.query_opt(&take, &[&lane, &spacing]).await?.is_some() {
            return Ok(Duration::ZERO);
        }
        let wait =
            client.prepare_cached(&format!("SELECT next_at - {DB_NOW_MS} FROM request_pace WHERE lane = $1")).await?;
        let wait: Option<i64> = client.query_opt(&wait, &[&lane]).await?.map(|r| r.try_get(0)).transpose()?;
        // At least a millisecond: "not now" must never read as "go".
        Ok(Duration::from_millis(u64::try_from(wait.unwrap_or(1)).unwrap_or(0).max(1)))
    }
}

/// The fleet's pace: one row per provider lane holds the time the next request may go; a request of
/// any replica goes only once that time has come, and moves it on by the spacing as it goes, so the
/// fleet together keeps the pace at the moment of sending.
#[async_trait::async_trait]
impl SharedPace for Postgres {
    async fn turn(&self, provider: Provider, lane: &'static str, spacing: Duration) -> Duration {
        match self.try_turn(&format!("{provider}/{lane}"), spacing).await {
            Ok(wait) => wait,
            Err(e) => {
                // The replica's own pace still holds; the fleet's comes back with the database.
                tracing::warn!("the fleet's request pace is unavailable, keeping this replica's own: {e}");
                Duration::ZERO
            }
        }
    }

    async fn pause(&self, provider: Provider, until: Timestamp) {
        let lane = format!("{provider}/api");
        let paused = async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO request_pace (lane, next_at) VALUES ($1, $2)
                     ON CONFLICT (lane) DO UPDATE SET next_at = GREATEST(request_pace.next_at, $2)",
                    &[&lane, &until.as_millisecond()],
                )
                .await?;
            Ok::<(), DbError>(())
        };
        if let Err(e) = paused.await {
            tracing::warn!("cannot tell the fleet about a pause of {provider}: {e}");
        }
    }
}

/// The dashboard's reads (see `db/dashboard.rs`, which holds the SQL both backends share).
impl Postgres {
    pub(crate) async fn overview(&self) -> Result<Overview, DbError> {
        let client = self.client().await?;
        let mut overview = Overview::default();
        for row in client.query(dashboard::sql::COUNTS, &[]).await? {
            let (state, status): (String, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
            overview.counts.add(&state, status.as_deref(), count(row.try_get(2)?));
        }
        let limit = i64::from(dashboard::MAX_LABELS) + 1;
        for row in client.query(dashboard::sql::LABELS, &[&limit]).await? {
            let n = |i| row.try_get::<_, i64>(i).map(count);
            overview.labels.push(LabelProgress {
                key: row.try_get(0)?,
                value: row.try_get(1)?,
                counts: StateCounts { running: n(2)?, queued: n(3)?, completed: n(4)?, failed: n(5)?, error: n(6)? },
            });
        }
        let max_labels = usize::try_from(dashboard::MAX_LABELS).unwrap_or(usize::MAX);
        overview.more_labels = overview.labels.len() > max_labels;
        overview.labels.truncate(max_labels);

        let (groups, ids) = dashboard::postgres_reasons();
        for row in client.query(&groups, &[&i64::from(dashboard::MAX_REASONS)]).await? {
            overview.failures.push(FailureGroup {
                state: row.try_get(0)?,
                code: row.try_get(1)?,
                message: row.try_get(2)?,
                detail: row.try_get(3)?,
                count: count(row.try_get(4)?),
                job_ids: Vec::new(),
            });
        }
        let mut found = Vec::new();
        for row in client.query(&ids, &[&i64::from(dashboard::IDS_PER_REASON)]).await? {
            found.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?));
        }
        dashboard::attach_ids(&mut overview.failures, found);

        for row in client.query(dashboard::sql::PROVIDERS, &[]).await? {
            overview.providers.push(ProviderChecks {
                provider: row.try_get(0)?,
                watching: count(row.try_get(1)?),
                next_check_at: row.try_get(2)?,
            });
        }
        for row in client.query(dashboard::sql::NEXT_CHECKS, &[&i64::from(dashboard::MAX_NEXT_CHECKS)]).await? {
            overview.next_checks.push(NextCheck {
                job_id: row.try_get(0)?,
                provider: row.try_get(1)?,
                job_status: row.try_get(2)?,
                next_check_at: row.try_get(3)?,
            });
        }
        Ok(overview)
    }

    pub(crate) async fn job_history(&self, job_id: &str) -> Result<Vec<HistoryRow>, DbError> {
        let client = self.client().await?;
        let rows = client.query(dashboard::sql::JOB_HISTORY, &[&job_id, &i64::from(dashboard::MAX_JOB_EVENTS)]).await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get(2)?;
                Ok(dashboard::history_row(r.try_get(0)?, r.try_get(1)?, &payload, r.try_get(3)?))
            })
            .collect()
    }

    pub(crate) async fn job_deliveries(&self, job_id: &str) -> Result<Vec<DeliveryRow>, DbError> {
        let client = self.client().await?;
        let rows =
            client.query(dashboard::sql::JOB_DELIVERIES, &[&job_id, &i64::from(dashboard::MAX_JOB_DELIVERIES)]).await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRow {
                    id: r.try_get(0)?,
                    url: r.try_get(1)?,
                    attempts: u32::try_from(r.try_get::<_, i32>(2)?).unwrap_or(0),
                    last_error: r.try_get(3)?,
                    delivered_at: r.try_get(4)?,
                    given_up_at: r.try_get(5)?,
                    next_attempt_at: r.try_get(6)?,
                    created_at: r.try_get(7)?,
                })
            })
            .collect()
    }
}
