-- Every watch, its last normalized job, its outputs, and the webhook deliveries it owes.
-- Times are Unix milliseconds (UTC).

CREATE TABLE watches (
    -- Sortable: the order of the list and its cursor.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Uniqueness is the database's business: POST is idempotent on it.
    job_id        TEXT NOT NULL UNIQUE,
    provider      TEXT NOT NULL,
    webhook_url   TEXT,
    download      INTEGER NOT NULL DEFAULT 0,
    -- watching | completed | failed | error
    state         TEXT NOT NULL DEFAULT 'watching',
    -- The status the job's last record showed (queued, running, completed, failed, unknown).
    job_status    TEXT,
    progress      INTEGER,
    polls         INTEGER NOT NULL DEFAULT 0,
    -- The last normalized job (JSON), once a final record was read.
    job           TEXT,
    -- Why watching ended without a final record (state = error), or the last trouble.
    error         TEXT,
    next_check_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE INDEX watches_state ON watches (state, id);

CREATE TABLE watch_labels (
    watch_id INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (watch_id, key)
);

CREATE INDEX watch_labels_key_value ON watch_labels (key, value);

CREATE TABLE outputs (
    watch_id INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    url      TEXT NOT NULL,
    -- Where the file was kept, once downloads are done by the server (not yet).
    path     TEXT,
    PRIMARY KEY (watch_id, position)
);

-- The outbox: written in the same transaction as the final state, deleted never; delivered or given up.
CREATE TABLE deliveries (
    -- The webhook-id: the same for every attempt, so receivers can de-duplicate.
    id              TEXT PRIMARY KEY,
    watch_id        INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    given_up_at     INTEGER,
    created_at      INTEGER NOT NULL
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Settings the server keeps for itself (the webhook signing secret).
CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
