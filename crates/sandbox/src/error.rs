//! Why the sandbox could not start, keep running, take a fault, or send a forged callback.

use std::io;
use std::net::SocketAddr;

/// An error starting or running the sandbox server, setting one of its faults, or forging a callback.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}; choose a free port (or port 0 for any free one)")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// Why the operating system refused it.
        source: io::Error,
    },
    /// The clock speed cannot drive a clock.
    #[error("clock speed must be a finite number greater than 0, got {speed}; use 1 for real time")]
    InvalidSpeed {
        /// The rejected speed.
        speed: f64,
    },
    /// A failing listing fault was given a status that is not an HTTP error.
    #[error("a failing listing must answer an error status, got {status}; use 400–599 (e.g. 503 or 429)")]
    InvalidListingStatus {
        /// The rejected status.
        status: u16,
    },
    /// No job has this id.
    #[error("no sandbox job has id {id:?}; use an id that add_job or POST /_sandbox/jobs returned")]
    UnknownJob {
        /// The id asked for.
        id: String,
    },
    /// A callback was asked for a job that has no `reply_url`, and no other URL was given.
    #[error("job {id:?} has no reply_url to call back; give the job one, or name the URL to send to")]
    NoCallbackUrl {
        /// The job's id.
        id: String,
    },
    /// A callback URL is not an absolute `http` or `https` URL.
    #[error("cannot send a callback to {url:?}: {reason}; give an absolute http:// or https:// URL")]
    InvalidCallbackUrl {
        /// The rejected URL.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A callback was sent but its receiver did not answer 2xx.
    #[error("the callback to {url} was not delivered: {reason}; check that the receiver listens there and answers 2xx")]
    CallbackNotDelivered {
        /// Where the callback was sent.
        url: String,
        /// The receiver's status, or why no answer came.
        reason: String,
    },
    /// The HTTP client that sends callbacks could not be built.
    #[error("cannot build the callback HTTP client: {reason}; check the TLS setup of this machine")]
    CallbackClient {
        /// Why the client could not be built.
        reason: String,
    },
    /// The server stopped on its own before it was asked to.
    #[error("the sandbox server stopped unexpectedly: {0}; start it again")]
    Server(io::Error),
}
