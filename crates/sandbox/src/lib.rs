//! A local server that imitates the Dreamina, Google Flow and token360 status APIs, for tests and demos.
//!
//! It answers the providers' job-status paths with their documented JSON shapes, on a
//! simulated clock that may run faster than real time, and can inject the faults clients
//! must survive.
//!
//! Per job, set in its [`JobSpec`] (or the JSON of `POST /_sandbox/jobs`):
//! - `outcome: stuck`: never finishes; a Dreamina job is failed (408) by the server's 1-hour sweep.
//! - `rate_limited`: the next N reads answer 429 with `Retry-After`.
//! - `retry_after`: a raw `Retry-After` value for those 429s, sent verbatim however absurd.
//! - `server_errors`: the next N reads answer 503.
//! - `hang_reads`: the next N reads are accepted and never answered (held until shutdown).
//! - `stale_reads`: N reads after the first finished one show the record from before it finished.
//! - `record_lag`: every read renders the job as it was a fixed simulated time ago.
//! - `slow`: every read is delayed by a fixed real time.
//! - `truncate_download`: output downloads announce their full length and break off half-way.
//! - `expire_urls_after`: output URLs expire (403) after a simulated lifetime.
//!
//! For the Dreamina listing (`/v1/dreamina/scheduler`), one [`ListingFault`] at a time, set with
//! [`Sandbox::set_listing_fault`] or `POST /_sandbox/listing` (`{"fault":"frozen"}`, ...):
//! - `frozen`: answers forever the snapshot taken when the fault was set.
//! - `lagging`: answers what it would have answered a fixed simulated time ago.
//! - `failing`: answers an error status (429, 503, ...) for the next N requests or for all.
//! - `hang`: accepts requests and never answers them (held until shutdown).
//! - `elapsed_ahead`: overstates every entry's `elapsedSeconds` by a fixed amount.
//!
//! `GET /_sandbox/stats` (and [`Sandbox::stats`]) counts requests and the faulty answers given.
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
