//! Request counters: what the sandbox was asked, which faulty answers it gave, and the callbacks it sent.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Request counts since the sandbox started (control endpoints are not counted), and the
/// callbacks it sent (not counted in `total`, which counts requests the sandbox received).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RequestStats {
    /// Requests to `/v1/dreamina/videos/{jobid}`.
    pub dreamina_videos: u64,
    /// Requests to `/v1/dreamina/images/{jobid}`.
    pub dreamina_images: u64,
    /// Requests to `/v1/dreamina/scheduler`.
    pub scheduler: u64,
    /// Requests to `/v1/google-flow/jobs/{jobId}`.
    pub google_flow: u64,
    /// Requests to `/v1/videos/{video_id}` (record reads only).
    pub token360: u64,
    /// Requests to `/v1/videos` (one per list page).
    pub token360_list: u64,
    /// Requests to `/v1/videos/{video_id}/content`.
    pub token360_content: u64,
    /// Requests to `/files/{name}`.
    pub files: u64,
    /// File requests that carried an `Authorization` header (a client leaking its token).
    pub files_with_authorization: u64,
    /// Answers with status 429.
    pub rate_limited_answers: u64,
    /// Answers with status 503.
    pub server_error_answers: u64,
    /// Answers with status 401.
    pub unauthorized_answers: u64,
    /// File requests refused with 403 because their URL had expired.
    pub expired_url_answers: u64,
    /// Requests held open without an answer (`hang_reads` of a job, or a hanging listing).
    pub hung_answers: u64,
    /// Job reads answered with the record from before the job finished (`stale_reads`).
    pub stale_answers: u64,
    /// All counted requests, including unknown paths.
    pub total: u64,
    /// Genuine callback attempts made: first tries, retries and duplicate copies alike.
    pub callbacks_sent: u64,
    /// Genuine callback attempts that got no 2xx (another status, no answer within the timeout, or no connection).
    pub callbacks_failed: u64,
    /// Forged callbacks posted on request, delivered or not (never in `callbacks_sent`).
    pub callbacks_forged: u64,
}

/// Live counters behind [`RequestStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) dreamina_videos: AtomicU64,
    pub(crate) dreamina_images: AtomicU64,
    pub(crate) scheduler: AtomicU64,
    pub(crate) google_flow: AtomicU64,
    pub(crate) token360: AtomicU64,
    pub(crate) token360_list: AtomicU64,
    pub(crate) token360_content: AtomicU64,
    pub(crate) files: AtomicU64,
    pub(crate) files_with_authorization: AtomicU64,
    pub(crate) rate_limited_answers: AtomicU64,
    pub(crate) server_error_answers: AtomicU64,
    pub(crate) unauthorized_answers: AtomicU64,
    pub(crate) expired_url_answers: AtomicU64,
    pub(crate) hung_answers: AtomicU64,
    pub(crate) stale_answers: AtomicU64,
    pub(crate) total: AtomicU64,
    pub(crate) callbacks_sent: AtomicU64,
    pub(crate) callbacks_failed: AtomicU64,
    pub(crate) callbacks_forged: AtomicU64,
}

/// Counts one more request or answer.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The counts as they stand now.
    pub(crate) fn snapshot(&self) -> RequestStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RequestStats {
            dreamina_videos: read(&self.dreamina_videos),
            dreamina_images: read(&self.dreamina_images),
            scheduler: read(&self.scheduler),
            google_flow: read(&self.google_flow),
            token360: read(&self.token360),
            token360_list: read(&self.token360_list),
            token360_content: read(&self.token360_content),
            files: read(&self.files),
            files_with_authorization: read(&self.files_with_authorization),
            rate_limited_answers: read(&self.rate_limited_answers),
            server_error_answers: read(&self.server_error_answers),
            unauthorized_answers: read(&self.unauthorized_answers),
            expired_url_answers: read(&self.expired_url_answers),
            hung_answers: read(&self.hung_answers),
            stale_answers: read(&self.stale_answers),
            total: read(&self.total),
            callbacks_sent: read(&self.callbacks_sent),
            callbacks_failed: read(&self.callbacks_failed),
            callbacks_forged: read(&self.callbacks_forged),
        }
    }
}
