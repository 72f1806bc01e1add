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
}
