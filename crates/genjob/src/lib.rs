//! Wait for AI media-generation jobs — one or ten thousand — across Dreamina, Google Flow and token360.
//!
//! `genjob` alone is enough (with tokio for `main`): the adapters come with it (cargo features
//! `dreamina`, `google-flow`, `token360`, on by default), and sources are built from the environment.
//!
//! ```no_run
//! use genjob::{DownloadPlan, StreamExt, WaitError, WatchEvent, WatchTarget, Watcher};
//! use std::time::Duration;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A source for every provider whose token is set: USEAPI_TOKEN, TOKEN360_API_KEY.
//!     let watcher = Watcher::from_env()?;
//!     let targets = std::env::args().skip(1).map(|id| WatchTarget::resolve(&id, None)).collect::<Result<Vec<_>, _>>()?;
//!     // The directory is created (or refused) now, before any waiting.
//!     let mut watch = watcher.watch(targets).with_timeout(Duration::from_secs(600)).with_downloads(DownloadPlan::new("outputs"))?;
//!     while let Some(event) = watch.next().await {
//!         match event {
//!             WatchEvent::Progress(progress) => println!("… {progress}"),
//!             WatchEvent::Ended(ended) => match ended.result {
//!                 Ok(done) => println!("✓ {} after {} reads", ended.id, done.polls),
//!                 Err(WaitError::JobFailed(failed)) => println!("✗ {}", genjob::failure_summary(&failed.job)),
//!                 Err(other) => println!("✗ {other}"),
//!             },
//!             WatchEvent::Downloaded(files) => println!("↓ {:?}", files.result.map(|f| f.len())),
//!             _ => {}
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! The same program is `examples/wait_and_download.rs`, which CI runs against the sandbox
//! (`crates/genjob/tests/it/newcomer.rs`). For one job, [`Watcher::wait`] states its deadline on the
//! call: `watcher.wait(target, max_wait).await?` — a failed job is [`WaitError::JobFailed`], the
//! deadline [`WaitError::TimedOut`], trouble that outlasted the retries [`WaitError::RetriesExhausted`].
//!
//! The [`Watcher`] polls on an adaptive schedule ([`policy::AdaptiveSchedule`]) computed from the
//! job's kind, age, progress and what it learned about how long such jobs take ([`learn`]), folds every answer through the models' [`StatusTracker`] (stale
//! reads never regress a job; the Dreamina 1-hour rule fails a stuck job locally), shares one
//! request budget per provider, and, where a provider lists its executing jobs in one request
//! (Dreamina's `/scheduler`), checks a whole batch with one request per tick.

mod budget;
#[cfg(feature = "callbacks")]
pub mod callbacks;
mod download;
mod env;
mod error_policy;
pub mod learn;
mod lock;
mod options;
mod outcome;
pub mod policy;
pub mod providers;
mod requests;
mod target;
mod time;
mod watch;
mod watcher;

pub use budget::{PACE_HEADROOM, RequestBudget, RequestKind, SharedPace};
pub use download::{DownloadError, DownloadPlan, Interruption, output_stem};
pub use env::{Environment, ScaledEnvironment, TokioEnvironment};
pub use error_policy::{ErrorContext, ErrorDecision, ErrorPolicy, RetryTransient};
/// Stream helpers for a [`Watch`] (`next`, `collect`, `filter_map` …), so no other crate is needed to drive one.
pub use futures::{Stream, StreamExt};
pub use genjob_models::{
    self as models, Endpoint, ErrorCategory, Job, JobError, JobId, JobKind, JobStatus, Output, OutputKind, Provider,
    ProviderRecord, StatusTracker,
};
// The adapter crates of the enabled features, as `genjob::dreamina` and so on.
pub use genjob_transport::{
    self as transport, ApiToken, DownloadConfig, Downloaded, Downloader, ErrorKind, FetchedJob, JobListing, JobSource,
    ListingEntry, ListingPage, ListingScope, TransportError,
};
pub use learn::{DurationEstimates, DurationKey, FileStore, LearnedStore, SharedEstimates, StoreError};
pub use lock::lock_within;
pub use options::WatchOptions;
pub use outcome::{
    FinishedJob, JobDownloaded, JobEnded, JobProgress, JobSnapshot, WaitError, WatchEvent, failure_summary,
};
pub use policy::{AdaptiveSchedule, FixedInterval, PollPolicy};
pub use providers::ConfigError;
// Empty in a build without any adapter feature; the list of adapters lives in providers.rs alone.
#[allow(unused_imports)]
pub use providers::adapters::*;
pub use requests::RequestFailure;
pub use target::{TargetError, WatchTarget};
pub use tokio_util::sync::CancellationToken;
pub use watch::Watch;
pub use watcher::Watcher;

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
