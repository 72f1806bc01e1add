//! A local server that imitates the Dreamina, Google Flow and token360 status APIs, for tests and demos.
//!
//! It answers the providers' job-status paths with their documented JSON shapes, on a
//! simulated clock that may run faster than real time, and can inject the faults clients
//! must survive (429, 503, slow reads, cut-off downloads, expired URLs, stuck jobs).
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
mod store;

pub use clock::SimClock;
pub use error::SandboxError;
pub use listing::ListingFault;
pub use server::{RequestStats, Sandbox, SandboxConfig, serve_forever};
pub use spec::{Failure, JobKind, JobSpec, Outcome, demo_jobs};
