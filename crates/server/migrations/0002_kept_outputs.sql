-- Outputs kept by the server (`download: true`): whether the files of a final watch are still to be
-- kept, how many tries it took, and why keeping them finally failed. A watch whose state is final
-- and whose download_state is 'pending' owes its files (and the webhook carrying their paths): a
-- start picks it up again, so a crash between the final state and the files loses nothing.

-- NULL (no download asked, or not final yet) | pending | kept | failed
ALTER TABLE watches ADD COLUMN download_state TEXT;
-- Download attempts that failed so far (bounded by the server's download retry schedule).
ALTER TABLE watches ADD COLUMN download_attempts INTEGER NOT NULL DEFAULT 0;
-- Why the last attempt failed; once download_state is 'failed', why the files were not kept.
ALTER TABLE watches ADD COLUMN download_error TEXT;

CREATE INDEX watches_download_pending ON watches (id) WHERE download_state = 'pending';
