//! Pushed status: which callbacks a job sends and when, how each is retried, and the queue that orders them.
//!
//! useapi.net POSTs the job record to its `replyUrl` (Google Flow on every status change, Dreamina
//! on completion) and token360 POSTs once to its `callback_url` when the task finishes, retrying
//! (PROVIDER_FACTS.md, "Pushed status"). A job's whole timeline is fixed when it is added, so its
//! callbacks are planned then; the sender keeps them in one time-ordered queue and sleeps until the
//! head is due, so thousands of jobs cost nothing until their moments come.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Duration;

use crate::spec::{Failure, Outcome, Provider};
use crate::store::{Failed, Job, Stage};

/// How long one attempt may wait for an answer, in simulated time: token360's documented 30 s
/// (useapi.net documents no timeout, so its callbacks get the same).
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The real-time ceiling of an attempt, so a slow clock cannot hold a sending slot for ever.
pub(crate) const MAX_REAL_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts in flight at most; the rest wait in the queue, so a slow receiver delays other jobs'
/// callbacks only once this many attempts are stuck at the same time.
pub(crate) const MAX_IN_FLIGHT: usize = 64;

/// token360's waits before its second and third attempts, in simulated milliseconds (PROVIDER_FACTS.md).
const TOKEN360_RETRY_GAPS_MS: [i64; 2] = [1_000, 3_000];

/// A callback a job will send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Planned {
    /// The job's serial in the store.
    pub serial: u64,
    /// The simulated moment of the status change: the body is the record as of then.
    pub event_ms: i64,
    /// When the first attempt is due: the change plus the job's `callback_delay`.
    pub due_ms: i64,
    /// Identical deliveries to make: one plus the job's `callback_duplicates`.
    pub copies: u64,
}

/// The callbacks of `job`, added at sim time `added_ms`, in time order.
///
/// None without a reply URL or when the job's callbacks are lost, and none for a change that
/// happened before the job was added: nobody was there to be told of it.
pub(crate) fn plan(job: &Job, timeout_lag_ms: i64, added_ms: i64) -> Vec<Planned> {
    if job.reply_url.is_none() || job.callback_lost {
        return Vec::new();
    }
    let mut moments = Vec::with_capacity(2);
    if job.kind.provider() == Provider::GoogleFlow {
        let since_ms = job.running_since_ms();
        // A job that finishes the moment it would start running never shows `started`.
        if matches!(job.stage(since_ms, timeout_lag_ms), Stage::Running { .. }) {
            moments.push(since_ms);
        }
    }
    // The end of time: every job that ever finishes has finished by then.
    if let Some(end_ms) = job.finished_at(i64::MAX, timeout_lag_ms) {
        moments.push(end_ms);
    }
    moments
        .into_iter()
        .filter(|&event_ms| event_ms >= added_ms)
        .map(|event_ms| Planned {
            serial: job.serial,
            event_ms,
            due_ms: event_ms.saturating_add(job.callback_delay_ms),
            copies: u64::from(job.callback_duplicates) + 1,
        })
        .collect()
}

/// The waits (simulated milliseconds) before each retry of a failed attempt, counted from the
/// failure: token360 tries three times, 1 s then 3 s apart; useapi.net documents no retry.
pub(crate) fn retry_gaps_ms(provider: Provider) -> &'static [i64] {
    match provider {
        Provider::Token360 => &TOKEN360_RETRY_GAPS_MS,
        Provider::Dreamina | Provider::GoogleFlow => &[],
    }
}

/// The failure a forged `failed` record shows: the job's own when it is set to fail, else a plain one.
pub(crate) fn forged_failure(job: &Job) -> Failure {
    match &job.outcome {
        Outcome::Fail(failure) => failure.clone(),
        Outcome::Complete | Outcome::Stuck => Failure::new(500, "Generation failed"),
    }
}

/// The stage a forged record claiming `status` is drawn in at `now_ms`.
///
/// `completed` and `failed` take the final shapes (with outputs or `failure`), `started` and
/// `in_progress` the running one, any other word the waiting one; the record's `status` then
/// says the word verbatim.
pub(crate) fn forged_stage<'a>(status: &str, now_ms: i64, failure: &'a Failure) -> Stage<'a> {
    match status {
        "completed" => Stage::Completed { at_ms: now_ms },
        "failed" => Stage::Failed { at_ms: now_ms, failure: Failed::Spec(failure) },
        "started" | "in_progress" => Stage::Running { since_ms: now_ms },
        _ => Stage::Waiting,
    }
}

/// Items ordered by due time, equal times first-come first-served.
#[derive(Debug)]
pub(crate) struct DueQueue<T> {
    heap: BinaryHeap<Due<T>>,
    pushed: u64,
}

impl<T> Default for DueQueue<T> {
    fn default() -> DueQueue<T> {
        DueQueue { heap: BinaryHeap::new(), pushed: 0 }
    }
}

impl<T> DueQueue<T> {
    /// Queues `item` to come due at sim time `at_ms`.
    pub(crate) fn push(&mut self, at_ms: i64, item: T) {
        self.heap.push(Due { at_ms, seq: self.pushed, item });
        self.pushed += 1;
    }

    /// When the earliest item comes due.
    pub(crate) fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|due| due.at_ms)
    }

    /// The earliest item with its due time, if it is due by `now_ms`.
    pub(crate) fn pop_due(&mut self, now_ms: i64) -> Option<(i64, T)> {
        if self.next_due()? > now_ms {
            return None;
        }
        self.heap.pop().map(|due| (due.at_ms, due.item))
    }
}

/// One queued item; the heap is a max-heap, so the order is reversed to pop the earliest.
#[derive(Debug)]
struct Due<T> {
    at_ms: i64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Due<T> {
    fn eq(&self, other: &Due<T>) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}

impl<T> Eq for Due<T> {}

impl<T> PartialOrd for Due<T> {
    fn partial_cmp(&self, other: &Due<T>) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Due<T> {
    fn cmp(&self, other: &Due<T>) -> Ordering {
        (other.at_ms, other.seq).cmp(&(self.at_ms, self.seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::JobSpec;
    use crate::store::{DREAMINA_TIMEOUT_MS, Store};

    const LAG_MS: i64 = 120_000;

    fn planned(spec: JobSpec, now_ms: i64) -> Vec<(i64, i64, u64)> {
        let mut store = Store::default();
        let id = store.add(spec, now_ms);
        let job = store.get(&id);
        job.map(|job| plan(job, LAG_MS, now_ms))
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.event_ms, p.due_ms, p.copies))
            .collect()
    }

    fn hooked(spec: JobSpec) -> JobSpec {
        spec.with_reply_url("http://127.0.0.1:9/hook").with_duration(Duration::from_secs(100))
    }

    #[test]
    fn google_flow_calls_back_on_start_and_finish_the_others_on_finish() {
        assert_eq!(planned(hooked(JobSpec::google_flow_video()), 0), [(10_000, 10_000, 1), (100_000, 100_000, 1)]);
        let failing = hooked(JobSpec::google_flow_image()).failing(Failure::new(500, "boom"));
        assert_eq!(planned(failing, 0), [(10_000, 10_000, 1), (100_000, 100_000, 1)]);
        assert_eq!(planned(hooked(JobSpec::dreamina_video()), 0), [(100_000, 100_000, 1)]);
        assert_eq!(planned(hooked(JobSpec::token360_video()), 0), [(100_000, 100_000, 1)]);
        // An instant Google Flow job never shows `started`.
        let instant = hooked(JobSpec::google_flow_image()).with_duration(Duration::ZERO);
        assert_eq!(planned(instant, 0), [(0, 0, 1)]);
    }

    #[test]
    fn only_the_dreamina_sweep_finishes_a_stuck_job() {
        let sweep = DREAMINA_TIMEOUT_MS + LAG_MS;
        assert_eq!(planned(hooked(JobSpec::dreamina_video()).stuck(), 0), [(sweep, sweep, 1)]);
        assert_eq!(planned(hooked(JobSpec::token360_video()).stuck(), 0), []);
        assert_eq!(planned(hooked(JobSpec::google_flow_video()).stuck(), 0), []);
    }

    #[test]
    fn faults_shape_the_plan_and_past_changes_are_not_sent() {
        assert_eq!(planned(JobSpec::token360_video(), 0), [], "no reply URL");
        assert_eq!(planned(hooked(JobSpec::google_flow_video()).with_callback_lost(), 0), []);
        let late = hooked(JobSpec::google_flow_video()).with_callback_delay(Duration::from_secs(5));
        assert_eq!(planned(late, 0), [(10_000, 15_000, 1), (100_000, 105_000, 1)]);
        let doubled = hooked(JobSpec::token360_video()).with_callback_duplicates(u32::MAX);
        assert_eq!(planned(doubled, 0), [(100_000, 100_000, u64::from(u32::MAX) + 1)]);
        // Added 50 s into its run: the start is history, the finish is still to come.
        let midway = hooked(JobSpec::google_flow_video()).with_age(Duration::from_secs(50));
        assert_eq!(planned(midway, 50_000), [(100_000, 100_000, 1)]);
        let finished = hooked(JobSpec::token360_video()).with_age(Duration::from_secs(200));
        assert_eq!(planned(finished, 200_000), []);
    }

    #[test]
    fn only_token360_retries() {
        assert_eq!(retry_gaps_ms(Provider::Token360), [1_000, 3_000]);
        assert!(retry_gaps_ms(Provider::Dreamina).is_empty());
        assert!(retry_gaps_ms(Provider::GoogleFlow).is_empty());
    }

    #[test]
    fn forged_statuses_pick_the_shape_they_claim() {
        let failure = Failure::new(500, "boom");
        assert_eq!(forged_stage("completed", 7, &failure), Stage::Completed { at_ms: 7 });
        assert_eq!(forged_stage("failed", 7, &failure), Stage::Failed { at_ms: 7, failure: Failed::Spec(&failure) });
        assert_eq!(forged_stage("in_progress", 7, &failure), Stage::Running { since_ms: 7 });
        assert_eq!(forged_stage("started", 7, &failure), Stage::Running { since_ms: 7 });
        assert_eq!(forged_stage("bogus", 7, &failure), Stage::Waiting);
    }

    #[test]
    fn the_queue_pops_due_items_earliest_first_and_ties_in_push_order() {
        let mut queue = DueQueue::default();
        for (at_ms, item) in [(30, "c"), (10, "a1"), (20, "b"), (10, "a2")] {
            queue.push(at_ms, item);
        }
        assert_eq!(queue.next_due(), Some(10));
        assert_eq!(queue.pop_due(5), None);
        let mut popped = Vec::new();
        while let Some(due) = queue.pop_due(20) {
            popped.push(due);
        }
        assert_eq!(popped, [(10, "a1"), (10, "a2"), (20, "b")]);
        assert_eq!(queue.next_due(), Some(30));
    }
}
