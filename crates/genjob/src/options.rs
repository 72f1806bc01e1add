//! How the watcher spends requests, how long it trusts hints, and when it gives up.

use crate::error_policy::{ErrorPolicy, RetryTransient};
use std::sync::Arc;
use std::time::Duration;

/// How the watcher spends requests, how long it trusts hints, and when it gives up.
///
/// ```
/// use genjob::WatchOptions;
/// use std::time::Duration;
/// let options = WatchOptions::new().with_request_timeout(Duration::from_secs(60)).with_batch(false);
/// assert_eq!(options.request_timeout, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WatchOptions {
    /// Requests in flight at once, per provider.
    pub max_in_flight: usize,
    /// Requests per second, per provider, shared by every watched job of that provider: the
    /// provider's limit; requests are spaced [`PACE_HEADROOM`](crate::PACE_HEADROOM) wider than it.
    pub requests_per_second: f64,
    /// Use the provider's job listing as a hint (one request per tick for many jobs), where it has one.
    pub batch: bool,
    /// How long one listing answers for the jobs it covers before it is fetched again.
    pub listing_interval: Duration,
    /// The same for a listing that takes several requests (pages): it is fetched less often, since
    /// each fetch costs as many requests as it has pages.
    pub paged_listing_interval: Duration,
    /// No job goes longer than this without a read of its own record, listing or not.
    pub max_unread: Duration,
    /// Consecutive retryable listing failures after which covered jobs are read on their own schedule.
    pub listing_failure_limit: u32,
    /// The longest `Retry-After` honoured; a server asking for more is waited on this long.
    pub max_retry_after: Duration,
    /// The longest one request may take before it counts as a timeout: the one request-timeout
    /// setting of every request genjob sends for a job (the transport has none of its own).
    pub request_timeout: Duration,
    /// Decides whether a failed request is tried again.
    pub error_policy: Arc<dyn ErrorPolicy>,
    /// With callbacks: the least time between two reads one job's callbacks may start.
    pub callback_min_interval: Duration,
    /// With callbacks: how much sparser the fallback polling of a job no listing covers is.
    pub callback_fallback_factor: f64,
}

impl WatchOptions {
    /// The defaults: 8 requests in flight and 5 per second per provider, batch watching with a
    /// 3 s listing (15 s when it takes several pages), a record read at least every 5 minutes, the listing given up after 3 failures in a row,
    /// `Retry-After` honoured up to 10 minutes, 30 s per request, [`RetryTransient`] errors.
    pub fn new() -> Self {
        Self {
            max_in_flight: 8,
            // useapi.net answers 429 when an account is throttled; a few requests a second stays clear of it.
            requests_per_second: 5.0,
            batch: true,
            listing_interval: Duration::from_secs(3),
            // A paged listing costs a request per page: it is fetched sparsely, for the jobs whose
            // progress does not yet say they are about to finish (those are read on their own).
            paged_listing_interval: Duration::from_secs(15),
            max_unread: Duration::from_secs(300),
            listing_failure_limit: 3,
            max_retry_after: Duration::from_secs(600),
            request_timeout: Duration::from_secs(30),
            error_policy: Arc::new(RetryTransient::new()),
            callback_min_interval: Duration::from_secs(5),
            // Twice as sparse: a lost callback is found at most about twice later than by polling alone.
            callback_fallback_factor: 2.0,
        }
    }

    /// Sets the requests in flight at once, per provider (at least one).
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// Sets the request rate per provider.
    pub fn with_requests_per_second(mut self, rate: f64) -> Self {
        self.requests_per_second = rate;
        self
    }

    /// Turns batch watching through provider listings on or off.
    pub fn with_batch(mut self, batch: bool) -> Self {
        self.batch = batch;
        self
    }

    /// Sets how long one listing answers for its jobs.
    pub fn with_listing_interval(mut self, interval: Duration) -> Self {
        self.listing_interval = interval;
        self
    }

    /// Sets how long a listing of several pages answers for its jobs.
    pub fn with_paged_listing_interval(mut self, interval: Duration) -> Self {
        self.paged_listing_interval = interval;
        self
    }

    /// Sets the longest time a job goes without a read of its own record.
    pub fn with_max_unread(mut self, bound: Duration) -> Self {
        self.max_unread = bound;
        self
    }

    /// Sets how many listing failures in a row make covered jobs fall back to their own reads.
    pub fn with_listing_failure_limit(mut self, limit: u32) -> Self {
        self.listing_failure_limit = limit.max(1);
        self
    }

    /// Sets the longest `Retry-After` honoured.
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Sets how long one request may take.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the least time between two callback-started reads of one job.
    pub fn with_callback_min_interval(mut self, interval: Duration) -> Self {
        self.callback_min_interval = interval;
        self
    }

    /// Sets how much sparser fallback polling is while callbacks are expected (at least 1).
    pub fn with_callback_fallback_factor(mut self, factor: f64) -> Self {
        self.callback_fallback_factor = factor;
        self
    }

    /// Replaces the error policy.
    pub fn with_error_policy(mut self, policy: Arc<dyn ErrorPolicy>) -> Self {
        self.error_policy = policy;
        self
    }
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self::new()
    }
}
