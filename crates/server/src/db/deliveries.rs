//! The webhook outbox: deliveries written with the final state, taken when due, marked when done.

use super::DbError;
use super::sqlite::Sqlite;
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

/// A delivery to add (with the final state that causes it).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The `webhook-id`, stable across attempts.
    pub id: String,
    /// Where to POST.
    pub url: String,
    /// The exact body (signed as is).
    pub payload: String,
}

/// A delivery whose next attempt is due.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The `webhook-id`.
    pub id: String,
    /// Where to POST.
    pub url: String,
    /// The body.
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

pub(super) fn insert_delivery(conn: &Connection, watch_id: i64, d: &NewDelivery, now_ms: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO deliveries (id, watch_id, url, payload, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![d.id, watch_id, d.url, d.payload, now_ms],
    )?;
    Ok(())
}

// The SQLite side of the `Store` methods of the same names (documented there).
impl Sqlite {
    pub async fn due_deliveries(&self, now_ms: i64, limit: u32, _claim: Duration) -> Result<Vec<DueDelivery>, DbError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, url, payload, attempts FROM deliveries
                 WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now_ms, limit], |r| {
                Ok(DueDelivery { id: r.get(0)?, url: r.get(1)?, payload: r.get(2)?, attempts: r.get(3)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    pub async fn next_delivery_at(&self) -> Result<Option<i64>, DbError> {
        self.call(|conn| {
            let next: Option<Option<i64>> = conn
                .query_row("SELECT MIN(next_attempt_at) FROM deliveries WHERE next_attempt_at IS NOT NULL", [], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(next.flatten())
        })
        .await
    }

    pub async fn delivery_succeeded(&self, id: &str, now_ms: i64) -> Result<(), DbError> {
        let id = id.to_owned();
        self.call(move |conn| {
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, delivered_at = ?2, next_attempt_at = NULL, last_error = NULL
                 WHERE id = ?1",
                params![id, now_ms],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn delivery_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
        now_ms: i64,
    ) -> Result<(), DbError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.call(move |conn| {
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                 given_up_at = CASE WHEN ?3 IS NULL THEN ?4 END WHERE id = ?1",
                params![id, error, retry_at, now_ms],
            )?;
            Ok(())
        })
        .await
    }
}
