-- The event log behind `GET /v1/events`: one row per change of a watch, written in the same
-- transaction as the change, so a stream never shows a change the store does not hold and never
-- misses one. Append-only; old rows are pruned (see `events_pruned_through` in server_settings).

CREATE TABLE events (
    -- The SSE `id:`: AUTOINCREMENT so an id is never used twice, even after pruning.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT NOT NULL,
    -- watch.created | watch.progress | watch.completed | watch.failed | watch.error | watch.deleted
    type       TEXT NOT NULL,
    -- JSON: {job_id, state, job_status, progress, labels, job?, error?}
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The `?job_id=` filter of a stream.
CREATE INDEX events_job ON events (job_id, id);
-- Pruning by age.
CREATE INDEX events_created ON events (created_at);
