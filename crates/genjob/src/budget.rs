//! The request budget: every request genjob makes for a job takes a slot of its provider's budget.
//!
//! One [`RequestBudget`] belongs to a [`Watcher`](crate::Watcher) and is shared by its clones, every
//! watch they run, `read`, and every download: records, listing pages, `/content` look-ups, refreshes
//! of expired links and file downloads all pass here, so the documented pace holds for all of them
//! together. API requests and file downloads are separate lanes of a provider's budget: a long
//! download never holds a slot a record read needs, and both are paced.

use crate::env::Environment;
use crate::time::{after, secs, since};
use genjob_models::Provider;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a request is for; API requests and downloads are separate lanes of a provider's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RequestKind {
    /// A job's own record.
    Record,
    /// One page of a provider's job listing.
    Listing,
    /// A look-up of where a finished job's files are (token360's `/content`).
    Content,
    /// A record read again because a download link expired.
    Refresh,
    /// A file download from an output URL.
    Download,
}

impl RequestKind {
    /// Every kind, in a stable order (for reports and metrics).
    pub const ALL: [RequestKind; 5] = [Self::Record, Self::Listing, Self::Content, Self::Refresh, Self::Download];

    /// The kind's name in reports: `record`, `listing`, `content`, `refresh`, `download`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::Listing => "listing",
            Self::Content => "content",
            Self::Refresh => "refresh",
            Self::Download => "download",
        }
    }

    fn lane(self) -> Lane {
        if self == Self::Download { Lane::Files } else { Lane::Api }
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lane of a provider's budget: its API, or the hosts its files are served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Lane {
    Api,
    Files,
}

impl Lane {
    fn as_str(self) -> &'static str {
        match self {
            Lane::Api => "api",
            Lane::Files => "files",
        }
    }
}

/// A request pace kept together with other processes: the replicas of a service that watch jobs of
/// one provider account share its documented limit, so each takes its turns from one place (a
/// database row, say) as well as from its own budget.
///
/// A turn it cannot reserve (the database is away) must not stop watching: return no wait, and the
/// process's own pace still holds.
#[async_trait::async_trait]
pub trait SharedPace: Send + Sync + std::fmt::Debug {
    /// Takes the turn of `provider`'s `lane` (`api` or `files`) for one request going now, when the
    /// last one (whichever process sent it) went at least `spacing` ago: then answers zero and the
    /// request goes at once. Otherwise takes nothing and answers how long until a turn may be free;
    /// the caller asks again then. Turns are taken at the moment of sending, never booked ahead,
    /// so a process that wakes late cannot send in a crowd with those that woke on time.
    async fn turn(&self, provider: Provider, lane: &'static str, spacing: Duration) -> Duration;

    /// No API request of `provider`, from any process, before `until` (a server asked for a pause).
    async fn pause(&self, provider: Provider, until: Timestamp);
}

/// The longest wait for a shared turn believed: a pause longer than this is taken in several turns.
const MAX_SHARED_WAIT: Duration = Duration::from_secs(300);

/// Whether a request may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Not before this time (the rate, or a server's `Retry-After`).
    At(Timestamp),
    /// When a request in flight finishes (the concurrency limit).
    WhenOneFinishes,
}

/// The pace of one lane: a rate, a concurrency limit, and the pauses a server asks for.
#[derive(Debug, Default)]
struct Lanes {
    next_slot: Option<Timestamp>,
    paused_until: Option<Timestamp>,
    in_flight: usize,
}

impl Lanes {
    fn take(&mut self, now: Timestamp, rate: f64, max_in_flight: usize) -> Result<(), Slot> {
        if self.in_flight >= max_in_flight.max(1) {
            return Err(Slot::WhenOneFinishes);
        }
        let opens = [self.next_slot, self.paused_until].into_iter().flatten().fold(now, Timestamp::max);
        if opens > now {
            return Err(Slot::At(opens));
        }
        self.next_slot = Some(after(now, spacing(rate)));
        self.in_flight += 1;
        Ok(())
    }
}

/// How much wider than `1 / rate` requests of a lane are spaced. Between its slot and the
/// provider a request crosses the scheduler, the network and (in a fleet) a database, and that
/// jitter varies from request to request: measured at a provider's door, requests sent exactly
/// 200 ms apart arrived six within 986 ms on a quiet machine, and six sent 210 ms apart within
/// 938 ms on a loaded one. Sent 15 % apart wider, six requests at 5 per second leave over 1.15 s,
/// so up to 150 ms of jitter never brings a sixth into any second of the provider's.
pub const PACE_HEADROOM: f64 = 1.15;

/// The time between two requests of one lane at `rate` per second, headroom included.
fn spacing(rate: f64) -> Duration {
    if rate.is_finite() && rate > 0.0 { secs(PACE_HEADROOM / rate) } else { secs(1000.0) }
}

/// The pace every request of a provider keeps: `rate` per second and `max_in_flight` at once, per lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pace {
    pub rate: f64,
    pub max_in_flight: usize,
}

/// The request budget of every provider, shared by a watcher, its clones and everything they run.
#[derive(Debug, Clone, Default)]
pub struct RequestBudget {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    lanes: Mutex<HashMap<(Provider, Lane), Lanes>>,
    sent: Mutex<HashMap<(Provider, RequestKind), Arc<AtomicU64>>>,
    /// The pace shared with other processes, when there is one.
    fleet: Option<Arc<dyn SharedPace>>,
    /// Pauses a server asked for that the shared pace has not been told yet.
    pauses: Mutex<HashMap<Provider, Timestamp>>,
}

/// A slot taken from the budget; the request it allowed counts as in flight until this is dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    budget: RequestBudget,
    key: (Provider, Lane),
    spacing: Duration,
}

impl Permit {
    /// The request this permit allowed was not sent after all: it is not counted.
    fn not_sent(&self, kind: RequestKind) {
        let sent = self.budget.inner.sent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(counter) = sent.get(&(self.key.0, kind)) {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Waits for the request's turn in the pace shared with other processes (none: at once), but
    /// never past `deadline` (then the caller sees the deadline passed).
    pub(crate) async fn shared_turn(&self, env: &Arc<dyn Environment>, deadline: Option<Timestamp>) {
        let Some(fleet) = &self.budget.inner.fleet else { return };
        let (provider, lane) = self.key;
        let pause = self.budget.inner.pauses.lock().unwrap_or_else(|p| p.into_inner()).remove(&provider);
        if let Some(until) = pause {
            fleet.pause(provider, until).await;
        }
        loop {
            let mut wait = fleet.turn(provider, lane.as_str(), self.spacing).await.min(MAX_SHARED_WAIT);
            if wait.is_zero() {
                return;
            }
            if let Some(deadline) = deadline {
                let left = since(deadline, env.now());
                if left.is_zero() {
                    return;
                }
                wait = wait.min(left);
            }
            env.sleep(wait).await;
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut lanes = self.budget.lock();
        if let Some(lane) = lanes.get_mut(&self.key) {
            lane.in_flight = lane.in_flight.saturating_sub(1);
        }
    }
}

impl RequestBudget {
    /// A budget of its own (not shared with any other watcher).
    pub fn new() -> Self {
        Self::default()
    }

    /// A budget whose requests also take turns from `pace`, shared with other processes: every
    /// replica of a service keeps the provider's documented pace together, not each on its own.
    pub fn shared(pace: Arc<dyn SharedPace>) -> Self {
        Self { inner: Arc::new(Shared { fleet: Some(pace), ..Shared::default() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Provider, Lane), Lanes>> {
        // A poisoned lock only means a panic elsewhere; the counters are still consistent.
        self.inner.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests sent so far through this budget for `provider` and `kind` (every attempt counts).
    pub fn sent(&self, provider: Provider, kind: RequestKind) -> u64 {
        let sent = self.inner.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.get(&(provider, kind)).map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// Takes a slot for a request of `kind` now, or says when to ask again.
    pub(crate) fn try_take(
        &self,
        provider: Provider,
        kind: RequestKind,
        now: Timestamp,
        pace: Pace,
    ) -> Result<Permit, Slot> {
        let key = (provider, kind.lane());
        self.lock().entry(key).or_default().take(now, pace.rate, pace.max_in_flight)?;
        let spacing = spacing(pace.rate);
        let counter = {
            let mut sent = self.inner.sent.lock().unwrap_or_else(|p| p.into_inner());
            sent.entry((provider, kind)).or_default().clone()
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(Permit { budget: self.clone(), key, spacing })
    }

    /// Waits (in the environment's time) for a slot; `None` when `deadline` comes first.
    pub(crate) async fn acquire(
        &self,
        provider: Provider,
        kind: RequestKind,
        env: &Arc<dyn Environment>,
        pace: Pace,
        deadline: Option<Timestamp>,
    ) -> Option<Permit> {
        loop {
            let now = env.now();
            if deadline.is_some_and(|d| now >= d) {
                return None;
            }
            let wake = match self.try_take(provider, kind, now, pace) {
                Ok(permit) if self.inner.fleet.is_none() => return Some(permit),
                Ok(permit) => {
                    permit.shared_turn(env, deadline).await;
                    if deadline.is_some_and(|d| env.now() >= d) {
                        // Its turn came too late: the request is not sent, so it does not count.
                        permit.not_sent(kind);
                        return None;
                    }
                    return Some(permit);
                }
                Err(Slot::At(at)) => at,
                // Slots are given back by whoever holds them, in any task: look again shortly.
                Err(Slot::WhenOneFinishes) => after(now, RECHECK),
            };
            let wake = deadline.map_or(wake, |d| wake.min(d));
            env.sleep(since(wake, now).max(Duration::from_millis(1))).await;
        }
    }

    /// No API request of `provider` before `until`: one 429 slows every job of the provider, so a
    /// large batch never turns into a 429 storm.
    pub(crate) fn pause_until(&self, provider: Provider, until: Timestamp) {
        let mut lanes = self.lock();
        let lane = lanes.entry((provider, Lane::Api)).or_default();
        lane.paused_until = lane.paused_until.max(Some(until));
        if self.inner.fleet.is_some() {
            let mut pauses = self.inner.pauses.lock().unwrap_or_else(|p| p.into_inner());
            let pause = pauses.entry(provider).or_insert(until);
            *pause = (*pause).max(until);
        }
    }
}

/// How soon a request waiting for a concurrency slot held elsewhere looks again.
pub(crate) const RECHECK: Duration = Duration::from_millis(50);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::TokioEnvironment;

    /// A shared pace that answers "not yet, ask in `wait`" to every other ask (so each request
    /// asks twice) and remembers what it was asked.
    #[derive(Debug, Default)]
    struct Fleet {
        wait: Duration,
        turns: Mutex<Vec<(Provider, &'static str, Duration)>>,
        pauses: Mutex<Vec<(Provider, Timestamp)>>,
    }

    #[async_trait::async_trait]
    impl SharedPace for Fleet {
        async fn turn(&self, provider: Provider, lane: &'static str, spacing: Duration) -> Duration {
            let mut turns = self.turns.lock().unwrap();
            turns.push((provider, lane, spacing));
            if turns.len() % 2 == 1 { self.wait } else { Duration::ZERO }
        }

        async fn pause(&self, provider: Provider, until: Timestamp) {
            self.pauses.lock().unwrap().push((provider, until));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_shared_budget_waits_for_the_fleet_s_turn_and_tells_it_of_pauses() {
        let fleet = Arc::new(Fleet { wait: Duration::from_millis(300), ..Fleet::default() });
        let budget = RequestBudget::shared(fleet.clone());
        let env: Arc<dyn Environment> = Arc::new(TokioEnvironment::new());
        let pace = Pace { rate: 5.0, max_in_flight: 8 };
        let p = Provider::Token360;
        let start = env.now();
        let permit = budget.acquire(p, RequestKind::Record, &env, pace, None).await;
        assert!(permit.is_some());
        assert!(since(env.now(), start) >= Duration::from_millis(300), "the fleet's turn was waited for");
        let asked = (p, "api", Duration::from_millis(230));
        assert_eq!(fleet.turns.lock().unwrap().as_slice(), [asked, asked], "asked again when told to");
        drop(permit);

        // A pause a server asked for reaches the fleet with the next request.
        let until = after(env.now(), Duration::from_secs(30));
        budget.pause_until(p, until);
        let deadline = after(env.now(), Duration::from_secs(40));
        let download = budget.acquire(p, RequestKind::Download, &env, pace, Some(deadline)).await;
        assert!(download.is_some(), "files are another lane: the API's pause does not hold them");
        assert_eq!(fleet.pauses.lock().unwrap().as_slice(), [(p, until)]);
        assert_eq!(fleet.turns.lock().unwrap().last(), Some(&(p, "files", Duration::from_millis(230))));

        // A turn further away than the deadline is not waited for past it.
        let deadline = after(env.now(), Duration::from_millis(100));
        let late = budget.acquire(Provider::Dreamina, RequestKind::Record, &env, pace, Some(deadline)).await;
        assert!(late.is_none());
        assert!(env.now() <= after(deadline, Duration::from_millis(1)));
    }

    #[test]
    fn rate_concurrency_and_pauses_are_all_honoured_and_lanes_are_apart() {
        let now = Timestamp::UNIX_EPOCH;
        let budget = RequestBudget::new();
        let pace = Pace { rate: 2.0, max_in_flight: 2 };
        let p = Provider::Dreamina;
        let first = budget.try_take(p, RequestKind::Record, now, pace);
        assert!(first.is_ok());
        assert_eq!(
            budget.try_take(p, RequestKind::Listing, now, pace).err(),
            Some(Slot::At(after(now, Duration::from_millis(575))))
        );
        // Files are their own lane: a download does not wait for a record read's slot.
        let download = budget.try_take(p, RequestKind::Download, now, pace);
        assert!(download.is_ok());
        let later = after(now, Duration::from_millis(575));
        let second = budget.try_take(p, RequestKind::Content, later, pace);
        assert!(second.is_ok());
        assert_eq!(budget.try_take(p, RequestKind::Record, later, pace).err(), Some(Slot::WhenOneFinishes));
        drop(first);
        budget.pause_until(p, after(now, Duration::from_secs(60)));
        assert_eq!(
            budget.try_take(p, RequestKind::Record, later, pace).err(),
            Some(Slot::At(after(now, Duration::from_secs(60))))
        );
        let odd = Pace { rate: f64::NAN, max_in_flight: 2 };
        assert!(budget.try_take(p, RequestKind::Record, after(now, Duration::from_secs(60)), odd).is_ok());
        assert_eq!(budget.sent(p, RequestKind::Record), 2);
        assert_eq!(budget.sent(p, RequestKind::Download), 1);
        assert_eq!(budget.sent(Provider::Token360, RequestKind::Record), 0);
    }
}
