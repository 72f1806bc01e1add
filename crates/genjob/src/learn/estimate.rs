//! One estimated distribution of time-to-finish: Kaplan–Meier over finished and still-running jobs.
//!
//! The estimate is a piecewise-linear distribution function through knots, plus the mass that lies
//! beyond the last knot (jobs seen running longer than any finished one). Piecewise linear because
//! the schedule's dynamic programme then computes expected latencies exactly, and because the
//! Kaplan–Meier steps, spread evenly between neighbouring finish times, are the least-assuming smooth
//! version of the samples: no bandwidth to choose, no mass put where no job ever finished.

use super::plan::{PlanBudget, PollPlan};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest time-to-finish a sample may claim (a day); longer ones are broken or hostile records.
pub const MAX_SAMPLE: Duration = Duration::from_secs(24 * 60 * 60);

/// Half the resolution of the coarsest provider timestamps (whole seconds): a lone finish time is
/// spread at least this far each way.
const MIN_HALF_WIDTH: f64 = 0.5;

/// More distinct finish times than this are thinned to as many quantiles (a large reference sample).
const MAX_KNOTS: usize = 512;
/// A prior is contradicted at an age where more than this many times the share of jobs it leaves
/// running are still running …
const PRIOR_CONTRADICTED: f64 = 2.0;
/// … or where the share still running exceeds it by more than this many standard errors of a
/// share of that many samples, plus [`CONTRADICTION_MARGIN`]: 20 of a batch of 1,000 finished
/// where the documents expect 177 is a contradiction, though 967 running is not twice 823.
const CONTRADICTION_Z: f64 = 3.0;
/// The least excess of the share still running over the prior's that contradicts it.
const CONTRADICTION_MARGIN: f64 = 0.02;
/// Running jobs whose ages have an interquartile range at most this share of their median were
/// started together: a batch, which drains like a queue …
pub(crate) const BATCH_SPREAD: f64 = 0.25;
/// … if there are at least this many, for the pace of their queue: a few jobs of a stream can
/// share an age by chance.
const MIN_BATCH: usize = 20;
/// The share of the running jobs that must still be at risk where Kaplan–Meier is read (measured
/// on a queued burst of 1,000: a half, 65.8 requests a job; a quarter, 67.3; a tenth, 72.2; none,
/// 107; the built-in families' latency moves by at most 4 % with a quarter).
const RUNNING_AT_RISK: f64 = 0.25;

/// Finishes on each side over which one finish is spread.
///
/// The plan puts its checks where the estimate's density is, so that density must not be as uneven
/// as the gaps between a few draws. Spread to its neighbours only, a finish made the density
/// between two draws the inverse of their gap, and plans on few finishes followed those gaps.
/// Measured by `cargo xtask bench --only sample` (plans on n draws of issue 21's families, scored on
/// each family's true distribution against the plans on it at equal checks; mean of seeds 1–9),
/// 1 → 4 finishes a side: two models under one key 1.20 → 1.15× at 100 draws, 1.10 → 1.08× at 400,
/// 1.05 → 1.04× at 1,000; drifting jobs 1.15 → 1.06× at 100; a queue before running 1.27 → 1.24×;
/// very short jobs 1.05 → 1.04×; from 50 draws on, none is worse by more than 0.001. Eight a side
/// blurs the edges of two models (1.07× at 1,000).
///
/// That is the least: from 21 finishes on (√n rounds above 4), a finish is spread over √n a side
/// (at most [`MAX_SPREAD_FINISHES`]), except near an edge ([`reach_counts`]).
const SPREAD_FINISHES: usize = 4;
/// The most finishes on each side over which one finish is spread: √n up to it.
///
/// Four a side leave the density as uneven as four draws, however many there are, and the plan
/// follows that unevenness: on one uniform window, 1,000 draws planned at 1.037× the plan on the
/// truth. √n a side (32 at the 1,024 finishes the store keeps) makes the density's noise shrink as
/// finishes come in. Measured by `cargo xtask bench --only sample` with 32 samples a size (mean of
/// seeds 1–12), 4 → √n with the edges kept ([`reach_counts`]), at 100 / 400 / 1,000 draws: drifting
/// jobs 1.061 / 1.052 / 1.037 → 1.051 / 1.030 / 1.025×; two models under one key 1.153 / 1.079 /
/// 1.043 → 1.138 / 1.049 / 1.024×; a Pareto tail 1.334 / 1.151 / 1.124 → 1.259 / 1.095 / 1.076×;
/// a queue before running 1.088 / 1.052 / 1.041 → 1.058 / 1.027 / 1.022×. A large reference sample
/// (thinned to [`MAX_KNOTS`] steps) is still spread to its neighbours only.
///
/// Not for a batch (running jobs started together, [`started_together`]): its finishes are the
/// first of a queue read against the running jobs, and spread wide they cost a burst of 1,000
/// queuing jobs (seed 2) 1.02 → 1.11× the optimum, its latency over the fixed loop's; kept at
/// four a side, 1.00×. Why was not traced.
const MAX_SPREAD_FINISHES: usize = 32;
/// A gap between two finish times more than this many times the mean gap of the
/// [`BREAK_WINDOW`] on each side of it (the larger) is a break: an empty stretch between two
/// kinds of job, which a finish is not spread across by more than [`SPREAD_FINISHES`].
///
/// Measured as above: 16 took a Pareto tail's uneven gaps for breaks (1.110 → 1.095× at 400 draws
/// with 32); 64 missed some breaks between two models at 50–100 draws (1.138 → 1.146× at 100).
const BREAK_GAP: f64 = 32.0;
/// The gaps on each side of a gap that say how wide gaps are around it.
const BREAK_WINDOW: usize = 4;

/// A finish time is spread at most this fraction of itself towards an empty side (an edge).
///
/// Narrow, so that the edges of what was seen stay sharp: spread by half the gap to a neighbour
/// (up to half of itself), the last fast job of two models under one key smeared a share of the
/// jobs into the empty stretch between them, and the plan spent checks there and fewer where jobs
/// finish (measured: mixed-models 1.26 → 1.20 × the oracle's latency on seed 1, 1.34 → 1.32 on seed 2;
/// the built-in families' worst ratio 1.17 → 1.14, queueing 1.13 → 0.97, busy-hours 1.17 → 1.05).
const MAX_RELATIVE_SPREAD: f64 = 0.1;

/// Where finishes are sparse on both sides (a tail), a finish is spread up to this fraction of
/// itself either way …
///
/// The cap of [`MAX_RELATIVE_SPREAD`] keeps an edge: finishes dense on one side, none on the other.
/// In a heavy tail there is no edge, only finishes far apart; capped at a tenth, each stayed a
/// narrow lump with nothing between, and the plan skipped the stretches between lumps (a Pareto
/// tail, seed 11: a job finishing at 206 s, between lumps near 185 s and 366 s, waited 160 s).
/// Measured by `cargo xtask bench --only sample` (mean of seeds 1–9, both against the reference as
/// it was), a tenth → this rule: the Pareto tail 2.46 → 1.42× the plan on its distribution at 100
/// draws and 1.42 → 1.16× at 1,000; two models under one key 1.83 → 1.45× at 20 draws, unchanged
/// from 100 on; a queue before running 2.09 → 1.29× at 20 and 1.24 → 1.11× at 100. The reference
/// (20,000 draws thinned to 512 steps) follows the rule too: its sparse far tail had holes as well,
/// and the bench's limit on a Pareto tail is now lower (seed 6: 2.85 → 2.41 s at equal requests).
const TAIL_SPREAD: f64 = 0.5;
/// … and each side at most this many times as far as the other: towards an empty side from a
/// dense one (an edge), the cap of [`MAX_RELATIVE_SPREAD`] holds. Four times blurred two models'
/// edges (1.15 → 1.16× at 100 draws) for little more in the Pareto tail.
const TAIL_ASYMMETRY: f64 = 2.0;

/// What a cached plan was computed for: a budget, and the knots of the distribution that continued
/// the estimate past its horizon, if any.
type PlanKey = (PlanBudget, Option<Vec<(f64, f64)>>);

/// What watching the jobs of a followed change has cost, and in how many finishes it is to be
/// repaid: the schedule spends less while the jobs of the change have cost more than a fixed loop.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Repayment {
    /// Checks made on the jobs counted.
    pub checks: u64,
    /// Seconds they were watched, each from its first check to its finish.
    pub watched_secs: f64,
    /// Jobs counted: the finishes that showed the change and those after it, as reported.
    pub jobs: u32,
    /// Finishes left before the change is no longer followed.
    pub finishes_left: u64,
}

impl Repayment {
    /// The checks a fixed loop polling every `reference` seconds makes on such a job, on average:
    /// one at the start, one per interval, and the one that sees the finish half an interval late.
    pub fn loop_checks_per_job(&self, reference: f64) -> Option<f64> {
        (self.jobs > 0 && reference > 0.0).then(|| self.watched_secs / f64::from(self.jobs) / reference + 1.5)
    }

    /// Checks made beyond what that loop would have made on the same jobs (negative: fewer).
    pub fn excess(&self, reference: f64) -> f64 {
        let per_job = self.loop_checks_per_job(reference).unwrap_or(0.0);
        self.checks as f64 - per_job * f64::from(self.jobs)
    }

    /// Adds one job's `checks` over `watched_secs`.
    pub(crate) fn add(&mut self, checks: u32, watched_secs: f64) {
        self.checks = self.checks.saturating_add(u64::from(checks));
        self.watched_secs += watched_secs;
        self.jobs = self.jobs.saturating_add(1);
    }
}

/// The learned (or assumed) distribution of how long a kind of job takes to finish.
///
/// Built from samples with [`DurationEstimate::from_samples`], or from a documented window with
/// [`DurationEstimate::window_prior`]. [`DurationEstimate::plan`] gives the poll plan that spends a
/// budget best under it, computed once per budget and kept.
///
/// ```
/// use genjob::learn::{DurationEstimate, PlanBudget};
/// use std::time::Duration;
/// let finished: Vec<f64> = (0..40).map(|i| 60.0 + 3.0 * f64::from(i)).collect();
/// let estimate = DurationEstimate::from_samples(&finished, &[]).ok_or("no samples")?;
/// let plan = estimate.plan(&PlanBudget::default());
/// // Nothing finished before 60 s, so the first check comes after that.
/// assert!(plan.first_check() > Duration::from_secs(58));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DurationEstimate {
    /// (age in seconds, fraction finished by then): ages strictly increasing, fractions non-decreasing in [0, 1].
    knots: Vec<(f64, f64)>,
    /// Finished samples behind the estimate.
    finished: u32,
    /// Still-running (right-censored) samples behind the estimate.
    censored: u32,
    /// Whether the running jobs behind it were started together ([`started_together`]).
    batch: bool,
    /// The share of the truth it is taken for (1 once enough jobs finished); the documents are the rest.
    trust: f64,
    /// What the jobs of a change it follows have cost so far ([`DurationEstimate::following_change`]).
    following: Option<Repayment>,
    /// Plans computed from this estimate, one per budget and continuation.
    plans: Mutex<Vec<(PlanKey, Arc<PollPlan>)>>,
}

impl std::fmt::Debug for DurationEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The plans are a cache of this data; their grids would drown it.
        f.debug_struct("DurationEstimate")
            .field("finished", &self.finished)
            .field("censored", &self.censored)
            .field("tail_mass", &self.tail_mass())
            .field("batch", &self.batch)
            .field("following", &self.following)
            .field("knots", &self.knots)
            .finish_non_exhaustive()
    }
}

impl PartialEq for DurationEstimate {
    /// Two estimates are equal when they describe the same distribution (cached plans aside).
    fn eq(&self, other: &Self) -> bool {
        self.knots == other.knots
            && self.finished == other.finished
            && self.censored == other.censored
            && self.batch == other.batch
            && self.trust == other.trust
            && self.following == other.following
    }
}

impl DurationEstimate {
    /// Kaplan–Meier over `finished` times-to-finish and `running` ages of jobs not finished yet (seconds).
    ///
    /// Values that are not finite, not positive or beyond [`MAX_SAMPLE`] are ignored; `None` when no
    /// finished sample remains. A job still running at age `t` says only that its time is longer than
    /// `t`: it stays in the risk set until `t` and then leaves it, so long jobs that have not finished
    /// yet do not make the estimate believe that jobs are short.
    pub fn from_samples(finished: &[f64], running: &[f64]) -> Option<Self> {
        let valid = |v: &f64| v.is_finite() && *v > 0.0 && *v <= MAX_SAMPLE.as_secs_f64();
        // (time, finished?) with finishes first at equal times: a job censored at t was at risk at t.
        let mut events: Vec<(f64, bool)> = finished
            .iter()
            .filter(|v| valid(v))
            .map(|&v| (v, true))
            .chain(running.iter().filter(|v| valid(v)).map(|&v| (v, false)))
            .collect();
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        let finished_count = events.iter().filter(|e| e.1).count();
        if finished_count == 0 {
            return None;
        }
        let mut at_risk = events.len() as f64;
        // Kaplan–Meier is read only while a quarter of the running jobs (and three jobs) are at
        // risk: a batch's running jobs share nearly one age, and past it a few finishes against a
        // shrinking risk set would say most of the batch ends within seconds (measured on a queued
        // burst: 31 % of all jobs in 20 s, where 1.4 % did). What is left there is the tail.
        let still_running = (events.len() - finished_count) as f64;
        let min_at_risk = if still_running > 0.0 { (still_running * RUNNING_AT_RISK).max(3.0) } else { 0.0 };
        let mut survival = 1.0f64;
        // (distinct finish time, fraction finished by it)
        let mut steps: Vec<(f64, f64)> = Vec::new();
        let mut i = 0;
        while i < events.len() {
            if at_risk < min_at_risk {
                break;
            }
            let t = events[i].0;
            let (mut done, mut left) = (0.0f64, 0.0f64);
            while i < events.len() && events[i].0 == t {
                if events[i].1 {
                    done += 1.0;
                }
                left += 1.0;
                i += 1;
            }
            if done > 0.0 && at_risk > 0.0 {
                survival *= 1.0 - done / at_risk;
                steps.push((t, (1.0 - survival).clamp(0.0, 1.0)));
            }
            at_risk -= left;
        }
        if steps.is_empty() {
            return None;
        }
        let steps = thin(steps);
        // The running ages, in order: the events are sorted already.
        let ages: Vec<f64> = events.iter().filter(|e| !e.1).map(|e| e.0).collect();
        let batch = started_together(&ages, MIN_BATCH);
        // A step of a thinned reference sample holds many finishes already: it is spread to its
        // neighbours only, and the reference keeps its edges.
        let in_steps = |finishes: usize| (finishes * steps.len()).div_ceil(finished_count.max(1)).max(1);
        // A batch's finishes are spread narrowly: see MAX_SPREAD_FINISHES.
        let wide = if batch { SPREAD_FINISHES } else { (finished_count as f64).sqrt().round() as usize };
        let wide = wide.clamp(SPREAD_FINISHES, MAX_SPREAD_FINISHES);
        let knots = spread(&steps, in_steps(SPREAD_FINISHES), in_steps(wide));
        let censored = events.len() - finished_count;
        let mut estimate = Self::with_knots(knots, count(finished_count), count(censored));
        estimate.batch = batch;
        Some(estimate)
    }

    /// What the documents say, hedged: most jobs finish uniformly inside `[earliest, latest]`, and a
    /// `broad_share` of them anywhere in `[0, 3 × latest]` (earlier than documented, or much later).
    ///
    /// The distribution ends at `latest`: what lies beyond is the tail, polled at the fixed interval
    /// of the plan's budget ([`PlanBudget::tail_interval`]).
    pub fn window_prior(earliest: Duration, latest: Duration, broad_share: f64) -> Self {
        let b = latest.as_secs_f64().max(MIN_HALF_WIDTH * 2.0);
        let a = earliest.as_secs_f64().clamp(0.0, b - MIN_HALF_WIDTH);
        let w = if broad_share.is_finite() { broad_share.clamp(0.0, 1.0) } else { 0.0 };
        let broad = |t: f64| w * t / (3.0 * b);
        let mut knots = vec![(0.0, 0.0)];
        if a > 0.0 {
            knots.push((a, broad(a)));
        }
        knots.push((b, (1.0 - w) + broad(b)));
        Self::with_knots(knots, 0, 0)
    }

    fn with_knots(knots: Vec<(f64, f64)>, finished: u32, censored: u32) -> Self {
        Self { knots, finished, censored, batch: false, trust: 1.0, following: None, plans: Mutex::new(Vec::new()) }
    }

    /// This estimate taken for only `trust` (in 0..=1) of the truth: its plans mix it with the
    /// documents for the rest.
    ///
    /// A few finishes are a sample too small to stand alone, but they say where the documents are
    /// wrong: two models under one key whose fast one finishes before the documented window were
    /// read at the window's checks (a first at 34 s, the next at 68 s) until 20 had finished, and
    /// each fast job waited 20–27 s.
    pub fn provisional(mut self, trust: f64) -> Self {
        self.trust = if trust.is_finite() { trust.clamp(0.0, 1.0) } else { 0.0 };
        self
    }

    /// The share of the truth the estimate is taken for: below 1 while it rests on few finishes.
    pub fn trust(&self) -> f64 {
        self.trust
    }

    /// This estimate marked as made while following a change in how long jobs take, with what the
    /// jobs of the change have cost so far (the store marks it for the first
    /// [`REPAY_FINISHES`](crate::learn::REPAY_FINISHES) finishes after one): the schedule plans on
    /// it with a smaller budget ([`AdaptiveSchedule::budget_for`](crate::policy::AdaptiveSchedule::budget_for)).
    pub fn following_change(mut self, cost: Repayment) -> Self {
        self.following = Some(cost);
        self
    }

    /// Whether the estimate was made while following a change ([`DurationEstimate::following_change`]).
    pub fn is_following_change(&self) -> bool {
        self.following.is_some()
    }

    /// What the jobs of the change it follows have cost so far; `None` when it follows none.
    pub fn repayment(&self) -> Option<&Repayment> {
        self.following.as_ref()
    }

    /// `weight` of this distribution and the rest of `other`, each with its own tail.
    fn mixed_with(&self, other: &DurationEstimate, weight: f64) -> DurationEstimate {
        let mut ages: Vec<f64> = self.knots.iter().chain(&other.knots).map(|k| k.0).collect();
        ages.sort_by(f64::total_cmp);
        ages.dedup();
        let knots = ages.into_iter().map(|t| (t, weight * self.cdf(t) + (1.0 - weight) * other.cdf(t))).collect();
        let mut mixed = Self::with_knots(knots, self.finished, self.censored);
        mixed.batch = self.batch;
        mixed
    }

    /// Whether the running jobs behind the estimate were started together (a batch of at least 20).
    pub fn started_together(&self) -> bool {
        self.batch
    }

    /// Finished samples behind the estimate (zero for a documented window).
    pub fn finished(&self) -> u32 {
        self.finished
    }

    /// Still-running samples behind the estimate.
    pub fn censored(&self) -> u32 {
        self.censored
    }

    /// The age past which the estimate says nothing more: the latest finish seen (or the window's end).
    pub fn horizon(&self) -> Duration {
        crate::time::secs(self.horizon_secs())
    }

    pub(crate) fn horizon_secs(&self) -> f64 {
        self.knots.last().map_or(0.0, |k| k.0)
    }

    pub(crate) fn knots(&self) -> &[(f64, f64)] {
        &self.knots
    }

    /// The fraction of jobs finished by `age` (seconds).
    pub fn cdf(&self, age: f64) -> f64 {
        let k = &self.knots;
        let Some(&(first_t, first_f)) = k.first() else { return 0.0 };
        if age.is_nan() || age < first_t {
            return 0.0;
        }
        let i = k.partition_point(|p| p.0 <= age);
        match (k.get(i.wrapping_sub(1)), k.get(i)) {
            (Some(&(t0, f0)), Some(&(t1, f1))) if t1 > t0 => f0 + (f1 - f0) * (age - t0) / (t1 - t0),
            (Some(&(_, f0)), _) => f0,
            _ => first_f,
        }
    }

    /// Expected checks and expected latency (seconds) of checking at `checks` (ascending ages,
    /// seconds; then every `tail` past the last until past the horizon) a job watched from age 0
    /// that finishes as this estimate says: how a schedule made on another distribution does here.
    ///
    /// The check at `c` is made while the job runs at the check before (`p`, 0 for the first): it
    /// counts `S(p)`, and a job finishing in `(p, c]` waits `∫ₚᶜ (F(x) − F(p)) dx`, exact for the
    /// piecewise-linear `F`.
    pub fn cost_of_checks(&self, checks: &[f64], tail: f64) -> (f64, f64) {
        let horizon = self.horizon_secs();
        // A tail too short to pass the horizon in reasonable time is no schedule a budget allows.
        let tail = tail.max(MIN_HALF_WIDTH);
        let mut ages: Vec<f64> = checks.iter().copied().filter(|c| c.is_finite()).collect();
        let mut last = ages.last().copied().unwrap_or(0.0);
        while last < horizon {
            last += tail;
            ages.push(last);
        }
        let (mut previous, mut count, mut latency) = (0.0f64, 0.0, 0.0);
        for at in ages {
            if at <= previous {
                continue;
            }
            let base = self.cdf(previous);
            count += 1.0 - base;
            latency += self.integral(previous, at) - base * (at - previous);
            previous = at;
        }
        (count, latency)
    }

    /// `∫ₐᵇ F(x) dx`, exact: `F` is linear between knots and constant past the last.
    fn integral(&self, a: f64, b: f64) -> f64 {
        let inside = self.knots.iter().map(|k| k.0).filter(|&t| t > a && t < b);
        let points: Vec<f64> = std::iter::once(a).chain(inside).chain(std::iter::once(b)).collect();
        points.windows(2).map(|w| (self.cdf(w[0]) + self.cdf(w[1])) / 2.0 * (w[1] - w[0])).sum()
    }

    /// The fraction of jobs that finish beyond the horizon.
    pub fn tail_mass(&self) -> f64 {
        (1.0 - self.knots.last().map_or(0.0, |k| k.1)).clamp(0.0, 1.0)
    }

    /// The age by which a fraction `q` of jobs has finished, if that happens within the horizon.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let k = &self.knots;
        let i = k.partition_point(|p| p.1 < q);
        let &(t1, f1) = k.get(i)?;
        match i.checked_sub(1).and_then(|j| k.get(j)) {
            Some(&(t0, f0)) if f1 > f0 => Some(t0 + (t1 - t0) * (q - f0) / (f1 - f0)),
            _ => Some(t1),
        }
    }

    /// The poll plan that spends `budget` best under this estimate; computed on first use, then kept.
    pub fn plan(&self, budget: &PlanBudget) -> Arc<PollPlan> {
        self.plan_continued(budget, None)
    }

    /// The plan under this estimate [continued](DurationEstimate::continued_by) past its horizon by
    /// `beyond` (when given); computed on first use, then kept.
    pub fn plan_continued(&self, budget: &PlanBudget, beyond: Option<&DurationEstimate>) -> Arc<PollPlan> {
        let key: PlanKey = (*budget, beyond.map(|b| b.knots.clone()));
        // A poisoned lock only means a panic elsewhere mid-insert; the list itself is still whole.
        let mut plans = self.plans.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, plan)) = plans.iter().find(|(k, _)| *k == key) {
            return plan.clone();
        }
        let plan = Arc::new(match beyond {
            Some(prior) if self.trust < 1.0 => {
                let mixed = self.continued_by(prior).mixed_with(prior, self.trust);
                PollPlan::for_budget(&mixed.continued_by(prior), budget)
            }
            Some(prior) => PollPlan::for_budget(&self.continued_by(prior), budget),
            None => PollPlan::for_budget(self, budget),
        });
        plans.push((key, plan.clone()));
        plan
    }

    /// This estimate, with what lies past its horizon shaped like `prior` past the same age.
    ///
    /// Kaplan–Meier knows nothing beyond the latest finish it saw: the jobs still running there (its
    /// tail mass) finish "later". When many are (a batch submitted together, watched while its first
    /// jobs finish), planning as if nothing were known would poll them all at the tail interval. The
    /// documents say more: past the horizon the tail is spread like the prior's jobs that outlive
    /// the same age, up to the prior's own horizon. Where they say nothing (contradicted, or past
    /// their end), a batch's running jobs finish at the pace it has kept ([`Self::at_batch_pace`]).
    pub fn continued_by(&self, prior: &DurationEstimate) -> DurationEstimate {
        let horizon = self.horizon_secs();
        let tail = self.tail_mass();
        let prior_left = 1.0 - prior.cdf(horizon);
        let mut knots = self.knots.clone();
        // The prior says how the jobs still running finish only while it is not contradicted: when
        // far more are still running than it allows at this age (a queue the documents do not
        // count, a slower model), packing them all before its end would read them every few
        // seconds there.
        let samples = f64::from(self.finished.saturating_add(self.censored)).max(1.0);
        let noise = (prior_left * (1.0 - prior_left) / samples).sqrt();
        let contradicted = tail > PRIOR_CONTRADICTED * prior_left
            || tail > prior_left + CONTRADICTION_Z * noise + CONTRADICTION_MARGIN;
        let silent = !prior.knots.iter().any(|k| k.0 > horizon);
        if self.batch && tail > 0.0 && (contradicted || silent) {
            return self.at_batch_pace();
        }
        if contradicted {
            return Self::with_knots(knots, self.finished, self.censored);
        }
        if tail > 0.0 && prior_left > 0.0 {
            let before = 1.0 - tail;
            let below = 1.0 - prior_left;
            for &(t, f) in prior.knots.iter().filter(|k| k.0 > horizon) {
                let continued = before + tail * ((f - below) / prior_left).clamp(0.0, 1.0);
                push_knot(&mut knots, t, continued.clamp(before, 1.0));
            }
        }
        Self::with_knots(knots, self.finished, self.censored)
    }

    /// This estimate, with the jobs still running past its horizon finishing at the pace the batch
    /// has kept since it started (what finished, over the horizon): what a queue draining does.
    ///
    /// Without it every job of a batch that outlives the documents is read at the tail interval to
    /// its end, where the chance that it is done rises as the queue drains (measured on bursts of
    /// 1,000 queuing jobs, seeds 1–5: 1.21–1.30× the optimum's latency, over the fixed loop's; with
    /// it 1.08–1.11×, under the loop in requests and latency). The pace since age 0, not the
    /// latest finishes': a few finishes close together would say the batch ends within minutes,
    /// and the plan would read every job of it densely (seed 1: 75 requests a job, over the loop's
    /// 69; since age 0, 67).
    fn at_batch_pace(&self) -> DurationEstimate {
        let mut knots = self.knots.clone();
        let (horizon, tail) = (self.horizon_secs(), self.tail_mass());
        let pace = (1.0 - tail) / horizon.max(f64::EPSILON);
        if tail > 0.0 && pace > 0.0 {
            let (end, farthest) = (horizon + tail / pace, MAX_SAMPLE.as_secs_f64());
            if end <= farthest {
                push_knot(&mut knots, end, 1.0);
            } else if farthest > horizon {
                push_knot(&mut knots, farthest, 1.0 - tail + pace * (farthest - horizon));
            }
        }
        let mut continued = Self::with_knots(knots, self.finished, self.censored);
        continued.batch = self.batch;
        continued
    }
}

/// Whether running jobs of these ages (sorted) were started together: at least `least` (and
/// three) of them, their interquartile range at most [`BATCH_SPREAD`] of their median.
pub(crate) fn started_together(ages: &[f64], least: usize) -> bool {
    if ages.len() < least.max(3) {
        return false;
    }
    let at = |q: f64| ages[((ages.len() - 1) as f64 * q).round() as usize];
    at(0.75) - at(0.25) <= BATCH_SPREAD * at(0.5)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// At most [`MAX_KNOTS`] steps: the distribution at evenly spaced fractions (for large reference samples).
fn thin(steps: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if steps.len() <= MAX_KNOTS {
        return steps;
    }
    let last = steps.len() - 1;
    (0..MAX_KNOTS).map(|i| steps[i * last / (MAX_KNOTS - 1)]).collect()
}

/// For each step, over how many neighbours on each side it is spread: `wide`, but no more than its
/// distance in steps from the first step or from a break ([`BREAK_GAP`]) on either side, and at
/// least `narrow`.
///
/// Near an edge a wide spread carries many finishes past it: the last `k` before an empty side
/// each reach into it (up to [`MAX_RELATIVE_SPREAD`] of their time), and the plan checks where
/// no job finishes. Spread over √n everywhere, two models under one key planned on 1,000 draws at
/// 1.107× the plan on the truth, where four a side planned at 1.043×. The slowest finishes keep
/// the wide spread: they are often a tail, where wide pays (a Pareto tail at 1,000 draws: 1.076×
/// kept wide, 1.111× narrowed towards the slowest).
fn reach_counts(steps: &[(f64, f64)], narrow: usize, wide: usize) -> Vec<usize> {
    let gaps: Vec<f64> = steps.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let mean = |from: usize, to: usize| (from < to).then(|| gaps[from..to].iter().sum::<f64>() / (to - from) as f64);
    let is_break = |j: usize| {
        let before = mean(j.saturating_sub(BREAK_WINDOW), j);
        let after = mean(j + 1, (j + 1 + BREAK_WINDOW).min(gaps.len()));
        before.into_iter().chain(after).reduce(f64::max).is_some_and(|around| gaps[j] > BREAK_GAP * around)
    };
    let breaks: Vec<usize> = (0..gaps.len()).filter(|&j| is_break(j)).collect();
    (0..steps.len())
        .map(|i| {
            // The gap j lies between steps j and j + 1: the first break at or after step i.
            let next = breaks.partition_point(|&j| j < i);
            let start = next.checked_sub(1).map_or(0, |b| breaks[b] + 1);
            let to_next = breaks.get(next).map_or(usize::MAX, |&j| j - i);
            (i - start).min(to_next).clamp(narrow, wide.max(narrow))
        })
        .collect()
}

/// Spreads each Kaplan–Meier step evenly from half way to its `k`-th neighbour on the left to
/// half way to its `k`-th on the right (with `k` = 1, the half gaps to its neighbours), `k` being
/// between `narrow` and `wide` as [`reach_counts`] says.
///
/// A step with no `k`-th neighbour on one side mirrors the other side's (with neither, half the
/// way to the farther end of the sample). Each side is at most [`MAX_RELATIVE_SPREAD`] of the time
/// itself, so that a lone slow job does not smear the bulk of fast ones over the gap between them,
/// unless the other side is wide too (a tail: [`TAIL_SPREAD`], [`TAIL_ASYMMETRY`]); a mirrored side
/// is at least [`MIN_HALF_WIDTH`].
fn spread(steps: &[(f64, f64)], narrow: usize, wide: usize) -> Vec<(f64, f64)> {
    let n = steps.len();
    let reach = reach_counts(steps, narrow, wide);
    // (start, end, mass) of each step.
    let mut boxes: Vec<(f64, f64, f64)> = Vec::with_capacity(n);
    let mut before = 0.0;
    for (i, &(t, f)) in steps.iter().enumerate() {
        let half_way = |j: usize| (steps[j].0 - t).abs() / 2.0;
        let edge = (MAX_RELATIVE_SPREAD * t).max(MIN_HALF_WIDTH);
        // How far a side may reach when the other reaches `other`: past the edge's cap only
        // as far as the other side is wide.
        let cap = |other: f64| edge.max((TAIL_ASYMMETRY * other).min(TAIL_SPREAD * t));
        let k = reach[i].max(1);
        let (l, r) = (i.checked_sub(k), (i + k < n).then_some(i + k));
        // A side without a k-th neighbour mirrors the other; with neither, half the way to the
        // farther end of the sample, kept to the edge's cap.
        let (left, right) = match (l.or(r).map(half_way), r.or(l).map(half_way)) {
            (Some(left), Some(right)) => (left.min(cap(right)), right.min(cap(left))),
            _ => {
                let h = half_way(0).max(half_way(n - 1)).clamp(MIN_HALF_WIDTH, edge);
                (h, h)
            }
        };
        let mirrored = |side: Option<usize>, h: f64| if side.is_some() { h } else { h.max(MIN_HALF_WIDTH) };
        let (left, right) = (mirrored(l, left), mirrored(r, right));
        boxes.push(((t - left).max(0.0), t + right, f - before));
        before = f;
    }
    // The boxes overlap once k > 1: the distribution is their sum, linear between their ends.
    let mut ends: Vec<(f64, f64)> = Vec::with_capacity(2 * n);
    for &(start, end, mass) in &boxes {
        let slope = mass / (end - start).max(f64::EPSILON);
        ends.extend([(start, slope), (end, -slope)]);
    }
    ends.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut knots: Vec<(f64, f64)> = Vec::with_capacity(ends.len() + 1);
    let (mut at, mut cdf, mut slope) = (0.0f64, 0.0f64, 0.0f64);
    if ends.first().is_some_and(|e| e.0 > 0.0) {
        knots.push((0.0, 0.0));
    }
    for (t, change) in ends {
        cdf += slope * (t - at);
        (at, slope) = (t, slope + change);
        push_knot(&mut knots, t, cdf.clamp(0.0, before));
    }
    // The sum of the masses, exactly: rounding must not move the share still running.
    if let Some(last) = knots.last_mut() {
        last.1 = before;
    }
    knots
}

/// Appends a knot, keeping ages strictly increasing (an age already there keeps the larger fraction).
fn push_knot(knots: &mut Vec<(f64, f64)>, t: f64, f: f64) {
    match knots.last_mut() {
        Some(last) if t <= last.0 => last.1 = last.1.max(f),
        _ => knots.push((t, f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_few_finishes_are_spread_over_their_neighbours_and_a_large_reference_keeps_its_edges() {
        // 20,000 evenly spaced times in 100–200 s: thinned to steps of about 39 finishes, each
        // spread to its neighbours only, so the edges stay within a step of where they are.
        let many: Vec<f64> = (0..20_000).map(|i| 100.0 + f64::from(i) / 200.0).collect();
        let reference = DurationEstimate::from_samples(&many, &[]).unwrap_or_else(|| panic!());
        assert!(reference.cdf(99.5) == 0.0 && reference.cdf(100.5) > 0.0, "{reference:?}");
        assert!((reference.cdf(150.0) - 0.5).abs() < 0.01 && reference.horizon_secs() < 200.5);
        // Forty finishes 1 s apart and one 10 s later: the lone one is spread towards the others
        // (half way to its sixth neighbour on the left, √41 ≈ 6, mirrored to the right) …
        let few: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i)).chain([149.0]).collect();
        let e = DurationEstimate::from_samples(&few, &[]).unwrap_or_else(|| panic!());
        assert!(close(e.cdf(142.0), 40.0 / 41.0 + 0.5 / 41.0 / 15.0) && close(e.cdf(149.0), 40.5 / 41.0), "{e:?}");
        assert!(close(e.horizon_secs(), 156.5) && e.cdf(141.5) < 40.0 / 41.0, "{e:?}");
        // … and the density among the forty is even away from their edges: each second holds a
        // forty-first.
        for t in [110.0, 118.0, 126.0] {
            assert!((e.cdf(t + 1.0) - e.cdf(t) - 1.0 / 41.0).abs() < 1e-9, "{t}: {e:?}");
        }
    }

    #[test]
    fn many_finishes_are_spread_wide_inside_and_narrow_at_an_edge() {
        // 400 draws of two models under one key: 200 uniform in 20–40 s, 200 in 150–250 s.
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(21);
        let draws: Vec<f64> = (0..400)
            .map(|i| if i % 2 == 0 { rng.random_range(20.0..40.0) } else { rng.random_range(150.0..250.0) })
            .collect();
        let e = DurationEstimate::from_samples(&draws, &[]).unwrap_or_else(|| panic!());
        let steps: Vec<(f64, f64)> = {
            let mut sorted = draws.clone();
            sorted.sort_by(f64::total_cmp);
            sorted.iter().enumerate().map(|(i, &t)| (t, (i + 1) as f64 / 400.0)).collect()
        };
        let everywhere = |k: usize| DurationEstimate::with_knots(spread(&steps, k, k), 400, 0);
        let (narrow, wide) = (everywhere(SPREAD_FINISHES), everywhere(20));
        // Inside the slow model the density is nearer the truth's (1/200 a second) than four a
        // side make it: the squared error over 1 s bins is less than half of theirs.
        let error = |d: &DurationEstimate| -> f64 {
            (160..240).map(f64::from).map(|t| (d.cdf(t + 1.0) - d.cdf(t) - 1.0 / 200.0).powi(2)).sum()
        };
        assert!(error(&e) < 0.5 * error(&narrow), "{} vs {}", error(&e), error(&narrow));
        // Past the fast model's last finish (a break: the next is 110 s later) no more finishes
        // spill than four a side spill, where twenty a side everywhere spill several times that.
        let fast_last = draws.iter().copied().filter(|&t| t < 100.0).fold(0.0, f64::max);
        let spill = |d: &DurationEstimate| 0.5 - d.cdf(fast_last);
        assert!(spill(&e) <= spill(&narrow) + 1e-9 && spill(&wide) > 3.0 * spill(&e), "{} {}", spill(&e), spill(&wide));
        // And before the first finish as little as four a side put there, less than twenty a side
        // put (by more than a finish's half).
        let first = draws.iter().copied().fold(f64::INFINITY, f64::min);
        let before = |d: &DurationEstimate| d.cdf(first);
        assert!(before(&e) <= before(&narrow) + 1e-9 && before(&wide) > before(&e) + 0.5 / 400.0);
    }

    #[test]
    fn a_provisional_estimate_corrects_the_documents_for_its_share_and_no_more() {
        let budget = PlanBudget::default();
        let window = DurationEstimate::window_prior(Duration::from_secs(60), Duration::from_secs(180), 0.1);
        // Ten jobs finished at 40–49 s, before the documented window; others still run at 100 s.
        let finished: Vec<f64> = (0..10).map(|i| 40.0 + f64::from(i)).collect();
        let running = [100.0; 10];
        let sample = DurationEstimate::from_samples(&finished, &running).unwrap_or_else(|| panic!());
        let half = DurationEstimate::from_samples(&finished, &running).unwrap_or_else(|| panic!()).provisional(0.5);
        let documents = window.plan(&budget);
        let corrected = half.plan_continued(&budget, Some(&window));
        let alone = sample.plan_continued(&budget, Some(&window));
        // The documents alone read nothing in 40–50 s; half-trusted finishes put checks there …
        let within = |p: &PollPlan, from: u64, to: u64| {
            p.checks().iter().filter(|c| (Duration::from_secs(from)..=Duration::from_secs(to)).contains(*c)).count()
        };
        let in_fast = |p: &PollPlan| within(p, 40, 52);
        assert!(in_fast(&corrected) > in_fast(&documents), "{corrected:?} vs {documents:?}");
        // … but fewer than when they are trusted alone, and the window still gets its checks.
        assert!(in_fast(&corrected) <= in_fast(&alone));
        assert!(within(&corrected, 60, 180) > 10, "{corrected:?}");
        // The mixture is a distribution: non-decreasing, half of each part at every knot.
        let mixed = sample.continued_by(&window).mixed_with(&window, 0.5);
        assert!(mixed.knots().windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        for &(t, f) in mixed.knots() {
            assert!(close(f, 0.5 * sample.continued_by(&window).cdf(t) + 0.5 * window.cdf(t)));
        }
        assert!(close(half.trust(), 0.5) && close(sample.trust(), 1.0));
    }

    #[test]
    fn kaplan_meier_with_censoring_matches_a_hand_computed_example() {
        // Finished at 10, 20, 40; still running at 15, 30, 100 and 100 (a textbook example).
        // At 10: 7 at risk, 1 done → S = 6/7. At 20: 5 at risk (10 and 15 gone) → S = 6/7 · 4/5 = 24/35.
        // At 40: 3 at risk (30 gone) → S = 24/35 · 2/3 = 16/35, left to the two still running.
        let e = DurationEstimate::from_samples(&[10.0, 20.0, 40.0], &[15.0, 30.0, 100.0, 100.0])
            .unwrap_or_else(|| panic!());
        assert_eq!((e.finished(), e.censored()), (3, 4));
        // Each finish spread by the half gap to its neighbours, at most a tenth of itself either way.
        let expected = [
            (0.0, 0.0),
            (9.0, 0.0),
            (11.0, 1.0 / 7.0),
            (18.0, 1.0 / 7.0),
            (22.0, 11.0 / 35.0),
            (36.0, 11.0 / 35.0),
            (44.0, 19.0 / 35.0),
        ];
        assert_eq!(e.knots.len(), expected.len(), "{:?}", e.knots);
        for ((t, f), (et, ef)) in e.knots.iter().zip(expected) {
            assert!(close(*t, et) && close(*f, ef), "{:?}", e.knots);
        }
        assert!(close(e.cdf(10.0), 1.0 / 14.0) && close(e.cdf(1.0), 0.0));
        assert!(close(e.tail_mass(), 16.0 / 35.0));
        // Without the two long runners only one job is at risk at 40 (fewer than three): that
        // finish is not read as the end of everything; what is left is the tail.
        let cut = DurationEstimate::from_samples(&[10.0, 20.0, 40.0], &[15.0, 30.0]).unwrap_or_else(|| panic!());
        assert!(close(cut.tail_mass(), 8.0 / 15.0), "{:?}", cut.knots);
        // With nothing running, every finish counts, to the last.
        let done = DurationEstimate::from_samples(&[10.0, 20.0, 40.0], &[]).unwrap_or_else(|| panic!());
        assert!(close(done.tail_mass(), 0.0));
    }

    #[test]
    fn jobs_running_longer_than_any_finished_one_leave_mass_beyond_the_horizon() {
        let e = DurationEstimate::from_samples(&[10.0, 20.0], &[100.0, 100.0]).unwrap_or_else(|| panic!());
        // 4 at risk at 10 → 3/4; 3 at risk at 20 → 2/4: half the jobs finish beyond the horizon.
        assert!(close(e.tail_mass(), 0.5), "{:?}", e.knots);
        assert!(close(e.horizon_secs(), 22.0));
        assert_eq!(e.quantile(0.75), None);
        assert!(close(e.quantile(0.25).unwrap_or(f64::NAN), 11.0));
    }

    #[test]
    fn garbage_samples_are_ignored_and_none_is_no_estimate() {
        let junk = [f64::NAN, f64::INFINITY, -3.0, 0.0, 1e12];
        assert!(DurationEstimate::from_samples(&junk, &junk).is_none());
        let e = DurationEstimate::from_samples(&[f64::NAN, 100.0, 100.0], &[-1.0]).unwrap_or_else(|| panic!());
        assert_eq!(e.finished(), 2);
        // A lone finish time is spread half a second either way.
        assert!(close(e.cdf(99.5), 0.0) && close(e.cdf(100.0), 0.5) && close(e.cdf(100.5), 1.0));
    }

    #[test]
    fn a_lone_slow_job_does_not_smear_the_fast_ones() {
        let mut finished = vec![1.0; 19];
        finished.push(855.0);
        let e = DurationEstimate::from_samples(&finished, &[]).unwrap_or_else(|| panic!());
        assert!(close(e.cdf(1.5), 0.95) && close(e.cdf(427.5), 0.95), "{:?}", e.knots);
        // Nothing near it on either side: a tail, spread half of itself each way, evenly.
        assert!(close(e.horizon_secs(), 855.0 + 427.0) && close(e.cdf(855.0), 0.975), "{:?}", e.knots);
    }

    #[test]
    fn finishes_far_apart_on_both_sides_are_spread_wide_and_an_edge_stays_sharp() {
        // 40 finishes 1 s apart from 100 s, then a tail: 200, 300, 450, 700 and 1,000 s.
        let few: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i)).chain([200.0, 300.0, 450.0, 700.0, 1000.0]).collect();
        let e = DurationEstimate::from_samples(&few, &[]).unwrap_or_else(|| panic!());
        // The edge at 139 s: its fourth neighbour on the right is 200 s, but on the left 135 s,
        // so it reaches no further than a tenth of itself (13.9 s) towards the tail …
        assert!(e.cdf(153.0) <= 40.0 / 45.0 + 1e-9 && e.cdf(100.0) > 0.0, "{:?}", e.knots);
        // … while the tail's finishes, far from each other on both sides, are spread towards each
        // other up to half of themselves: from 170 s to the last, no stretch of 10 s is empty (spread
        // a tenth of themselves, 450 s and 700 s left 495–630 s empty, and a plan skipped it).
        for t in (17..139).map(|i| f64::from(i) * 10.0) {
            assert!(e.cdf(t + 10.0) > e.cdf(t), "{t}: {:?}", e.knots);
        }
    }

    #[test]
    fn a_large_sample_is_thinned_to_a_bounded_number_of_knots() {
        let samples: Vec<f64> = (1..=20_000).map(|i| f64::from(i) / 100.0).collect();
        let e = DurationEstimate::from_samples(&samples, &[]).unwrap_or_else(|| panic!());
        assert!(e.knots.len() <= MAX_KNOTS + 2);
        assert!((e.cdf(100.0) - 0.5).abs() < 0.01);
    }

    #[test]
    fn past_its_horizon_an_estimate_is_continued_by_the_prior() {
        // A batch watched together: two of ten finished by 62 s, eight still running at 62 s.
        let e = DurationEstimate::from_samples(&[60.0, 61.0], &[62.0; 8]).unwrap_or_else(|| panic!());
        assert!(close(e.tail_mass(), 0.8));
        let prior = DurationEstimate::window_prior(Duration::from_secs(60), Duration::from_secs(180), 0.0);
        let c = e.continued_by(&prior);
        // The eight spread uniformly over (61.5, 180], like the prior's jobs past 61.5 s.
        assert_eq!(c.horizon(), Duration::from_secs(180));
        assert!(close(c.tail_mass(), 0.0) && close(c.cdf(61.5), 0.2));
        assert!(close(c.cdf(120.75), 0.2 + 0.8 * 0.5), "{c:?}");
        assert_eq!((c.finished(), c.censored()), (2, 8));
        // Nothing left past the horizon: nothing changes.
        let done = DurationEstimate::from_samples(&[60.0, 61.0], &[]).unwrap_or_else(|| panic!());
        assert_eq!(done.continued_by(&prior), done);
        // Contradicted: by 126 s the prior has under half of the jobs running, and nine in ten are
        // (jobs of a stream, of every age, that take longer than it says). It does not pack them
        // into its last minute; past the horizon is the tail.
        let running: Vec<f64> = (0..40).map(|i| 40.0 + 3.0 * f64::from(i)).collect();
        let queued =
            DurationEstimate::from_samples(&[100.0, 120.0, 140.0, 150.0], &running).unwrap_or_else(|| panic!());
        assert!(!queued.batch && queued.tail_mass() > 0.85, "{queued:?}");
        assert_eq!(queued.continued_by(&prior), queued);
    }

    #[test]
    fn a_batch_the_documents_do_not_describe_finishes_at_the_pace_it_has_kept() {
        // 1,000 jobs created together, watched at 300 s: 400 finished evenly from 60 s, 600 still
        // running (ages 295–300 s). The documents (60–180 s) are contradicted: the 600 finish at the
        // pace of the 400 since age 0, so the batch ends at horizon / share finished, near 750 s.
        let finished: Vec<f64> = (0..400).map(|i| 60.0 + 0.6 * f64::from(i)).collect();
        let running: Vec<f64> = (0..600).map(|i| 295.0 + f64::from(i % 6)).collect();
        let e = DurationEstimate::from_samples(&finished, &running).unwrap_or_else(|| panic!());
        assert!(e.batch && (e.tail_mass() - 0.6).abs() < 0.02, "{e:?}");
        let prior = DurationEstimate::window_prior(Duration::from_secs(60), Duration::from_secs(180), 0.2);
        let c = e.continued_by(&prior);
        let end = e.horizon_secs() / (1.0 - e.tail_mass());
        assert!((700.0..800.0).contains(&end), "{end}");
        assert!((c.horizon_secs() - end).abs() < 1e-6 && close(c.tail_mass(), 0.0), "{c:?}");
        // Evenly from the horizon to the end.
        let mid = (e.horizon_secs() + end) / 2.0;
        assert!((c.cdf(mid) - (1.0 - e.tail_mass() / 2.0)).abs() < 1e-9);
        // The same jobs with the running ones of every age are a stream, not a batch: past the
        // documents, what lies beyond the horizon is the tail.
        let ages: Vec<f64> = (0..600).map(|i| 1.0 + 0.5 * f64::from(i)).collect();
        let stream = DurationEstimate::from_samples(&finished, &ages).unwrap_or_else(|| panic!());
        assert!(!stream.batch);
        assert_eq!(stream.continued_by(&prior), stream);
    }

    #[test]
    fn a_share_far_outside_the_documents_contradicts_them_when_many_jobs_say_so() {
        // 20 of a batch of 1,000 finished by 82 s, where the documents expect 177: 98 % running is
        // not twice their 82 %, but it is 12 standard errors over it.
        let finished: Vec<f64> = (0..20).map(|i| 60.0 + 1.1 * f64::from(i)).collect();
        let e = DurationEstimate::from_samples(&finished, &[82.0; 980]).unwrap_or_else(|| panic!());
        let prior = DurationEstimate::window_prior(Duration::from_secs(60), Duration::from_secs(180), 0.2);
        assert!(e.continued_by(&prior).horizon_secs() > 1_000.0);
        // Two of ten, eight running at 62 s (the test above), is within the noise: the documents
        // still shape what is left.
        let few = DurationEstimate::from_samples(&[60.0, 61.0], &[62.0; 8]).unwrap_or_else(|| panic!());
        assert_eq!(few.continued_by(&prior).horizon(), Duration::from_secs(180));
    }

    #[test]
    fn jobs_started_together_are_told_from_a_stream() {
        let ages = |from: f64, step: f64, n: u32| -> Vec<f64> { (0..n).map(|i| from + step * f64::from(i)).collect() };
        // Submitted within 20 s, watched at 100–120 s; a stream's jobs of every age to 150 s.
        assert!(started_together(&ages(100.0, 1.0, 20), MIN_BATCH));
        assert!(!started_together(&ages(10.0, 7.0, 20), MIN_BATCH));
        // Three jobs of a stream can share an age by chance: not a batch to pace a queue by.
        assert!(!started_together(&ages(100.0, 1.0, 3), MIN_BATCH));
        assert!(started_together(&ages(100.0, 1.0, 3), 3) && !started_together(&ages(100.0, 1.0, 2), 0));
    }

    #[test]
    fn the_window_prior_puts_most_mass_inside_the_window() {
        let e = DurationEstimate::window_prior(Duration::from_secs(60), Duration::from_secs(180), 0.2);
        assert!(close(e.cdf(60.0), 0.2 * 60.0 / 540.0));
        assert!(close(e.cdf(180.0), 0.8 + 0.2 / 3.0));
        assert!(close(e.tail_mass(), 0.2 * 2.0 / 3.0));
        assert_eq!(e.horizon(), Duration::from_secs(180));
    }
}
