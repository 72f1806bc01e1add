//! What the watcher does when a request fails: a value the user can swap.
//!
//! The watcher's requests are single attempts (the sources never retry on their own), so this
//! policy is the one place that decides whether a failed read is tried again — and the request
//! budget therefore bounds the real number of requests, even in a 429 storm.

use crate::budget::RequestKind;
use genjob_transport::TransportError;
use std::fmt::Debug;
use std::time::Duration;

/// The facts an [`ErrorPolicy`] decides on.
#[derive(Debug)]
#[non_exhaustive]
pub struct ErrorContext<'a> {
    /// The error of the last attempt.
    pub error: &'a TransportError,
    /// Failed attempts in a row for this job, the last one included (at least 1).
    pub attempts: u32,
    /// Time since the first failure of this run of failures.
    pub failing_for: Duration,
    /// What the failed request was for.
    pub kind: RequestKind,
}

/// What to do after a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorDecision {
    /// Try again later (after the back-off and any `Retry-After`).
    Retry,
    /// Stop: the job ends with this error.
    GiveUp,
}

/// Decides whether a failed request is tried again. Implement it to change what is retried and for how long.
pub trait ErrorPolicy: Send + Sync + Debug {
    /// The decision for one failure.
    fn on_error(&self, ctx: &ErrorContext<'_>) -> ErrorDecision;
}

/// The default policy: retries what can succeed later (429, 5xx except 596, timeouts, broken
/// connections), within an attempt limit and a time limit; gives up at once on anything else
/// (401, 403, 404, 410, 596, invalid answers). A job's record is worth more patience than one of its
/// files: downloads, file look-ups and link refreshes have their own, smaller attempt limit.
///
/// ```
/// use genjob::RetryTransient;
/// use std::time::Duration;
/// let patient = RetryTransient::new().with_attempt_limit(None).with_time_limit(Some(Duration::from_secs(3600)));
/// # let _ = patient;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryTransient {
    /// Give up after this many failed attempts in a row (`None`: no limit).
    pub attempt_limit: Option<u32>,
    /// Give up once failures have lasted this long (`None`: no limit).
    pub time_limit: Option<Duration>,
    /// The attempt limit of a download, a look-up of a job's files or a refresh of an expired link.
    pub file_attempt_limit: Option<u32>,
}

impl RetryTransient {
    /// Ten attempts in a row, within ten minutes of the first failure; four for a file.
    pub fn new() -> Self {
        Self { attempt_limit: Some(10), time_limit: Some(Duration::from_secs(600)), file_attempt_limit: Some(4) }
    }

    /// Sets the attempt limit of downloads, file look-ups and link refreshes.
    pub fn with_file_attempt_limit(mut self, limit: Option<u32>) -> Self {
        self.file_attempt_limit = limit;
        self
    }

    /// Sets the attempt limit.
    pub fn with_attempt_limit(mut self, limit: Option<u32>) -> Self {
        self.attempt_limit = limit;
        self
    }

    /// Sets the time limit.
    pub fn with_time_limit(mut self, limit: Option<Duration>) -> Self {
        self.time_limit = limit;
        self
    }
}

impl Default for RetryTransient {
    fn default() -> Self {
        Self::new()
    }
}

impl ErrorPolicy for RetryTransient {
    fn on_error(&self, ctx: &ErrorContext<'_>) -> ErrorDecision {
        let limit = match ctx.kind {
            RequestKind::Record | RequestKind::Listing => self.attempt_limit,
            _ => self.file_attempt_limit.or(self.attempt_limit),
        };
        let within_attempts = limit.is_none_or(|limit| ctx.attempts < limit);
        let within_time = self.time_limit.is_none_or(|limit| ctx.failing_for < limit);
        if ctx.error.is_retryable() && within_attempts && within_time {
            ErrorDecision::Retry
        } else {
            ErrorDecision::GiveUp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(policy: &RetryTransient, error: &TransportError, attempts: u32, secs: u64) -> ErrorDecision {
        policy.on_error(&ErrorContext {
            error,
            attempts,
            failing_for: Duration::from_secs(secs),
            kind: RequestKind::Record,
        })
    }

    #[test]
    fn transient_errors_are_retried_within_the_limits_and_others_never() {
        let policy = RetryTransient::new();
        let timeout = TransportError::timeout(Duration::from_secs(30)).with_attempts(1);
        assert_eq!(decide(&policy, &timeout, 1, 0), ErrorDecision::Retry);
        assert_eq!(decide(&policy, &timeout, 9, 500), ErrorDecision::Retry);
        assert_eq!(decide(&policy, &timeout, 10, 0), ErrorDecision::GiveUp);
        assert_eq!(decide(&policy, &timeout, 2, 600), ErrorDecision::GiveUp);
        let config = TransportError::config("bad");
        assert_eq!(decide(&policy, &config, 1, 0), ErrorDecision::GiveUp);
        let file =
            ErrorContext { error: &timeout, attempts: 4, failing_for: Duration::ZERO, kind: RequestKind::Download };
        assert_eq!(policy.on_error(&file), ErrorDecision::GiveUp, "a file gets four attempts");
        let unlimited = RetryTransient::new().with_attempt_limit(None).with_time_limit(None);
        assert_eq!(decide(&unlimited, &timeout, u32::MAX, u64::MAX / 2), ErrorDecision::Retry);
    }
}
