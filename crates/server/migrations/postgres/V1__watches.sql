-- The PostgreSQL store: the same rows as SQLite's (0001_watches.sql), plus what several replicas
-- share: the lease of each watch, the replicas alive, and the request pace of the fleet.
-- Times are Unix milliseconds (UTC).

CREATE TABLE watches (
    id            BIGSERIAL PRIMARY KEY,
    job_id        TEXT NOT NULL UNIQUE,
    provider      TEXT NOT NULL,
    webhook_url   TEXT,
    download      BOOLEAN NOT NULL DEFAULT FALSE,
    -- watching | completed | failed | error
    state         TEXT NOT NULL DEFAULT 'watching',
    job_status    TEXT,
    progress      INTEGER,
    polls         INTEGER NOT NULL DEFAULT 0,
    job           TEXT,
    error         TEXT,
    next_check_at BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    -- The replica that watches it, until when: another may take it once the lease ran out.
    leased_by     TEXT,
    lease_until   BIGINT,
    -- A callback asked (at any replica) for the record to be read now; the holder clears it.
    woken_at      BIGINT,
    -- Outputs kept by the server (download: true): NULL | pending | kept | failed, as in SQLite's 0002.
    download_state    TEXT,
    download_attempts INTEGER NOT NULL DEFAULT 0,
    download_error    TEXT
);

CREATE INDEX watches_state ON watches (state, id);
CREATE INDEX watches_unleased ON watches (lease_until, next_check_at)
    WHERE state = 'watching' OR download_state = 'pending';
CREATE INDEX watches_leased_by ON watches (leased_by) WHERE state = 'watching' OR download_state = 'pending';

CREATE TABLE watch_labels (
    watch_id BIGINT NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (watch_id, key)
);

CREATE INDEX watch_labels_key_value ON watch_labels (key, value);

CREATE TABLE outputs (
    watch_id BIGINT NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    url      TEXT NOT NULL,
    path     TEXT,
    PRIMARY KEY (watch_id, position)
);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    watch_id        BIGINT NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT,
    given_up_at     BIGINT,
    created_at      BIGINT NOT NULL
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Each replica's heartbeat: the fair share of watches is counted over the replicas seen lately.
CREATE TABLE replicas (
    id      TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);

-- The fleet's request pace: per provider lane, the time the next request may go.
CREATE TABLE request_pace (
    lane    TEXT PRIMARY KEY,
    next_at BIGINT NOT NULL
);

-- The event log behind `GET /v1/events`, as in SQLite's 0003. Writers take a transaction-level
-- advisory lock before appending, so ids become visible in increasing order: a reader reading
-- after its cursor skips none.
CREATE TABLE events (
    id         BIGSERIAL PRIMARY KEY,
    job_id     TEXT NOT NULL,
    type       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX events_job ON events (job_id, id);
CREATE INDEX events_created ON events (created_at);
