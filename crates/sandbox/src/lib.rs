//! A local server that imitates the Dreamina, Google Flow and token360 status APIs, for tests and demos.
//!
//! It answers the providers' job-status paths with their documented JSON shapes, on a
//! simulated clock that may run faster than real time, calls back the jobs' webhooks as the
//! providers do, and can inject the faults clients must survive.
//!
//! [`SandboxConfig::pace`] says what `speed` speeds up: [`Pace::SimulatedClock`] (the default) runs
//! the whole clock faster, for clients that share [`Sandbox::clock`]; [`Pace::RealClock`] keeps the
//! real clock and runs only the jobs faster, so records and ids agree with a client on the real
//! clock (`genjob sandbox` runs so, for other SDKs and users' own tests).
//!
//! ```no_run
//! use genjob_sandbox::{JobSpec, Sandbox, SandboxConfig};
//!
//! # async fn example() -> Result<(), genjob_sandbox::SandboxError> {
//! let config = SandboxConfig { speed: 100.0, token: Some("test-token".into()), ..SandboxConfig::default() };
//! let sandbox = Sandbox::start(([127, 0, 0, 1], 0).into(), config).await?;
//! let id = sandbox.add_job(JobSpec::dreamina_video());
//! println!("GET {}/v1/dreamina/videos/{id}", sandbox.base_url());
//! // Callbacks go to the job's reply URL as it runs; a forged one goes right away.
//! let hooked = sandbox.add_job(JobSpec::token360_video().with_reply_url("http://127.0.0.1:8080/hook"));
//! sandbox.send_forged_callback(&hooked, "completed").await?;
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Endpoints (all but `/files` need `Authorization: Bearer <token>` when the sandbox has a token;
//! the scheme in any case, `bearer` too):
//! - `GET /v1/dreamina/videos/{jobid}`, `GET /v1/dreamina/images/{jobid}`: Dreamina job records;
//!   404 `{"error": "Job not found"}` for a job older than 30 days or another user's.
//! - `GET /v1/dreamina/scheduler`: the Dreamina video jobs still executing, by account.
//! - `GET /v1/google-flow/jobs/{jobId}`: Google Flow job records; 400 `Invalid job ID format` for
//!   an id that does not end in `-bot:google-flow` (ids of other layouts are looked up), 403
//!   `Access denied - job belongs to different user` for another user's job, 410 `Job has expired`
//!   for a job older than 7 days (seed 003).
//! - `GET /v1/videos/{video_id}`: token360 video objects, in token360's documented shape or, for a
//!   job made [`with_openai_style`](JobSpec::with_openai_style), OpenAI's own (no URL).
//! - `GET /v1/videos/{video_id}/content`: for a documented-style video, `{"url", "video_id",
//!   "expires_in": 3600}` once it is completed (the link lasts the job's `expire_urls_after` instead,
//!   when set); for an OpenAI-style one, the file's bytes as OpenAI answers them, per `?variant=`
//!   (`video` `video/mp4` by default, `thumbnail` `image/webp`, `spritesheet` `image/jpeg`; 400 for
//!   another), whatever the request accepts. Before completion 400
//!   `invalid_request_error` (`video_not_ready`, "Video is not ready yet. Current status:
//!   in_progress"), and 400 `video_failed` for a failed one.
//! - `GET /v1/videos?limit=20&after=<id>`: the token360 videos, newest first (later-added first
//!   among equal creation times), in OpenAI's list envelope (`object`, `data`, `has_more`,
//!   `first_id`, `last_id`), each video as its record would read at that moment; `limit` defaults
//!   to 20 and is clamped to 100, below 1 is a 400, and an `after` that names no listed video is a 400.
//! - `GET /files/{name}?Expires=...`: the output files the records and `/content` link to.
//! - `POST /_sandbox/jobs` (a [`JobSpec`] as JSON; answers 201 `{"id"}`), `POST /_sandbox/listing`,
//!   `POST /_sandbox/callbacks` and `GET /_sandbox/stats`: control endpoints, described below.
//!
//! Errors come in each provider's envelope: `{"error": "..."}` for useapi.net's, OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` for token360's.
//!
//! Callbacks: a job with a `reply_url` gets POSTs there (`Content-Type: application/json`, unsigned,
//! no token, redirects not followed), each body exactly the job's record (as `GET` renders it) as of
//! the status change, sent when that change happens in simulated time (at speed 20, a job finishing
//! at sim t = 100 s calls back at real ≈ 5 s):
//! - Google Flow: on every status change, `started` then `completed` or `failed` (a job's first
//!   state, `created`, is no change and is not sent); one attempt each.
//! - Dreamina: once, on `completed` or `failed` (the 1-hour sweep's 408 included); one attempt.
//! - token360: once, on `completed` or `failed`, also echoed as `parameters.callback_url` in its
//!   record; up to 3 attempts, the 2nd 1 s and the 3rd 3 s (simulated) after the previous one failed
//!   (a non-2xx answer, no answer, or no connection).
//!
//! Every attempt waits at most 30 s of simulated time (30 s of real time at most) for its answer.
//! One background task sends them all from a time-ordered queue, at most 64 attempts at once, so a
//! slow receiver holds up neither request handling nor other jobs' callbacks. A change that happened
//! before the job was added (a job added with an `age`) is not sent.
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
//! - `other_user` (not a fault): the job is another user's (403 on Google Flow, 404 elsewhere,
//!   in no listing).
//!
//! Durations in that JSON are seconds or text: `"1m 45s"`, `"PT2M"`, and for ages `"8d"` or
//! `"1w 2d"` (a day is 24 hours), so a job past its retention is one `"age"` away.
//!
//! Callback faults, also per job, meet the job's callbacks and never its reads:
//! - `callback_lost`: the callbacks are never sent.
//! - `callback_duplicates`: every callback is sent N extra times at the same moment, each copy an
//!   attempt of its own (and, for token360, retried on its own).
//! - `callback_delay`: every callback is sent that much simulated time after its change, its body
//!   still the record as of the change.
//!
//! Forged callbacks, on request: [`Sandbox::send_forged_callback`] (or
//! [`send_forged_callback_to`](Sandbox::send_forged_callback_to)) and `POST /_sandbox/callbacks`
//! (`{"id":"<job id>","status":"completed"}`, optionally `"to":"<url>"` instead of the job's
//! `reply_url`) post right away, whatever the job's true state, a body shaped like the job's record
//! claiming that status (`completed` with output URLs under `http://forged.invalid/`, `failed` with
//! an error, any other word verbatim in a running or waiting record). The endpoint answers 204 once
//! the receiver answered 2xx, 404 for an unknown job, 400 without a URL to post to, 502 when the
//! receiver answered otherwise or not at all.
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
//! ([`RequestStats`]: record reads, list pages and `/content` requests apart, all in `total`), and
//! the callbacks sent (`callbacks_sent`, `callbacks_failed`, `callbacks_forged`; not in `total`).
//!
//! Job state lives in one table and each record is computed from simulated time when it is
//! read, so thousands of jobs cost no background work; their callbacks are planned when they are
//! added and wait in one queue until due.

mod access;
mod callbacks;
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

pub use clock::{Pace, SimClock};
pub use error::SandboxError;
pub use listing::ListingFault;
pub use server::{Sandbox, SandboxConfig, serve_forever};
pub use spec::{Failure, JobKind, JobSpec, Outcome, demo_jobs};
pub use stats::RequestStats;
