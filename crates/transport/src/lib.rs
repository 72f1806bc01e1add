//! HTTP transport shared by the genjob provider adapters: one pooled client, single attempts,
//! typed errors, size limits, secret redaction.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use genjob_transport::{ApiToken, HttpClient, TransportConfig};
//!
//! let token = ApiToken::new(std::env::var("EXAMPLE_TOKEN")?)?;
//! let config = TransportConfig::new("https://api.example.com/v1/".parse()?, token)
//!     .with_token_hint("EXAMPLE_TOKEN");
//! let client = HttpClient::new(config)?;
//! let job = client
//!     .get_json::<serde_json::Value>(&["jobs", "j0223140530123456789v-u12345-CA:user@example.com"])
//!     .await?;
//! println!("HTTP {} after {} attempt(s): {}", job.status, job.attempts, job.value["status"]);
//! # Ok(())
//! # }
//! ```
//!
//! The transport knows HTTP, not providers: each adapter crate owns its paths, decoding and
//! capabilities, and implements [`JobSource`] (and [`JobListing`] where its provider lists jobs).
//! Adapters read through [`HttpClient::get_json`] (or `get_json_query`), which validates and
//! percent-encodes each path segment, sends the token as a Bearer header, sends **one attempt**
//! (whether to try again is the caller's decision: in genjob, the watcher's error policy alone),
//! caps the body size while streaming, and turns failures into a [`TransportError`] with the
//! server's own message and an [`ErrorKind`] that says whether trying again can help. A [`Downloader`],
//! a separate client that never holds a token, fetches output files from signed URLs. reqwest stays
//! an implementation detail: none of its types appear in this API.

mod client;
mod config;
mod download;
mod error;
mod from_env;
mod path;
mod source;
mod token;

pub use client::{Fetched, HttpClient, JsonOrFile};
pub use config::{DEFAULT_MAX_DOWNLOAD_SIZE, DEFAULT_MAX_RESPONSE_SIZE, ServerHints, TransportConfig};
pub use download::{DownloadConfig, Downloaded, Downloader, FetchedFile, PersistError};
pub use error::{ErrorKind, ProviderMessage, TransportError};
pub use from_env::EnvNames;
pub use source::{
    FetchedJob, FinishWindow, JobListing, JobSource, ListingEntry, ListingPage, ListingScope, ServedOutput,
    ensure_own_id,
};
pub use token::ApiToken;
