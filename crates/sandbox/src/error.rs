//! Why the sandbox could not start, keep running, or take a fault.

use std::io;
use std::net::SocketAddr;

/// An error starting or running the sandbox server, or setting one of its faults.
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
    /// The server stopped on its own before it was asked to.
    #[error("the sandbox server stopped unexpectedly: {0}; start it again")]
    Server(io::Error),
}
