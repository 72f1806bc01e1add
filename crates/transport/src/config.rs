//! Transport settings and the retry policy, both plain values the caller can build and swap.

use std::time::Duration;

use backon::ExponentialBuilder;
use url::Url;

use crate::{ApiToken, ErrorKind};

/// Default cap on an API response body: job records are a few KiB, 8 MiB leaves ample room.
pub const DEFAULT_MAX_RESPONSE_SIZE: u64 = 8 * 1024 * 1024;

/// Default cap on a downloaded file: generated videos are tens of MiB; 2 GiB bounds disk use.
pub const DEFAULT_MAX_DOWNLOAD_SIZE: u64 = 2 * 1024 * 1024 * 1024;

/// Everything [`HttpClient`](crate::HttpClient) needs to talk to one provider's API.
///
/// `Debug` is safe to log: the token prints as `ApiToken(***)`.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    base_url: Url,
    token: ApiToken,
    token_hint: &'static str,
    status_kinds: Vec<(u16, ErrorKind)>,
    user_agent: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    retry: RetryPolicy,
    max_response_size: u64,
}

impl TransportConfig {
    /// Settings for the API under `base_url` (e.g. `https://api.example.com/v1/`) with defaults:
    /// user agent `genjob/<version>`, 10 s connect timeout, 30 s request timeout, the default
    /// [`RetryPolicy`] and 8 MiB responses.
    pub fn new(base_url: Url, token: ApiToken) -> Self {
        Self {
            base_url,
            token,
            token_hint: "the configured API token",
            status_kinds: Vec::new(),
            user_agent: concat!("genjob/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
        }
    }

    /// Names where the token comes from (e.g. `"EXAMPLE_TOKEN"`), so a 401 tells the user what to fix.
    pub fn with_token_hint(mut self, hint: &'static str) -> Self {
        self.token_hint = hint;
        self
    }

    /// Declares what a provider-specific status means (e.g. a status the provider uses for "this
    /// account can no longer be used", which retrying cannot fix); other statuses keep their HTTP meaning.
    pub fn with_status_kind(mut self, status: u16, kind: ErrorKind) -> Self {
        self.status_kinds.retain(|(s, _)| *s != status);
        self.status_kinds.push((status, kind));
        self
    }

    /// The statuses declared with [`TransportConfig::with_status_kind`].
    pub fn status_kinds(&self) -> &[(u16, ErrorKind)] {
        &self.status_kinds
    }

    /// Replaces the `User-Agent` header value.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets how long establishing a connection (TCP + TLS) may take.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long one API request may take, body included; for downloads it bounds the wait
    /// for the response head and for each body chunk, so large files are not cut off.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Replaces the retry policy; [`RetryPolicy::none`] for callers that retry on their own.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the largest API response body accepted, in bytes.
    pub fn with_max_response_size(mut self, bytes: u64) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// The API base URL every request path is appended to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The API token (prints redacted).
    pub fn token(&self) -> &ApiToken {
        &self.token
    }

    /// Where the token comes from, as quoted in 401 errors.
    pub fn token_hint(&self) -> &'static str {
        self.token_hint
    }

    /// The `User-Agent` header value.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The largest API response body accepted, in bytes.
    pub fn max_response_size(&self) -> u64 {
        self.max_response_size
    }
}

/// How GET requests are retried on 429, 5xx (but not 596), timeouts and connection errors.
///
/// Delays grow exponentially from `initial_delay` by `factor`, capped at `max_delay`; with jitter
/// each delay gains a random extra of up to 100 % so clients that failed together do not retry
/// together. A server's `Retry-After` is honoured as a minimum delay. Retrying stops after
/// `max_attempts` requests or when the next attempt would start later than `max_elapsed` after
/// the first one; the last error is then returned.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    factor: f32,
    max_delay: Duration,
    max_elapsed: Duration,
    jitter: bool,
}

impl RetryPolicy {
    /// A single attempt and no retries, for callers (like the poller) with their own schedule.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Sets the total number of requests, the first one included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the delay before the first retry.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the growth factor between delays (values below 1 are raised to 1).
    pub fn with_factor(mut self, factor: f32) -> Self {
        self.factor = if factor.is_finite() { factor.max(1.0) } else { 1.0 };
        self
    }

    /// Sets the cap on one computed delay (before jitter and `Retry-After`).
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets the time after the first request past which no retry starts.
    pub fn with_max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// Turns the random extra delay on or off (off makes delays predictable in tests).
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The total number of requests, the first one included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay before the first retry.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The growth factor between delays.
    pub fn factor(&self) -> f32 {
        self.factor
    }

    /// The cap on one computed delay.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The time after the first request past which no retry starts.
    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// Whether delays get a random extra.
    pub fn jitter(&self) -> bool {
        self.jitter
    }

    /// The backon schedule for this policy; the elapsed-time bound and `Retry-After` are applied
    /// by the caller, because backon's own total only counts sleeps, not request time.
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        let retries = usize::try_from(self.max_attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        let builder = ExponentialBuilder::new()
            .with_min_delay(self.initial_delay)
            .with_factor(self.factor)
            .with_max_delay(self.max_delay)
            .with_max_times(retries);
        if self.jitter { builder.with_jitter() } else { builder }
    }
}

impl Default for RetryPolicy {
    /// Four attempts, 500 ms then ×2 up to 20 s per delay, within 60 s: enough to ride out a
    /// brief overload; longer 429 cool-offs are the poller's business (see PROVIDER_FACTS.md).
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_delay: Duration::from_millis(500),
            factor: 2.0,
            max_delay: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(60),
            jitter: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use backon::BackoffBuilder;

    use super::*;

    #[test]
    fn default_schedule_without_jitter_doubles_and_stops() {
        let delays: Vec<Duration> = RetryPolicy::default().with_jitter(false).backoff().build().collect();
        assert_eq!(delays, [500, 1000, 2000].map(Duration::from_millis).to_vec());
    }

    #[test]
    fn none_never_retries_and_attempts_stay_positive() {
        assert_eq!(RetryPolicy::none().backoff().build().count(), 0);
        assert_eq!(RetryPolicy::default().with_max_attempts(0).max_attempts(), 1);
    }

    #[test]
    fn delays_are_capped() {
        let delays: Vec<Duration> = RetryPolicy::default()
            .with_jitter(false)
            .with_max_attempts(8)
            .with_initial_delay(Duration::from_secs(4))
            .with_max_delay(Duration::from_secs(10))
            .backoff()
            .build()
            .collect();
        assert_eq!(delays.len(), 7);
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(10)), "{delays:?}");
    }
}
