//! Time arithmetic that never panics: every number a server sends meets the clock through here.

use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// The longest delay genjob ever computes; anything longer is a hostile or broken input.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// `seconds` as a duration: negative or NaN is zero, infinite or huge is [`MAX_DELAY`].
pub(crate) fn secs(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds).map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

/// `at + delay`, saturating at the end of representable time.
pub(crate) fn after(at: Timestamp, delay: Duration) -> Timestamp {
    at.checked_add(delay.min(MAX_DELAY)).unwrap_or(Timestamp::MAX)
}

/// The non-negative part of a signed duration.
pub(crate) fn positive(d: SignedDuration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

/// Time from `earlier` to `later`, zero when `later` is not later.
pub(crate) fn since(later: Timestamp, earlier: Timestamp) -> Duration {
    positive(later.duration_since(earlier))
}

/// When a wait ends, whatever is in flight: computed here once, from the caller's own timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Deadline(Option<Timestamp>);

impl Deadline {
    /// No deadline.
    pub const NONE: Self = Self(None);

    /// `timeout` after `start`. The caller's own number, not a server's: not capped like delays are.
    pub fn after(start: Timestamp, timeout: Duration) -> Self {
        Self(Some(start.checked_add(timeout).unwrap_or(Timestamp::MAX)))
    }

    /// The moment, if there is one.
    pub fn at(self) -> Option<Timestamp> {
        self.0
    }

    /// True once `now` reached it.
    pub fn passed(self, now: Timestamp) -> bool {
        self.0.is_some_and(|d| now >= d)
    }

    /// True when something due at `at` would come too late.
    pub fn before(self, at: Timestamp) -> bool {
        self.0.is_some_and(|d| at >= d)
    }

    /// How long a request started at `now` may take: `per_request`, cut short by the deadline.
    pub fn request_timeout(self, now: Timestamp, per_request: Duration) -> Duration {
        self.0.map_or(per_request, |d| per_request.min(since(d, now)))
    }

    /// The earlier of two deadlines.
    pub fn min(self, other: Self) -> Self {
        match (self.0, other.0) {
            (Some(a), Some(b)) => Self(Some(a.min(b))),
            (a, b) => Self(a.or(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_numbers_saturate_instead_of_panicking() {
        assert_eq!(secs(f64::NAN), Duration::ZERO);
        assert_eq!(secs(-1.0), Duration::ZERO);
        assert_eq!(secs(f64::INFINITY), MAX_DELAY);
        assert_eq!(secs(1e300), MAX_DELAY);
        assert_eq!(secs(1.5), Duration::from_millis(1500));
        assert_eq!(after(Timestamp::MAX, Duration::from_secs(1)), Timestamp::MAX);
        assert_eq!(since(Timestamp::MIN, Timestamp::MAX), Duration::ZERO);
    }

    #[test]
    fn a_deadline_cuts_requests_short_and_saturates() {
        let start = Timestamp::UNIX_EPOCH;
        let deadline = Deadline::after(start, Duration::from_secs(10));
        assert_eq!(deadline.request_timeout(start, Duration::from_secs(30)), Duration::from_secs(10));
        assert_eq!(
            deadline.request_timeout(after(start, Duration::from_secs(4)), Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert!(deadline.passed(after(start, Duration::from_secs(10))) && !deadline.passed(start));
        assert_eq!(Deadline::after(Timestamp::MAX, Duration::MAX).at(), Some(Timestamp::MAX));
        assert_eq!(Deadline::NONE.request_timeout(start, Duration::from_secs(30)), Duration::from_secs(30));
        assert_eq!(Deadline::NONE.min(deadline), deadline);
    }
}
