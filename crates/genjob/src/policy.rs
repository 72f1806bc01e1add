//! When to poll next: a pure function of what is known about a job.
//!
//! The default [`AdaptiveSchedule`] spends slightly less than the request budget of the documented
//! fixed 10-second loop, but spends it where jobs actually finish. Where it has learned how long
//! such jobs take (an estimate in [`PollContext::estimate`]) it follows the optimal plan for that
//! distribution ([`PollPlan`]); with too few samples it plans on the documented typical window,
//! hedged (a job may finish before it, or long after); past the window and past anything learned,
//! it polls at the fixed interval of the same budget. Planned checks may come a little late, never
//! early. Progress reports beat both.

use crate::learn::{DurationEstimate, PlanBudget, PollPlan, Repayment};
use crate::time::secs;
use genjob_models::{JobKind, JobStatus, Provider};
use genjob_transport::FinishWindow;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Never poll one job faster than this.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// What the policy knows when it picks the next delay.
///
/// Built by the watcher before every decision; a policy of your own reads the fields it needs.
/// To build one (in a test or a simulation), start from [`PollContext::new`] and set fields.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PollContext<'a> {
    /// The job's provider.
    pub provider: Provider,
    /// What the job produces, if known.
    pub kind: Option<JobKind>,
    /// The model, if known.
    pub model: Option<&'a str>,
    /// Time since the job was created (from `created` or the id), if known.
    pub age: Option<Duration>,
    /// Time since this wait started.
    pub waited: Duration,
    /// The last observed status (`queued` before the first poll).
    pub status: JobStatus,
    /// The last reported progress in percent.
    pub progress: Option<u8>,
    /// Polls made so far for this job.
    pub polls: u32,
    /// The least delay the server asked for (`Retry-After`).
    pub server_hint: Option<Duration>,
    /// How long the job has been running (not queued), when that is known: progress is a share of
    /// the running time, so it extrapolates from this rather than from the age.
    pub running_for: Option<Duration>,
    /// How long jobs like this one took, learned from earlier records, when enough finished
    /// ([`MIN_FINISHED`](crate::learn::MIN_FINISHED)), or a provisional one from fewer; `None`
    /// means "plan on the documents".
    pub estimate: Option<&'a DurationEstimate>,
    /// The provider's documented time to finish for this kind of job (its adapter declares it:
    /// [`JobSource::documented_window`](genjob_transport::JobSource::documented_window)), if any.
    pub window: Option<TypicalWindow>,
}

/// How long a job has been running, from one reading taken when it was first seen running (at
/// `first` %) and one now, `watched` later (at `progress` %): the start extrapolated back at the
/// job's own rate when it moved, else the time watched if it was first seen at 0 %; `None` when
/// nothing tells.
///
/// ```
/// use genjob::policy::running_time;
/// use std::time::Duration;
/// // First seen at 20 %, 40 % ten seconds later: 2 % a second, so running for 20 s.
/// assert_eq!(running_time(20, Duration::from_secs(10), Some(40)), Some(Duration::from_secs(20)));
/// assert_eq!(running_time(0, Duration::from_secs(10), Some(0)), Some(Duration::from_secs(10)));
/// assert_eq!(running_time(30, Duration::from_secs(10), Some(30)), None);
/// ```
pub fn running_time(first: u8, watched: Duration, progress: Option<u8>) -> Option<Duration> {
    match progress {
        Some(p) if p > first && !watched.is_zero() => {
            let rate = f64::from(p - first) / watched.as_secs_f64();
            Some(secs(f64::from(p) / rate))
        }
        _ if first == 0 => Some(watched),
        _ => None,
    }
}

/// When a running job with progress will finish, extrapolated from its running time (else its age):
/// `None` without a progress strictly between 0 and 100 on a running job.
pub fn predicted_remaining(ctx: &PollContext<'_>) -> Option<Duration> {
    let (Some(p), Some(ran)) = (ctx.progress, ctx.running_for.or(ctx.age)) else { return None };
    (ctx.status == JobStatus::Running && (1..100).contains(&p))
        .then(|| secs(ran.as_secs_f64() * f64::from(100 - p) / f64::from(p)))
}

impl<'a> PollContext<'a> {
    /// A job of `provider` about which nothing else is known yet (status `queued`, no polls).
    pub fn new(provider: Provider) -> Self {
        Self {
            provider,
            kind: None,
            model: None,
            age: None,
            waited: Duration::ZERO,
            status: JobStatus::Queued,
            progress: None,
            polls: 0,
            server_hint: None,
            running_for: None,
            estimate: None,
            window: None,
        }
    }
}

/// Chooses poll delays. Implement it to swap the schedule; see [`AdaptiveSchedule`] and [`FixedInterval`].
pub trait PollPolicy: Send + Sync + Debug {
    /// The delay before the first check (zero means "check at once").
    fn first_delay(&self, ctx: &PollContext<'_>) -> Duration;
    /// The delay before the next check, after an observation. `jitter` is uniform in `[0, 1)`.
    fn next_delay(&self, ctx: &PollContext<'_>, jitter: f64) -> Duration;
}

/// A fixed interval between polls (`--every`), with an immediate first check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedInterval(pub Duration);

impl PollPolicy for FixedInterval {
    fn first_delay(&self, _: &PollContext<'_>) -> Duration {
        Duration::ZERO
    }
    fn next_delay(&self, ctx: &PollContext<'_>, _: f64) -> Duration {
        self.0.max(ctx.server_hint.unwrap_or_default()).max(MIN_INTERVAL)
    }
}

/// The share of a fixed loop's request budget the adaptive schedule aims to spend.
///
/// Slightly under one, so that jitter and rounding never make the schedule costlier than the loop it replaces.
pub const BUDGET_SHARE: f64 = 0.95;

/// The most of the usual budget spent on plans while the estimate follows a change
/// ([`DurationEstimate::is_following_change`], the first
/// [`REPAY_FINISHES`](crate::learn::REPAY_FINISHES) finishes after one); less when what the jobs of
/// the change cost asks for it ([`following_share`]).
///
/// What the jobs in flight at the change overspent is repaid by the jobs after them (measured on
/// issue 21's drift family, seeds 1–15: the first 100 jobs after the change spent 1.01–1.13× the
/// fixed loop's requests, with this 0.88–0.99×; the latency after the change went from 1.04–1.18
/// to 1.09–1.25× the optimum that knows each half. 0.7 cost more latency for little more).
pub const FOLLOWING_SHARE: f64 = 0.8;

/// The least share of the usual budget spent while repaying what the jobs of a change overspent:
/// below it, the jobs after them would wait long for the sake of the ones before.
pub const LEAST_FOLLOWING_SHARE: f64 = 0.5;

/// The share of the `usual` budget to spend while following a change that has cost `cost` so far:
/// what brings the jobs of the change back to the usual budget's share of the fixed loop's
/// requests by the end of the following, if its finishes left spend it; within
/// [`LEAST_FOLLOWING_SHARE`]…[`FOLLOWING_SHARE`].
///
/// The jobs in flight at a change overspend by how far the change moved them, not by a fixed
/// amount (measured on issue 21's drift family, seed 20: the first 18 jobs after it made 837
/// requests where the loop made 423; a fixed share repaid 248 of the 414 in the next 82).
pub fn following_share(cost: &Repayment, usual: &PlanBudget) -> f64 {
    // The loop the usual budget is a share of, at the interval its plans are made for.
    let reference = usual.reference_secs();
    let Some(per_job) = cost.loop_checks_per_job(reference) else { return FOLLOWING_SHARE };
    let left = cost.finishes_left.max(1) as f64;
    // Of the usual budget, itself BUDGET_SHARE of the loop's: the margin it keeps holds here too.
    let spend = 1.0 - cost.excess(reference) / (left * per_job);
    if spend.is_finite() { spend.clamp(LEAST_FOLLOWING_SHARE, FOLLOWING_SHARE) } else { FOLLOWING_SHARE }
}

/// The documented typical run time of a kind of job (what its adapter declares): most finish
/// between `earliest` and `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypicalWindow {
    /// Jobs rarely finish before this age.
    pub earliest: Duration,
    /// Most jobs have finished by this age.
    pub latest: Duration,
}

impl From<FinishWindow> for TypicalWindow {
    fn from(window: FinishWindow) -> Self {
        Self { earliest: window.earliest, latest: window.latest }
    }
}

impl TypicalWindow {
    /// The even spacing inside the window that spends the budget of a fixed `reference` loop.
    ///
    /// A fixed loop polls at zero and every `reference` after, so a job of mean length `m` costs it
    /// about `m / reference + 1.5` requests. Polling at `earliest + step`, `earliest + 2·step`, … costs
    /// about `(m − earliest) / step + 0.5`. Spending [`BUDGET_SHARE`] of the loop's budget gives
    /// `step = (m − earliest) / (share · (m / reference + 1))`. Progress predictions are allowed one
    /// such step of error.
    fn dense_step(&self, reference: Duration) -> Duration {
        let mean = (self.earliest + self.latest).as_secs_f64() / 2.0;
        let requests = BUDGET_SHARE * (mean / reference.as_secs_f64().max(f64::EPSILON) + 1.0);
        let inside = (mean - self.earliest.as_secs_f64()).max(0.0);
        secs(inside / requests).max(MIN_INTERVAL)
    }

    /// The window as a distribution to plan on, hedged: [`BROAD_SHARE`] of the jobs finish anywhere
    /// in `[0, 3 × latest]` — before the documented earliest time, or long after the window.
    pub fn prior(&self) -> DurationEstimate {
        DurationEstimate::window_prior(self.earliest, self.latest, BROAD_SHARE)
    }
}

/// The share of jobs the plan on a documented window expects outside it (spread over `[0, 3 × latest]`).
///
/// Documents describe the typical job; queues, long clips and busy hours make many jobs untypical.
/// With this share the plan checks a few times before the window instead of never, and it cannot
/// pretend that every job is done by the window's end.
pub const BROAD_SHARE: f64 = 0.2;

/// A documented window and a budget (reference interval, share as bits): what a window plan depends on.
type WindowPlanKey = (TypicalWindow, Duration, u64);

/// Plans on documented windows, computed once per window and budget and shared by clones.
#[derive(Debug, Clone, Default)]
struct WindowPlans(Arc<Mutex<HashMap<WindowPlanKey, Arc<PollPlan>>>>);

impl PartialEq for WindowPlans {
    /// A cache of pure results: it never makes two schedules behave differently.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl WindowPlans {
    fn get(&self, window: TypicalWindow, budget: &PlanBudget) -> Arc<PollPlan> {
        // A poisoned lock only means a panic elsewhere mid-insert; the map itself is still whole.
        let mut plans = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (window, budget.reference_interval, budget.share.to_bits());
        plans.entry(key).or_insert_with(|| Arc::new(PollPlan::for_budget(&window.prior(), budget))).clone()
    }
}

/// genjob's default schedule: adapts to the job's kind, age, progress, what was learned about such
/// jobs, and the server's hints.
///
/// In order: a `Retry-After` is a floor; a running job that reports progress is checked just after
/// its extrapolated finish; a job whose kind has a learned estimate follows that estimate's optimal
/// plan (past the latest finish it saw, the hedged documented window describes what is left); a
/// job with a documented typical window follows the optimal plan for the hedged window
/// ([`TypicalWindow::prior`]); past either, it is polled every
/// [`PlanBudget::tail_interval`] (the fixed loop of the same budget, never denser, never sparser);
/// a job of unknown timing backs off from `unknown_initial` to `max_interval`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AdaptiveSchedule {
    /// The fixed loop whose request budget the schedule matches (the documents poll every 10 s).
    pub reference_interval: Duration,
    /// The longest delay for a job of unknown timing, and for a progress prediction.
    ///
    /// Plans (learned or documented) are not capped: a gap where no job finishes is the point of them.
    pub max_interval: Duration,
    /// Relative jitter: 0.1 = ±10 % on the delays that no plan places (unknown timing, progress
    /// predictions, the tail without an age), and up to 10 % late on a planned check of jobs that
    /// may be in lockstep (a documented window, a batch). A learned stream's plan is followed exactly.
    pub jitter: f64,
    /// First delay when nothing is known about the job's timing.
    pub unknown_initial: Duration,
    window_plans: WindowPlans,
}

impl Default for AdaptiveSchedule {
    fn default() -> Self {
        Self {
            reference_interval: Duration::from_secs(10),
            max_interval: Duration::from_secs(30),
            jitter: 0.1,
            unknown_initial: Duration::from_secs(2),
            window_plans: WindowPlans::default(),
        }
    }
}

impl AdaptiveSchedule {
    /// The default schedule (10 s reference loop, 30 s longest unplanned delay, ±10 % jitter on unplanned delays).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the relative jitter ([`AdaptiveSchedule::jitter`]; 0 makes every delay predictable; clamped to 0..=1).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the longest delay for a job of unknown timing.
    pub fn with_max_interval(mut self, max_interval: Duration) -> Self {
        self.max_interval = max_interval;
        self
    }

    /// Sets the fixed loop whose request budget the schedule matches.
    pub fn with_reference_interval(mut self, reference: Duration) -> Self {
        self.reference_interval = reference;
        self
    }

    /// The budget every plan spends: [`BUDGET_SHARE`] of the reference loop's requests.
    pub fn budget(&self) -> PlanBudget {
        PlanBudget::new(self.reference_interval, BUDGET_SHARE)
    }

    /// The budget of a plan on `estimate`: while it follows a change, [`FOLLOWING_SHARE`] of the
    /// usual one, or less when the jobs of the change have cost more than the fixed loop by more
    /// than that repays ([`following_share`]); else the usual one ([`AdaptiveSchedule::budget`]).
    pub fn budget_for(&self, estimate: Option<&DurationEstimate>) -> PlanBudget {
        match estimate.and_then(DurationEstimate::repayment) {
            Some(cost) => {
                PlanBudget::new(self.reference_interval, BUDGET_SHARE * following_share(cost, &self.budget()))
            }
            None => self.budget(),
        }
    }

    /// The plan for this job: the learned estimate's (continued past what it saw by the documented
    /// window, hedged), else the documented window's; `None` if neither.
    pub fn plan(&self, ctx: &PollContext<'_>) -> Option<Arc<PollPlan>> {
        let budget = self.budget_for(ctx.estimate);
        let window = ctx.window;
        match ctx.estimate {
            // A provisional estimate is only a correction of the documents: without them, nothing.
            Some(estimate) if estimate.trust() < 1.0 && window.is_none() => None,
            Some(estimate) => Some(estimate.plan_continued(&budget, window.map(|w| w.prior()).as_ref())),
            None => window.map(|w| self.window_plans.get(w, &budget)),
        }
    }

    /// Progress reports beat averages: just past the finish extrapolated from the rate so far.
    ///
    /// `None` unless the job is running with a progress strictly between 0 and 100.
    fn progress_delay(&self, ctx: &PollContext<'_>) -> Option<Duration> {
        // From the running start when known: a queue before it would make the rate look slow.
        let remaining = predicted_remaining(ctx)?.as_secs_f64();
        let window = ctx.window;
        let step = window.map_or(self.unknown_initial, |w| w.dense_step(self.reference_interval));
        // Aim just past the predicted finish, but never sleep through more than one dense step of error.
        let aimed = secs(remaining).clamp(MIN_INTERVAL, self.max_interval.max(step)).max(step / 2);
        Some(aimed.min(self.max_interval))
    }

    /// The delay before jitter, and how it may be jittered.
    ///
    /// Jitter keeps jobs created together from polling in lockstep. A planned check is jittered
    /// late only: an early one makes the plan add a check just after it (about 4 % more requests
    /// for the same latency, measured), a late one only waits a little longer. And only while jobs
    /// may be in lockstep: on a documented window (nothing learned yet, perhaps one batch) or an
    /// estimate whose running jobs were started together. The jobs of a stream are apart already,
    /// and a late check costs them latency the plan did not buy (measured on two models under one
    /// key, seeds 1–5: 1.17–1.29× the optimum's latency with it, 1.11–1.16× without).
    fn base_delay(&self, ctx: &PollContext<'_>) -> (Duration, Jitter) {
        if let Some(delay) = self.progress_delay(ctx) {
            return (delay, Jitter::Either);
        }
        match (self.plan(ctx), ctx.age) {
            (Some(plan), Some(age)) => {
                let lockstep = ctx.estimate.is_none_or(DurationEstimate::started_together);
                (plan.next_delay(age), if lockstep { Jitter::Late } else { Jitter::None })
            }
            // A plan but no age to place the job in it: the fixed loop of the same budget.
            (Some(_), None) => (self.budget_for(ctx.estimate).tail_interval(), Jitter::Either),
            (None, _) => {
                let grown = self.unknown_initial.as_secs_f64() * 1.5f64.powi(ctx.polls.min(20) as i32);
                (secs(grown).min(self.max_interval), Jitter::Either)
            }
        }
    }
}

/// How a delay may be jittered ([`AdaptiveSchedule::base_delay`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Jitter {
    /// Earlier or later: nothing was placed precisely.
    Either,
    /// Later only: a planned check of jobs that may be in lockstep.
    Late,
    /// Not at all: a planned check of a job apart from the others.
    None,
}

impl PollPolicy for AdaptiveSchedule {
    fn first_delay(&self, ctx: &PollContext<'_>) -> Duration {
        match (self.plan(ctx), ctx.age) {
            // A job too young to be done waits for its first useful check; an older one is read at once.
            (Some(plan), Some(age)) => plan.first_delay(age),
            _ => Duration::ZERO,
        }
    }

    fn next_delay(&self, ctx: &PollContext<'_>, jitter: f64) -> Duration {
        let (base, how) = self.base_delay(ctx);
        let (spread, draw) = (self.jitter.clamp(0.0, 1.0), jitter.clamp(0.0, 1.0));
        let factor = match how {
            Jitter::Either => 1.0 + spread * (2.0 * draw - 1.0),
            Jitter::Late => 1.0 + spread * draw,
            Jitter::None => 1.0,
        };
        let jittered = secs(base.as_secs_f64() * factor);
        jittered.max(ctx.server_hint.unwrap_or_default()).max(MIN_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The windows the adapters declare for the kinds these tests use (shared/PROVIDER_FACTS.md).
    fn documented(provider: Provider, kind: JobKind) -> Option<TypicalWindow> {
        let window = |earliest, latest| TypicalWindow {
            earliest: Duration::from_secs(earliest),
            latest: Duration::from_secs(latest),
        };
        match (provider, kind) {
            (Provider::Dreamina | Provider::GoogleFlow, JobKind::Video) => Some(window(60, 180)),
            (Provider::Dreamina, JobKind::Image) => Some(window(15, 120)),
            (Provider::GoogleFlow, JobKind::Image) => Some(window(10, 20)),
            _ => None,
        }
    }

    fn ctx(provider: Provider, kind: JobKind, age: u64) -> PollContext<'static> {
        let mut c = PollContext::new(provider);
        c.window = documented(provider, kind);
        c.kind = Some(kind);
        c.age = Some(Duration::from_secs(age));
        c.polls = 1;
        c
    }

    fn tail() -> Duration {
        AdaptiveSchedule::default().budget().tail_interval()
    }

    #[test]
    fn progress_extrapolates_from_the_running_start_not_the_queue() {
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        // 100 s old, of which 80 s queued: half done after 20 s of running, so about 20 s to go.
        let mut ctx = PollContext::new(Provider::Token360);
        (ctx.kind, ctx.model, ctx.age) = (Some(JobKind::Video), Some("seedance-2.0"), Some(Duration::from_secs(100)));
        (ctx.status, ctx.progress) = (JobStatus::Running, Some(50));
        let from_age = s.next_delay(&ctx, 0.5);
        ctx.running_for = Some(Duration::from_secs(20));
        let from_start = s.next_delay(&ctx, 0.5);
        assert!(from_start < from_age, "{from_start:?} vs {from_age:?}");
        assert!((19.0..=21.0).contains(&from_start.as_secs_f64()), "{from_start:?}");
    }

    #[test]
    fn a_fresh_video_is_checked_sparsely_before_its_window_and_a_resumed_one_at_once() {
        let s = AdaptiveSchedule::default();
        let first = s.first_delay(&ctx(Provider::Dreamina, JobKind::Video, 2));
        // Not at once, and not later than a little into the 60–180 s window.
        assert!(first > Duration::from_secs(10) && first < Duration::from_secs(70), "{first:?}");
        assert_eq!(s.first_delay(&ctx(Provider::Dreamina, JobKind::Video, 3600)), Duration::ZERO);
        let mut unknown = ctx(Provider::Token360, JobKind::Video, 0);
        (unknown.kind, unknown.age) = (None, None);
        assert_eq!(s.first_delay(&unknown), Duration::ZERO);
    }

    #[test]
    fn the_window_plan_is_dense_inside_and_the_equal_budget_loop_after() {
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        let plan = s.plan(&ctx(Provider::Dreamina, JobKind::Video, 0)).unwrap_or_else(|| panic!());
        let checks = plan.checks();
        let before = checks.iter().filter(|c| **c < Duration::from_secs(60)).count();
        assert!((1..=3).contains(&before), "a few checks before the window, not none: {checks:?}");
        let inside = s.next_delay(&ctx(Provider::Dreamina, JobKind::Video, 90), 0.5);
        assert!(inside < tail() && inside >= MIN_INTERVAL, "{inside:?}");
        // Past the window: the fixed loop of the same budget, neither denser nor sparser, for ever.
        for age in [180, 181, 400, 3000, 86_400] {
            assert_eq!(s.next_delay(&ctx(Provider::Dreamina, JobKind::Video, age), 0.5), tail(), "{age}");
        }
        assert!((tail().as_secs_f64() - 10.0 / BUDGET_SHARE).abs() < 1e-6);
        let image = s.next_delay(&ctx(Provider::GoogleFlow, JobKind::Image, 12), 0.5);
        assert!(image < inside && image >= MIN_INTERVAL);
    }

    #[test]
    fn a_learned_estimate_replaces_the_documents() {
        // A faster model: 30–60 s, which the documented 60–180 s window would wait through.
        let samples: Vec<f64> = (0..40).map(|i| 30.0 + 0.75 * f64::from(i)).collect();
        let estimate = DurationEstimate::from_samples(&samples, &[]).unwrap_or_else(|| panic!());
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        let mut c = ctx(Provider::Dreamina, JobKind::Video, 0);
        c.estimate = Some(&estimate);
        let first = s.first_delay(&c);
        assert!(first > Duration::from_secs(29) && first < Duration::from_secs(45), "{first:?}");
        c.age = Some(Duration::from_secs(45));
        assert!(s.next_delay(&c, 0.5) < Duration::from_secs(10));
        // Past everything learned: the equal-budget loop.
        c.age = Some(Duration::from_secs(300));
        assert_eq!(s.next_delay(&c, 0.5), tail());
    }

    /// The default schedule's plans for a fresh video on each of two estimates.
    fn video_plans(first: &DurationEstimate, second: &DurationEstimate) -> (Arc<PollPlan>, Arc<PollPlan>) {
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        let mut c = ctx(Provider::Dreamina, JobKind::Video, 0);
        c.estimate = Some(first);
        let one = s.plan(&c).unwrap_or_else(|| panic!());
        c.estimate = Some(second);
        (one, s.plan(&c).unwrap_or_else(|| panic!()))
    }

    #[test]
    fn an_estimate_following_a_change_is_planned_on_a_smaller_budget() {
        let samples: Vec<f64> = (0..40).map(|i| 30.0 + 0.75 * f64::from(i)).collect();
        let usual = DurationEstimate::from_samples(&samples, &[]).unwrap_or_else(|| panic!());
        let following = DurationEstimate::from_samples(&samples, &[])
            .unwrap_or_else(|| panic!())
            .following_change(Repayment::default());
        let (usual_plan, following_plan) = video_plans(&usual, &following);
        // The same distribution, FOLLOWING_SHARE of the checks (each plan is the largest under its
        // allowance, so within a plan's step of it), and a sparser loop past it.
        let ratio = following_plan.expected_checks() / usual_plan.expected_checks();
        assert!(ratio <= FOLLOWING_SHARE + 0.03 && ratio > FOLLOWING_SHARE - 0.1, "{ratio}");
        assert!(following_plan.tail_interval() > usual_plan.tail_interval());
        let mut c = ctx(Provider::Dreamina, JobKind::Video, 0);
        (c.estimate, c.age) = (Some(&following), Some(Duration::from_secs(300)));
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        assert_eq!(s.next_delay(&c, 0.5), secs(10.0 / (BUDGET_SHARE * FOLLOWING_SHARE)));
    }

    #[test]
    fn the_share_while_following_repays_what_the_jobs_of_the_change_overspent() {
        let ten = PlanBudget::default();
        // Twenty jobs watched 200 s each: a 10-second loop makes 21.5 checks a job on average.
        let cost = |checks: u64, left: u64| Repayment { checks, watched_secs: 4_000.0, jobs: 20, finishes_left: left };
        assert!((cost(430, 80).loop_checks_per_job(10.0).unwrap_or_default() - 21.5).abs() < 1e-9);
        // Nothing counted yet, or no more than the loop spent: the usual following share.
        assert_eq!(following_share(&Repayment { finishes_left: 80, ..Repayment::default() }, &ten), FOLLOWING_SHARE);
        assert_eq!(following_share(&cost(430, 80), &ten), FOLLOWING_SHARE);
        // Twice the loop's checks (430 over): the 80 finishes left spend 430 less than the loop,
        // 1 − 430 / (80 × 21.5) = 0.75 of the usual budget.
        assert!((following_share(&cost(860, 80), &ten) - 0.75).abs() < 1e-9);
        // The fewer finishes are left, the less each spends, but never under the least share.
        assert!(following_share(&cost(860, 40), &ten) < 0.75);
        assert_eq!(following_share(&cost(860, 10), &ten), LEAST_FOLLOWING_SHARE);
        assert_eq!(following_share(&cost(u64::MAX, 0), &ten), LEAST_FOLLOWING_SHARE);
        // A loop of no interval is read at the least interval, as the budget reads it: such a
        // loop would have made more checks than these jobs did, so no less than the usual share.
        let zero = PlanBudget::new(Duration::ZERO, BUDGET_SHARE);
        assert_eq!(following_share(&cost(860, 80), &zero), FOLLOWING_SHARE);

        // And the plans follow: the overspent change's plan makes fewer checks.
        let samples: Vec<f64> = (0..40).map(|i| 30.0 + 0.75 * f64::from(i)).collect();
        let estimate = |cost: Repayment| {
            DurationEstimate::from_samples(&samples, &[]).unwrap_or_else(|| panic!()).following_change(cost)
        };
        let (even, overspent) = (estimate(cost(430, 80)), estimate(cost(860, 10)));
        let (even_plan, overspent_plan) = video_plans(&even, &overspent);
        let ratio = overspent_plan.expected_checks() / even_plan.expected_checks();
        let wanted = LEAST_FOLLOWING_SHARE / FOLLOWING_SHARE;
        assert!(ratio <= wanted + 0.05 && ratio > wanted - 0.1, "{ratio}");
        let mut c = ctx(Provider::Dreamina, JobKind::Video, 0);
        (c.estimate, c.age) = (Some(&overspent), Some(Duration::from_secs(300)));
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        assert_eq!(s.next_delay(&c, 0.5), secs(10.0 / (BUDGET_SHARE * LEAST_FOLLOWING_SHARE)));
    }

    #[test]
    fn a_stream_follows_its_learned_plan_exactly_and_a_batch_comes_late() {
        let samples: Vec<f64> = (0..40).map(|i| 30.0 + 0.75 * f64::from(i)).collect();
        let s = AdaptiveSchedule::default();
        let exact = AdaptiveSchedule::new().with_jitter(0.0);
        // Jobs of a stream, running at ages 5–100 s: apart already, so no draw moves a planned check.
        let ages: Vec<f64> = (0..20).map(|i| 5.0 + 5.0 * f64::from(i)).collect();
        let stream = DurationEstimate::from_samples(&samples, &ages).unwrap_or_else(|| panic!());
        // A batch: 30 jobs created within 2 s, now 40 s old.
        let batch = DurationEstimate::from_samples(&samples, &[40.0; 30]).unwrap_or_else(|| panic!());
        assert!(!stream.started_together() && batch.started_together());
        let mut c = ctx(Provider::Dreamina, JobKind::Video, 41);
        c.estimate = Some(&stream);
        let plan = exact.next_delay(&c, 0.5);
        for draw in [0.0, 0.5, 0.999] {
            assert_eq!(s.next_delay(&c, draw), plan, "{draw}");
        }
        c.estimate = Some(&batch);
        let plan = exact.next_delay(&c, 0.5).as_secs_f64();
        assert!((s.next_delay(&c, 0.0).as_secs_f64() - plan).abs() < 1e-6);
        let late = s.next_delay(&c, 0.999).as_secs_f64();
        assert!(late > plan && late <= plan * 1.1 + 1e-6, "{late} vs {plan}");
    }

    #[test]
    fn server_hint_and_floor_win() {
        let s = AdaptiveSchedule::default();
        let mut hinted = ctx(Provider::Dreamina, JobKind::Video, 90);
        hinted.server_hint = Some(Duration::from_secs(45));
        assert_eq!(s.next_delay(&hinted, 0.0), Duration::from_secs(45));
        let fixed = FixedInterval(Duration::from_millis(100));
        assert_eq!(fixed.next_delay(&ctx(Provider::Dreamina, JobKind::Video, 90), 0.0), MIN_INTERVAL);
    }

    #[test]
    fn progress_predicts_the_finish() {
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        let mut c = ctx(Provider::Token360, JobKind::Video, 20);
        (c.status, c.progress, c.model) = (JobStatus::Running, Some(50), Some("seedance-2.0"));
        // Half done after 20 s: about 20 s to go.
        assert_eq!(s.next_delay(&c, 0.5), Duration::from_secs(20));
    }

    #[test]
    fn unknown_timing_backs_off_to_the_longest_delay() {
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        let mut c = ctx(Provider::Token360, JobKind::Video, 20);
        c.polls = 0;
        assert_eq!(s.next_delay(&c, 0.5), s.unknown_initial);
        c.polls = 20;
        assert_eq!(s.next_delay(&c, 0.5), s.max_interval);
    }

    #[test]
    fn absurd_ages_and_settings_give_bounded_delays_not_panics() {
        // A record created in year 1: two thousand years past the 10–20 s window of a Google Flow image.
        let ancient = ctx(Provider::GoogleFlow, JobKind::Image, 2025 * 365 * 24 * 3600);
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        assert_eq!(s.next_delay(&ancient, 0.5), tail());
        let wild = AdaptiveSchedule::new().with_jitter(f64::NAN).with_max_interval(Duration::MAX);
        assert!(wild.next_delay(&ancient, 0.5) <= crate::time::MAX_DELAY);
        let odd = AdaptiveSchedule::new().with_reference_interval(Duration::ZERO);
        assert!(odd.next_delay(&ctx(Provider::Dreamina, JobKind::Video, 90), 0.5) >= MIN_INTERVAL);
        let mut hinted = ancient;
        hinted.server_hint = Some(Duration::MAX);
        assert!(s.next_delay(&hinted, 0.5) >= s.max_interval);
    }

    #[test]
    fn jitter_stays_within_bounds_and_planned_checks_only_come_late() {
        let s = AdaptiveSchedule::default();
        let mut c = ctx(Provider::Token360, JobKind::Video, 20);
        c.polls = 3;
        let base = AdaptiveSchedule::new().with_jitter(0.0).next_delay(&c, 0.5).as_secs_f64();
        for j in [0.0, 0.25, 0.5, 0.75, 0.999] {
            let d = s.next_delay(&c, j).as_secs_f64();
            assert!((base * 0.9 - 1e-6..=base * 1.1 + 1e-6).contains(&d), "{d} vs {base}");
        }
        let planned = ctx(Provider::Dreamina, JobKind::Video, 90);
        let plan = AdaptiveSchedule::new().with_jitter(0.0).next_delay(&planned, 0.5).as_secs_f64();
        assert!((s.next_delay(&planned, 0.0).as_secs_f64() - plan).abs() < 1e-6);
        let latest = s.next_delay(&planned, 0.999).as_secs_f64();
        assert!(latest > plan && latest <= plan * 1.1 + 1e-6, "{latest} vs {plan}");
    }
}
