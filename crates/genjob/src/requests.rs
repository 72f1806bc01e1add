//! The one way a request for a job is sent: a slot of the provider's budget, the request timeout cut
//! by the deadline, and the error policy deciding every retry.
//!
//! A watch's record reads and listing pages are driven by its event loop ([`crate::watch`]); `read`,
//! `/content` look-ups, refreshes of expired links and downloads go through [`Watcher::send`]. Both
//! take slots from the same [`RequestBudget`](crate::RequestBudget), ask the same
//! [`ErrorPolicy`](crate::ErrorPolicy) and wait the same [`retry_delay`]: there is no other retry loop
//! (the transport and the adapters send single attempts).

use crate::budget::RequestKind;
use crate::env::Environment;
use crate::error_policy::{ErrorContext, ErrorDecision};
use crate::policy::MIN_INTERVAL;
use crate::time::{Deadline, after, since};
use crate::watcher::Watcher;
use genjob_models::Provider;
use genjob_transport::TransportError;
use jiff::Timestamp;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The longest back-off between two failed attempts of one job.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why a request ended without an answer: the three endings a caller must tell apart.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RequestFailure {
    /// The answer cannot change by asking again (401, 403, 404, an invalid answer …).
    #[error("{error}")]
    Refused {
        /// The server's answer or the local refusal.
        error: TransportError,
        /// Requests sent.
        attempts: u32,
    },
    /// Every attempt failed with trouble that may pass (429, 5xx, timeouts), and the error policy gave up.
    #[error("{error} (gave up after {attempts} attempts over {failing_for:.1?})")]
    RetriesExhausted {
        /// The last attempt's error.
        error: TransportError,
        /// Requests sent.
        attempts: u32,
        /// Time from the first failure to the last.
        failing_for: Duration,
    },
    /// The deadline passed before an answer came.
    #[error("the deadline passed{}", last.as_ref().map(|e| format!(" (last answer: {e})")).unwrap_or_default())]
    DeadlinePassed {
        /// The last failed attempt's error, if one failed.
        last: Option<TransportError>,
        /// Requests sent.
        attempts: u32,
    },
}

impl RequestFailure {
    /// The last error a server or the network gave, if any.
    pub fn error(&self) -> Option<&TransportError> {
        match self {
            Self::Refused { error, .. } | Self::RetriesExhausted { error, .. } => Some(error),
            Self::DeadlinePassed { last, .. } => last.as_ref(),
        }
    }

    /// Requests sent.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Refused { attempts, .. }
            | Self::RetriesExhausted { attempts, .. }
            | Self::DeadlinePassed { attempts, .. } => *attempts,
        }
    }
}

/// What the error policy makes of a failure: retry after a delay, or this ending.
pub(crate) enum Next {
    Retry(Duration),
    End(RequestFailure),
}

/// A run of failed attempts of one request (or one job's reads), reset by a success.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    /// Failed attempts in a row.
    pub count: u32,
    /// When the first of them failed.
    pub since: Option<Timestamp>,
    /// The last one's error.
    pub last: Option<TransportError>,
}

impl Failures {
    /// Counts one failure at `now`.
    pub fn record(&mut self, error: &TransportError, now: Timestamp) {
        self.count = self.count.saturating_add(1);
        self.since.get_or_insert(now);
        self.last = Some(error.clone());
    }

    /// Time since the first failure of the run.
    pub fn failing_for(&self, now: Timestamp) -> Duration {
        self.since.map_or(Duration::ZERO, |first| since(now, first))
    }
}

impl Watcher {
    /// Counts a failure and asks the error policy: a retry after the back-off (never before the
    /// server's capped `Retry-After`, never past `ceiling`), or the ending. A `Retry-After` pauses
    /// the whole provider.
    pub(crate) fn after_failure(
        &self,
        provider: Provider,
        kind: RequestKind,
        failures: &mut Failures,
        error: TransportError,
        ceiling: Duration,
        now: Timestamp,
    ) -> Next {
        failures.record(&error, now);
        let ctx =
            ErrorContext { error: &error, attempts: failures.count, failing_for: failures.failing_for(now), kind };
        if self.options.error_policy.on_error(&ctx) == ErrorDecision::GiveUp {
            let attempts = failures.count;
            return Next::End(if error.is_retryable() {
                RequestFailure::RetriesExhausted { failing_for: failures.failing_for(now), error, attempts }
            } else {
                RequestFailure::Refused { error, attempts }
            });
        }
        let hint = self.capped_hint(error.retry_after());
        if let Some(wait) = hint {
            self.budget.pause_until(provider, after(now, wait));
        }
        Next::Retry(retry_delay(ceiling, failures.count, hint))
    }

    /// Sends one logical request of `kind` for a `provider` job: a budget slot per attempt, each
    /// attempt bounded by the request timeout and the deadline, retried as the error policy says.
    pub(crate) async fn send<T, F, Fut>(
        &self,
        provider: Provider,
        kind: RequestKind,
        deadline: Deadline,
        mut attempt: F,
    ) -> Result<T, RequestFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let mut failures = Failures::default();
        loop {
            let ended =
                |failures: Failures| RequestFailure::DeadlinePassed { last: failures.last, attempts: failures.count };
            let Some(permit) = self.budget.acquire(provider, kind, &self.env, self.pace(), deadline.at()).await else {
                return Err(ended(failures));
            };
            let now = self.env.now();
            // A download may take long and is watched for stalls by the downloader; only the deadline cuts it.
            let timeout = match kind {
                RequestKind::Download => deadline.at().map(|d| since(d, now)),
                _ => Some(deadline.request_timeout(now, self.options.request_timeout)),
            };
            let result = match timeout {
                Some(timeout) => bounded(&self.env, timeout, attempt()).await,
                None => attempt().await,
            };
            drop(permit);
            let now = self.env.now();
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let delay = match self.after_failure(provider, kind, &mut failures, error, MAX_BACKOFF, now) {
                Next::Retry(delay) => delay,
                Next::End(failure) => return Err(failure),
            };
            if deadline.before(after(now, delay)) {
                return Err(ended(failures));
            }
            self.env.sleep(delay).await;
        }
    }

    /// A server's `Retry-After`, capped so that one header cannot freeze a provider for years.
    pub(crate) fn capped_hint(&self, hint: Option<Duration>) -> Option<Duration> {
        hint.map(|h| h.min(self.options.max_retry_after))
    }
}

/// The delay before retrying after `failures` failures in a row: doubling from one second, never
/// beyond `ceiling` (the job's normal next poll), never before the server's (capped) `Retry-After`.
pub(crate) fn retry_delay(ceiling: Duration, failures: u32, hint: Option<Duration>) -> Duration {
    let backoff = MIN_INTERVAL.saturating_mul(1 << failures.saturating_sub(1).min(6)).min(MAX_BACKOFF);
    backoff.min(ceiling).max(MIN_INTERVAL).max(hint.unwrap_or_default())
}

/// Runs one request, turning "no answer within `timeout`" (in the environment's time) into a timeout error.
pub(crate) async fn bounded<T>(
    env: &Arc<dyn Environment>,
    timeout: Duration,
    request: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    tokio::select! {
        result = request => result,
        () = env.sleep(timeout) => Err(TransportError::timeout(timeout).with_attempts(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_stay_under_the_ceiling_and_honour_the_server() {
        let s = Duration::from_secs;
        assert_eq!(retry_delay(s(30), 1, None), s(1));
        assert_eq!(retry_delay(s(30), 3, None), s(4));
        assert_eq!(retry_delay(s(30), 10, None), s(30));
        assert_eq!(retry_delay(s(300), u32::MAX, None), MAX_BACKOFF);
        assert_eq!(retry_delay(s(30), 1, Some(s(45))), s(45));
    }
}
