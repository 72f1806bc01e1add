//! A local server that imitates the Dreamina, Google Flow and token360 status APIs, for tests and demos.
//!
//! It answers the providers' job-status paths with their documented JSON shapes, on a
//! simulated clock that may run faster than real time, and can inject the faults clients
//! must survive.
//!
//! ```no_run
//! use genjob_sandbox::{JobSpec, Sandbox, SandboxConfig};
//!
//! # async fn example() -> Result<(), genjob_sandbox::SandboxError> {
//! let config = SandboxConfig { speed: 100.0, token: Some("test-token".into()), ..SandboxConfig::default() };
//! let sandbox = Sandbox::start(([127, 0, 0, 1], 0).into(), config).await?;
//! let id = sandbox.add_job(JobSpec::dreamina_video());
//! println!("GET {}/v1/dreamina/videos/{id}", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Endpoints (all but `/files` need `Authorization: Bearer <token>` when the sandbox has a token):
//! - `GET /v1/dreamina/videos/{jobid}`, `GET /v1/dreamina/images/{jobid}`: Dreamina job records.
//! - `GET /v1/dreamina/scheduler`: the Dreamina video jobs still executing, by account.
//! - `GET /v1/google-flow/jobs/{jobId}`: Google Flow job records.
//! - `GET /v1/videos/{video_id}`: token360 video objects, in token360's documented shape or, for a
//!   job made [`with_openai_style`](JobSpec::with_openai_style), OpenAI's own (no URL).
//! - `GET /v1/videos/{video_id}/content`: `{"url", "video_id", "expires_in": 3600}` once the video
//!   is completed (the link lasts the job's `expire_urls_after` instead, when set); before that 400
//!   `invalid_request_error` (`video_not_ready`, "Video is not ready yet. Current status:
//!   in_progress"), and 400 `video_failed` for a failed one.
//! - `GET /v1/videos?limit=20&after=<id>`: the token360 videos, newest first (later-added first
//!   among equal creation times), in OpenAI's list envelope (`object`, `data`, `has_more`,
//!   `first_id`, `last_id`), each video as its record would read at that moment; `limit` defaults
//!   to 20 and is clamped to 100, below 1 is a 400, and an `after` that names no listed video is a 400.
//! - `GET /files/{name}?Expires=...`: the output files the records and `/content` link to.
//!
//! Errors come in each provider's envelope: `{"error": "..."}` for useapi.net's, OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` for token360's.
//!
//! Per job, set in its [`JobSpec`] (or the JSON of `POST /_sandbox/jobs`); the read faults meet
//! every read of the job, `/content` requests included, but never its entries in a listing:
//! - `outcome: stuck`: never finishes; a Dreamina job is failed (408) by the server's 1-hour sweep.
//! - `rate_limited`: the next N reads answer 429 with `Retry-After`.
//! - `retry_after`: a raw `Retry-After` value for those 429s, sent verbatim however absurd.
//! - `server_errors`: the next N reads answer 503.
//! - `hang_reads`: the next N reads are accepted and never answered (held until shutdown).
//! - `stale_reads`: N reads after the first finished one show the record from before it finished.
//! - `record_lag`: every read renders the job as it was a fixed simulated time ago.
//! - `slow`: every read is delayed by a fixed real time.
//! - `truncate_download`: output downloads announce their full length and break off half-way.
//! - `expire_urls_after`: output URLs expire (403) after a simulated lifetime (`/content` links too,
//!   whose `expires_in` then says so).
//! - `openai_style` (not a fault): a token360 task is rendered as OpenAI's video object.
//!
//! For each listing, one [`ListingFault`] at a time: the Dreamina scheduler's with
//! [`Sandbox::set_listing_fault`] or `POST /_sandbox/listing` (`{"fault":"frozen"}`, ...), token360's
//! video list's, independently, with [`Sandbox::set_video_list_fault`] or the same endpoint with
//! `"listing":"videos"` (`{"listing":"videos","fault":"hang"}`):
//! - `frozen`: answers forever the snapshot taken when the fault was set (the video list pages
//!   through its snapshot).
//! - `lagging`: answers what it would have answered a fixed simulated time ago.
//! - `failing`: answers an error status (429, 503, ...) for the next N requests or for all.
//! - `hang`: accepts requests and never answers them (held until shutdown).
//! - `elapsed_ahead`: overstates every scheduler entry's `elapsedSeconds` by a fixed amount (the
//!   video list shows no ages and answers as usual).
//!
//! `GET /_sandbox/stats` (and [`Sandbox::stats`]) counts requests and the faulty answers given
//! ([`RequestStats`]: record reads, list pages and `/content` requests apart, all in `total`).
//!
//! Job state lives in one table and each record is computed from simulated time when it is
//! read, so thousands of jobs cost no background work.

mod clock;
mod error;
mod files;
mod listing;
mod render;
mod server;
mod spec;
mod stats;
mod store;
mod token360;

pub use clock::SimClock;
pub use error::SandboxError;
pub use listing::ListingFault;
pub use server::{Sandbox, SandboxConfig, serve_forever};
pub use spec::{Failure, JobKind, JobSpec, Outcome, demo_jobs};
pub use stats::RequestStats;
