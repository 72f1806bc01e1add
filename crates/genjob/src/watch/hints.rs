//! Hints and truth: the rules that decide when a listing may answer for a job, in one place.
//!
//! A provider's listing (and, later, a pushed callback) is a *hint*. It may spare a request or wake
//! a job early; it never decides a job's state. These are the rules (ARCHITECTURE.md states them as
//! invariants, and every one is applied by a function of this module):
//!
//! 1. Only a job's own record finishes it. The listing never reaches the status tracker.
//! 2. The 1-hour rule needs a confirming read: past the mark, a job's next check is a read of its
//!    record; the local rule stands only if that record still says `created`, or the read fails.
//! 3. A job already old enough to be finished when its watch starts is read once at the start,
//!    listed or not (the watcher schedules that read; see [`Check::Record`]).
//! 4. A listing entry that contradicts the clock — its elapsed time does not advance between two
//!    listings as the clock does, exceeds the job's age, or falls more than a minute behind it —
//!    no longer covers its job: the job is read on its own schedule from then on ([`judge`]).
//! 5. No job goes longer than `max_unread` without a read of its record ([`own_read_reason`]).
//! 6. A listing that fails `listing_failure_limit` times in a row stops blocking: its jobs are read
//!    on their own schedule until a listing succeeds again ([`ListingState::degraded`]).

use crate::time::{after, since};
use genjob_models::StatusTracker;
use genjob_transport::{ListingEntry, ListingScope};
use jiff::Timestamp;
use std::collections::HashMap;
use std::time::Duration;

/// How far a listing's elapsed time may drift from the clock and the job's age: whole-second
/// rounding of `elapsedSeconds` plus the time the answer spent on the wire.
const ELAPSED_TOLERANCE: Duration = Duration::from_secs(2);

/// How much younger than its id says a listing may show a job. The scheduler's `elapsedSeconds` is
/// "seconds since job was submitted", the same moment the id records, so a listing that shows a job
/// much younger is showing an old state of the world (a lagging replica). The margin absorbs a clock
/// of ours that runs a little ahead of the provider's.
const LAG_TOLERANCE: Duration = Duration::from_secs(60);

/// What a job's next check must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Its own record, whatever the listing says (rules 2 and 3, retries, a hint that woke it).
    Record,
    /// The listing may answer, if the rules allow ([`own_read_reason`]); else its record.
    Due,
}

/// Whether a provider's listing answers for a job while it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Coverage {
    /// Read on its own schedule: no listing covers it, or the listing proved unreliable for it.
    Own,
    /// The listing answers for it while it runs; `seen` is its last sighting in a listing.
    Listed { seen: Option<Sighting> },
}

/// A job as one listing showed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sighting {
    /// When that listing was received.
    pub at: Timestamp,
    /// The elapsed time the listing claimed.
    pub elapsed: Option<Duration>,
}

/// What one listing says about one covered job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Listed as running, plausibly: the listing answers for it.
    Running(Sighting),
    /// Gone from the listing after being in it, or listed as finished: read its record now.
    ReadNow(&'static str),
    /// Not in the listing, and never was: read its record when it is due.
    NotListed,
    /// The entry contradicts the clock or the job's age: the listing no longer covers the job.
    Implausible(String),
}

/// Judges one covered job against a listing received at `fetched_at` (rule 4 lives here).
pub(crate) fn judge(
    entry: Option<&ListingEntry>,
    seen: Option<&Sighting>,
    fetched_at: Timestamp,
    age: Option<Duration>,
) -> Verdict {
    let Some(entry) = entry else {
        return if seen.is_some() { Verdict::ReadNow("left the listing") } else { Verdict::NotListed };
    };
    if entry.status.is_some_and(|s| s.is_terminal()) {
        return Verdict::ReadNow("listed as finished");
    }
    if let (Some(elapsed), Some(age)) = (entry.elapsed, age) {
        if elapsed > age.saturating_add(ELAPSED_TOLERANCE) {
            return Verdict::Implausible(format!(
                "the listing says it has run {}s, but it is only {}s old",
                elapsed.as_secs(),
                age.as_secs()
            ));
        }
        if elapsed.saturating_add(LAG_TOLERANCE) < age {
            return Verdict::Implausible(format!(
                "the listing shows it {}s old, but it is {}s old (a lagging listing)",
                elapsed.as_secs(),
                age.as_secs()
            ));
        }
    }
    if let (Some(elapsed), Some(previous)) = (entry.elapsed, seen.and_then(|s| s.elapsed.map(|e| (s.at, e)))) {
        let (then, elapsed_then) = previous;
        let clock = since(fetched_at, then);
        let listed = elapsed.as_secs_f64() - elapsed_then.as_secs_f64();
        let drift = (listed - clock.as_secs_f64()).abs();
        if drift > ELAPSED_TOLERANCE.as_secs_f64() + clock.as_secs_f64() / 10.0 {
            return Verdict::Implausible(format!(
                "the listing's elapsed time moved {listed:.0}s while the clock moved {:.0}s (a stale listing)",
                clock.as_secs_f64()
            ));
        }
    }
    Verdict::Running(Sighting { at: fetched_at, elapsed: entry.elapsed })
}

/// Why a due job must read its own record instead of waiting for the listing; `None` lets the listing answer.
///
/// Rules 2, 5 and 6 (and "not covered at all") are decided here.
pub(crate) fn own_read_reason(
    coverage: &Coverage,
    listing: &ListingState,
    tracker: &StatusTracker,
    last_read: Timestamp,
    now: Timestamp,
    max_unread: Duration,
) -> Option<&'static str> {
    if *coverage == Coverage::Own {
        return Some("own schedule");
    }
    if listing.degraded() {
        return Some("the listing is failing");
    }
    if tracker.deadline(now).is_some_and(|mark| now > mark) {
        return Some("the 1-hour mark passed: confirming with the record");
    }
    if since(now, last_read) >= max_unread {
        return Some("not read for too long");
    }
    None
}

/// The latest listing of one provider and its health.
#[derive(Debug, Default)]
pub(crate) struct ListingState {
    latest: Option<Listing>,
    /// A listing request is in flight.
    pub in_flight: bool,
    failures: u32,
    failure_limit: u32,
    /// A non-retryable answer (404, 401 …): this provider's listing is not used again in this watch.
    disabled: bool,
    /// While failing: not asked again before this time.
    retry_at: Option<Timestamp>,
    /// Due jobs waiting for the next listing.
    pub waiters: Vec<usize>,
    /// Requests the latest listing took (its pages).
    pub requests: usize,
    /// The pages read so far of a listing under way.
    pub partial: Option<PartialListing>,
    /// The cursor of the next page of the listing under way, while it waits for a slot.
    pub pending: Option<String>,
}

/// A listing of several pages while it is read, one page (one request, one budget slot) at a time.
#[derive(Debug, Default)]
pub(crate) struct PartialListing {
    /// The entries of the pages read so far.
    pub entries: Vec<ListingEntry>,
    /// Pages read so far.
    pub pages: usize,
    /// The watched jobs not seen on those pages.
    pub scope: ListingScope,
}

/// A listing as received.
#[derive(Debug)]
pub(crate) struct Listing {
    /// When it was received.
    pub fetched_at: Timestamp,
    entries: HashMap<String, ListingEntry>,
}

impl Listing {
    /// The entry of a job, if listed.
    pub fn entry(&self, id: &str) -> Option<&ListingEntry> {
        self.entries.get(id)
    }
}

impl ListingState {
    /// A state that degrades after `failure_limit` failures in a row.
    pub fn new(failure_limit: u32) -> Self {
        Self { failure_limit: failure_limit.max(1), ..Self::default() }
    }

    /// True when covered jobs must not wait for the listing (rule 6).
    pub fn degraded(&self) -> bool {
        self.disabled || self.failures >= self.failure_limit
    }

    /// The latest listing, if it is younger than `interval` (`paged` when it took several requests).
    pub fn fresh(&self, now: Timestamp, interval: Duration, paged: Duration) -> Option<&Listing> {
        let interval = if self.requests > 1 { paged.max(interval) } else { interval };
        self.latest.as_ref().filter(|l| since(now, l.fetched_at) < interval)
    }

    /// The latest listing, however old.
    pub fn latest(&self) -> Option<&Listing> {
        self.latest.as_ref()
    }

    /// Records a successful listing; batching resumes if it was failing.
    pub fn succeeded(&mut self, entries: Vec<ListingEntry>, requests: usize, now: Timestamp) {
        self.in_flight = false;
        self.partial = None;
        self.pending = None;
        self.requests = requests;
        self.failures = 0;
        self.retry_at = None;
        let entries = entries.into_iter().map(|e| (e.id.clone(), e)).collect();
        self.latest = Some(Listing { fetched_at: now, entries });
    }

    /// Records a failed listing: retryable failures back off, others turn the listing off.
    pub fn failed(&mut self, retryable: bool, retry_after: Option<Duration>, interval: Duration, now: Timestamp) {
        self.in_flight = false;
        self.partial = None;
        self.pending = None;
        if !retryable {
            self.disabled = true;
            return;
        }
        self.failures = self.failures.saturating_add(1);
        // Back off from the listing interval, doubling, up to a minute; a server's wait comes first.
        let backoff = interval.saturating_mul(1 << self.failures.min(5)).min(Duration::from_secs(60));
        self.retry_at = Some(after(now, backoff.max(retry_after.unwrap_or_default())));
    }

    /// When a failing (but not disabled) listing should be tried again, if it is failing.
    pub fn retry_at(&self) -> Option<Timestamp> {
        if self.disabled || self.in_flight { None } else { self.retry_at.filter(|_| self.failures > 0) }
    }

    /// True when the listing may be requested now (not in flight, not disabled, not backing off).
    pub fn may_request(&self, now: Timestamp) -> bool {
        !self.in_flight && !self.disabled && self.retry_at.is_none_or(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genjob_models::JobStatus;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn entry(elapsed: u64) -> ListingEntry {
        ListingEntry::executing("j").with_elapsed(Some(Duration::from_secs(elapsed)))
    }

    fn seen(secs: i64, elapsed: u64) -> Sighting {
        Sighting { at: at(secs), elapsed: Some(Duration::from_secs(elapsed)) }
    }

    #[test]
    fn an_advancing_entry_is_running_and_a_frozen_one_is_implausible() {
        let age = Some(Duration::from_secs(100));
        assert!(matches!(judge(Some(&entry(53)), Some(&seen(0, 50)), at(3), age), Verdict::Running(_)));
        assert!(matches!(judge(Some(&entry(50)), Some(&seen(0, 50)), at(3), age), Verdict::Implausible(_)));
        // Moving far faster than the clock is as suspect as not moving.
        assert!(matches!(judge(Some(&entry(90)), Some(&seen(0, 50)), at(3), age), Verdict::Implausible(_)));
    }

    #[test]
    fn an_entry_older_than_its_job_or_far_younger_is_implausible() {
        let verdict = judge(Some(&entry(500)), None, at(0), Some(Duration::from_secs(100)));
        assert!(matches!(verdict, Verdict::Implausible(_)), "{verdict:?}");
        assert!(matches!(judge(Some(&entry(101)), None, at(0), Some(Duration::from_secs(100))), Verdict::Running(_)));
        // Ten minutes behind: a lagging replica still showing the world as it was.
        let lagging = judge(Some(&entry(100)), None, at(0), Some(Duration::from_secs(700)));
        assert!(matches!(lagging, Verdict::Implausible(_)), "{lagging:?}");
        assert!(matches!(judge(Some(&entry(650)), None, at(0), Some(Duration::from_secs(700))), Verdict::Running(_)));
    }

    #[test]
    fn leaving_the_listing_or_being_listed_finished_wakes_the_job() {
        assert_eq!(judge(None, Some(&seen(0, 5)), at(3), None), Verdict::ReadNow("left the listing"));
        assert_eq!(judge(None, None, at(3), None), Verdict::NotListed);
        let done = entry(5).with_status(Some(JobStatus::Completed));
        assert_eq!(judge(Some(&done), None, at(3), None), Verdict::ReadNow("listed as finished"));
    }

    #[test]
    fn a_failing_listing_degrades_then_recovers() {
        let mut state = ListingState::new(3);
        for _ in 0..2 {
            state.failed(true, None, Duration::from_secs(3), at(0));
        }
        assert!(!state.degraded());
        state.failed(true, Some(Duration::from_secs(600)), Duration::from_secs(3), at(0));
        assert!(state.degraded());
        assert_eq!(state.retry_at(), Some(at(600)));
        assert!(!state.may_request(at(10)));
        state.succeeded(vec![entry(1)], 1, at(700));
        assert!(!state.degraded());
        state.failed(false, None, Duration::from_secs(3), at(800));
        assert!(state.degraded() && !state.may_request(at(10_000)));
    }
}
