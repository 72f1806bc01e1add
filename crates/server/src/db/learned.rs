//! What the server learned of how long jobs take, kept in the store: one row holding the genjob
//! library's serialized `DurationEstimates`. Each server merges what it learned into the row and
//! takes the merged result back, so a restart keeps it and replicas learn from each other.

use super::DbError;
use super::sqlite::Sqlite;
use genjob::learn::DurationEstimates;
use rusqlite::params;

/// Reads the stored text: nothing stored yet is nothing learned; anything unusable (a future
/// version, a hand-edited row) is an error the caller reports and the next merge replaces.
pub(super) fn parse_learned(text: Option<&str>) -> Result<DurationEstimates, DbError> {
    match text {
        None => Ok(DurationEstimates::new()),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| DbError::Corrupt(format!("the learned job durations ({e}); the next save replaces them"))),
    }
}

/// `stored` (whatever it holds; an unusable value is replaced) with `ours` merged in, and its text.
///
/// Samples belong to job ids ([`DurationEstimates::merge`]), so merging what was taken back
/// before counts no job twice.
pub(super) fn merged(stored: Option<&str>, ours: &DurationEstimates) -> Result<(DurationEstimates, String), DbError> {
    let mut merged = parse_learned(stored).unwrap_or_default();
    merged.merge(ours);
    let text = serde_json::to_string(&merged).map_err(|e| DbError::Corrupt(format!("learned durations: {e}")))?;
    Ok((merged, text))
}

impl Sqlite {
    pub(crate) async fn learned(&self) -> Result<DurationEstimates, DbError> {
        let text: Option<String> = self
            .call(|conn| Ok(conn.query_row("SELECT estimates FROM learned WHERE id = 1", [], |r| r.get(0))?))
            .await?;
        parse_learned(text.as_deref())
    }

    pub(crate) async fn merge_learned(
        &self,
        ours: DurationEstimates,
        now_ms: i64,
    ) -> Result<DurationEstimates, DbError> {
        self.call(move |conn| {
            // One transaction: read, merge and write are one step for this process's connection.
            let tx = conn.transaction()?;
            let stored: Option<String> =
                tx.query_row("SELECT estimates FROM learned WHERE id = 1", [], |r| r.get(0))?;
            let (merged, text) = merged(stored.as_deref(), &ours)?;
            tx.execute("UPDATE learned SET estimates = ?1, updated_at = ?2 WHERE id = 1", params![text, now_ms])?;
            tx.commit()?;
            Ok(merged)
        })
        .await
    }
}
