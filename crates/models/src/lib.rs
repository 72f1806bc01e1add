//! Typed, lossless records of AI media-generation job APIs, the job-id parser, the status state
//! machine and the normalized job view — pure data, no IO, no clock reads.
//!
//! ```
//! use genjob_models::{Endpoint, JobStatus, ProviderRecord};
//!
//! let body = br#"{"id": "video_123", "object": "video", "status": "in_progress", "progress": 40}"#;
//! let record = ProviderRecord::from_slice(Endpoint::Token360Videos, body)?;
//! let job = record.normalize();
//! assert_eq!(job.status, JobStatus::Running);
//! assert_eq!(job.progress, Some(40));
//! # Ok::<(), genjob_models::DecodeError>(())
//! ```
//!
//! Everything here is a pure function of its inputs: where time matters (the year of a Dreamina id,
//! the 1-hour rule, retention) the caller passes "now" in, so the crate works the same in a webhook
//! handler, a poller or a test running in virtual time.

mod callback;
pub mod dreamina;
pub mod error_body;
mod field;
pub mod google_flow;
mod id;
mod job;
mod open_enum;
mod profile;
mod record;
mod time;
pub mod token360;
mod tracker;
pub mod webhook;

pub use callback::{CallbackClaim, decode_callback};
pub use dreamina::{DreaminaImageJob, DreaminaJob, DreaminaVideoJob, ExecutingJob, ExecutingJobs};
pub use error_body::ErrorBody;
pub use field::Field;
pub use google_flow::GoogleFlowJob;
pub use id::{
    CAPTURED_EMAIL_PLACEHOLDER, DreaminaJobId, Endpoint, GoogleFlowJobId, JobId, JobIdForm, JobIdParseError, retention,
};
pub use job::{ErrorCategory, Job, JobError, JobKind, JobStatus, Output, OutputKind, Provider, UnknownProvider};
pub use profile::RequestProfile;
pub use record::{CustomRecord, DecodeError, ProviderRecord, decode_executing, decode_last_key_wins, detect_endpoint};
pub use time::RawTime;
pub use token360::{Token360ContentUrl, Token360Video, Token360VideoList};
pub use tracker::{CLOCK_SKEW_ALLOWANCE, DREAMINA_CREATED_TIMEOUT, Observation, StatusTracker};
