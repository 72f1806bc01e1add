-- What the server learned of how long jobs take: one row, the serialized `DurationEstimates` of
-- the genjob library (a versioned JSON object), merged into and read back by the server now and
-- then, so a restarted server keeps what it learned. NULL: nothing learned yet.

CREATE TABLE learned (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    estimates  TEXT,
    updated_at INTEGER NOT NULL
);

INSERT INTO learned (id, estimates, updated_at) VALUES (1, NULL, 0);
