//! Wait for AI media-generation jobs — one or ten thousand — across Dreamina, Google Flow and token360.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use genjob::{Watcher, WatchTarget};
//!
//! let dreamina = genjob_dreamina::DreaminaClient::from_env()?;
//! let watcher = Watcher::new().with_source(Arc::new(dreamina));
//! let id = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina".parse()?;
//! let finished = watcher.wait(WatchTarget::from_id(id).ok_or("unknown provider")?).await?;
//! for output in &finished.job.outputs {
//!     println!("{:?}: {}", output.kind, output.url);
//! }
//! # Ok(()) }
//! ```
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
mod options;
mod outcome;
pub mod policy;
pub mod providers;
mod requests;
mod target;
mod time;
mod watch;
mod watcher;

pub use budget::{RequestBudget, RequestKind};
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
pub use options::WatchOptions;
pub use outcome::{
    FinishedJob, JobDownloaded, JobEnded, JobProgress, JobSnapshot, WaitError, WatchEvent, failure_summary,
};
pub use policy::{AdaptiveSchedule, FixedInterval, PollPolicy};
pub use providers::ConfigError;
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
