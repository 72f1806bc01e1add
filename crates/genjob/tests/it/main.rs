//! The genjob library against real servers on 127.0.0.1 and scripted sources: one test binary for all.

/// A wait long enough never to end a test by itself: tests that want a deadline state their own.
pub const NO_LIMIT: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

mod callbacks;
mod custom_provider;
mod hostile;
mod learning;
mod newcomer;
mod pacing;
mod watch;
mod watch_properties;
