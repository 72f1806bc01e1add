//! One provider's request budget: a rate, a concurrency limit, and the pauses a server asks for.

use crate::time::{after, secs};
use jiff::Timestamp;
use std::collections::VecDeque;

/// Whether a request may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Yes: the request counts against the budget until [`Budget::release`].
    Granted,
    /// Not before this time (the rate, or a server's `Retry-After`).
    At(Timestamp),
    /// When a request in flight finishes (the concurrency limit).
    WhenOneFinishes,
}

/// The budget every watched job of one provider shares.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    next_slot: Option<Timestamp>,
    paused_until: Option<Timestamp>,
    in_flight: usize,
    /// Jobs waiting for a request in flight to finish, in arrival order.
    pub waiting: VecDeque<usize>,
}

impl Budget {
    /// Takes a slot under `rate` requests per second and `max_in_flight` at once.
    pub fn take(&mut self, now: Timestamp, rate: f64, max_in_flight: usize) -> Slot {
        if self.in_flight >= max_in_flight.max(1) {
            return Slot::WhenOneFinishes;
        }
        let opens = [self.next_slot, self.paused_until].into_iter().flatten().fold(now, Timestamp::max);
        if opens > now {
            return Slot::At(opens);
        }
        let spacing = if rate.is_finite() && rate > 0.0 { secs(1.0 / rate) } else { secs(1000.0) };
        self.next_slot = Some(after(now, spacing));
        self.in_flight += 1;
        Slot::Granted
    }

    /// Gives a slot back when its request finished (or was dropped).
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// No request before `until`: one 429 slows every job of the provider, so a large batch never
    /// turns into a 429 storm.
    pub fn pause_until(&mut self, until: Timestamp) {
        self.paused_until = self.paused_until.max(Some(until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_concurrency_and_pauses_are_all_honoured() {
        let now = Timestamp::UNIX_EPOCH;
        let mut budget = Budget::default();
        assert_eq!(budget.take(now, 2.0, 2), Slot::Granted);
        assert_eq!(budget.take(now, 2.0, 2), Slot::At(after(now, Duration::from_millis(500))));
        let later = after(now, Duration::from_millis(500));
        assert_eq!(budget.take(later, 2.0, 2), Slot::Granted);
        assert_eq!(budget.take(later, 2.0, 2), Slot::WhenOneFinishes);
        budget.release();
        budget.pause_until(after(now, Duration::from_secs(60)));
        assert_eq!(budget.take(later, 2.0, 2), Slot::At(after(now, Duration::from_secs(60))));
        assert_eq!(budget.take(after(now, Duration::from_secs(60)), f64::NAN, 2), Slot::Granted);
    }
}
