-- What the fleet learned of how long jobs take: one row, the serialized `DurationEstimates` of the
-- genjob library (a versioned JSON object), as in SQLite's 0004. Each replica merges what it learned
-- into it under `SELECT … FOR UPDATE` (the row exists from the start, so there is always a row to
-- lock) and takes the merged result back: replicas learn from each other's finished jobs.
-- NULL: nothing learned yet.

CREATE TABLE learned (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    estimates  TEXT,
    updated_at BIGINT NOT NULL
);

INSERT INTO learned (id, estimates, updated_at) VALUES (1, NULL, 0);
