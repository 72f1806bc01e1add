//! HTTP transport shared by the genjob provider adapters: one pooled client, typed errors,
//! retries, size limits, secret redaction.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use genjob_transport::{ApiToken, HttpClient, TransportConfig};
//!
//! let token = ApiToken::new(std::env::var("USEAPI_TOKEN")?)?;
//! let config = TransportConfig::new("https://api.useapi.net/v1/dreamina/".parse()?, token)
//!     .with_token_hint("USEAPI_TOKEN");
//! let client = HttpClient::new(config)?;
//! let job = client
//!     .get_json::<serde_json::Value>(&["videos", "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina"])
//!     .await?;
//! println!("HTTP {} after {} attempt(s): {}", job.status, job.attempts, job.value["status"]);
//! # Ok(())
//! # }
//! ```
//!
//! Every adapter reads through [`HttpClient::get_json`], which validates and percent-encodes each
//! path segment, sends the token as a Bearer header, retries what can succeed later
//! ([`RetryPolicy`]), caps the body size while streaming, and turns failures into
//! [`TransportError`] with the provider's own message. [`HttpClient::download`] fetches output
//! files from signed URLs without the token. reqwest stays an implementation detail: none of its
//! types appear in this API.

mod client;
mod config;
mod download;
mod error;
mod from_env;
mod path;
mod source;
mod token;

pub use client::{Fetched, HttpClient};
pub use config::{DEFAULT_MAX_DOWNLOAD_SIZE, DEFAULT_MAX_RESPONSE_SIZE, RetryPolicy, TransportConfig};
pub use download::{DownloadConfig, Downloaded, Downloader, FetchedFile, PersistError};
pub use error::{ErrorKind, ProviderMessage, TransportError};
pub use from_env::EnvNames;
pub use source::{Attempts, FetchedJob, JobListing, JobSource, ListingEntry, ListingScope};
pub use token::ApiToken;
