//! Why the sandbox could not start or keep running.

use std::io;
use std::net::SocketAddr;

/// An error starting or running the sandbox server.
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
    /// The server stopped on its own before it was asked to.
    #[error("the sandbox server stopped unexpectedly: {0}; start it again")]
    Server(io::Error),
}
