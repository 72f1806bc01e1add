//! The optimal checks for a known distribution of finish times: a dynamic programme on a grid of ages.
//!
//! A job finishes at age `T ~ F`; it is checked at ages `t1 < t2 < …`. The check at `t(i+1)` is made
//! only if the job was not done at `t(i)`, and the first check at or after `T` sees it done, late by
//! `t − T`. The plan minimises `E[latency] + λ·E[checks]` — the Lagrangian of "the least latency for a
//! request budget" (Barlow & Proschan's inspection problem). With `S = 1 − F` and
//! `M(t) = ∫₀ᵗ x dF`, the unnormalised cost-to-go after a check at `s` that found the job running is
//!
//! ```text
//! W(s) = min over t > s of  λ·S(s) + t·(F(t) − F(s)) − (M(t) − M(s)) + W(t),   W(horizon) = 0,
//! ```
//!
//! O(1) per pair from prefix sums, O(N²) over a grid of N ages. The grid holds every knot of the
//! (piecewise-linear) estimate, so `F` and `M` are exact between grid points, plus evenly spaced
//! ages and evenly spaced quantiles. `λ` is found by bisection so that the expected number of checks
//! equals a share of what a fixed loop would spend on the same jobs ([`PlanBudget`]). Beyond the
//! horizon nothing is known: the job is checked at the fixed interval of that budget.

use super::estimate::DurationEstimate;
use crate::time::secs;
use std::time::Duration;

/// Evenly spaced ages added to the grid (besides the estimate's knots): at least this many …
const EVEN_POINTS: usize = 128;
/// … and enough to be half a tail interval apart, so that any budget can be spent, up to this many.
const MAX_EVEN_POINTS: usize = 1024;
/// Evenly spaced quantiles added to the grid.
const QUANTILE_POINTS: usize = 128;
/// Bisection steps on `log λ`; the expected count is a step function of `λ`, so this is plenty.
const LAMBDA_STEPS: usize = 30;
/// `λ` is searched in `[LAMBDA_MIN, LAMBDA_MAX]` seconds of latency per check.
const LAMBDA_MIN: f64 = 1e-3;
const LAMBDA_MAX: f64 = 1e5;
/// Below this chance of still running, the estimate has nothing left to say: poll at the tail interval.
const NEGLIGIBLE: f64 = 1e-9;
/// Ages this close (seconds) are the same age: a job checked at a planned age, read back from a
/// clock, is not due at that same age again.
const SAME_AGE: f64 = 1e-3;

/// The request budget a plan spends: a share of what a fixed loop would spend on the same jobs.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PlanBudget {
    /// The fixed loop whose requests are the reference (the documents poll every 10 s).
    pub reference_interval: Duration,
    /// The share of that loop's requests to spend (slightly under one).
    pub share: f64,
}

impl Default for PlanBudget {
    fn default() -> Self {
        Self::new(Duration::from_secs(10), crate::policy::BUDGET_SHARE)
    }
}

impl PlanBudget {
    /// A budget of `share` times the requests of a fixed loop polling every `reference_interval`.
    pub fn new(reference_interval: Duration, share: f64) -> Self {
        Self { reference_interval, share }
    }

    /// The reference loop's interval in seconds, never under [`MIN_INTERVAL`](crate::policy::MIN_INTERVAL).
    pub(crate) fn reference_secs(&self) -> f64 {
        self.reference_interval.as_secs_f64().max(crate::policy::MIN_INTERVAL.as_secs_f64())
    }

    fn share(&self) -> f64 {
        if self.share.is_finite() { self.share.clamp(0.05, 1.0) } else { 1.0 }
    }

    /// The fixed interval that spends this budget: the reference interval divided by the share.
    ///
    /// Where nothing is known about when a job finishes (past the horizon of an estimate, past a
    /// documented window), it is polled at this interval: never denser, never sparser than a fixed
    /// loop of the same budget.
    pub fn tail_interval(&self) -> Duration {
        secs(self.reference_secs() / self.share())
    }

    /// The requests the budget allows within `estimate`'s horizon, for a job watched from age 0.
    ///
    /// A fixed loop checks at 0, r, 2r, …; the check at `k·r` is made while the job runs at `(k−1)·r`,
    /// so it spends `1 + Σ S(j·r)` over the `j·r` before the horizon; the share of that is the budget.
    pub fn allowance(&self, estimate: &DurationEstimate) -> f64 {
        let r = self.reference_secs();
        let horizon = estimate.horizon_secs();
        let mut total = 1.0;
        let mut j = 0u32;
        while f64::from(j) * r < horizon && j < 1_000_000 {
            total += 1.0 - estimate.cdf(f64::from(j) * r);
            j += 1;
        }
        self.share() * total
    }
}

/// When to check a job next, at any age: the optimal plan for one estimate and one cost per check.
#[derive(Clone, PartialEq)]
pub struct PollPlan {
    /// Ages in seconds, from 0 to the horizon.
    grid: Vec<f64>,
    /// `F` at each grid age.
    cdf: Vec<f64>,
    /// `M(t) = ∫₀ᵗ x dF` at each grid age.
    moment: Vec<f64>,
    /// `g·F − M + W` at each grid age: the part of a move's cost that depends on its target.
    reach: Vec<f64>,
    /// The optimal next grid index from each grid index.
    next: Vec<usize>,
    /// The cost of a check, in seconds of latency.
    lambda: f64,
    /// Seconds between checks beyond the horizon.
    tail: f64,
    /// Expected checks within the horizon, for a job watched from age 0.
    expected_checks: f64,
    /// Expected latency within the horizon (seconds, over all jobs), for a job watched from age 0.
    expected_latency: f64,
}

impl std::fmt::Debug for PollPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The grid and its tables are hundreds of numbers; what the plan does fits on a line.
        f.debug_struct("PollPlan")
            .field("lambda", &self.lambda)
            .field("grid_points", &self.grid.len())
            .field("horizon", &self.horizon())
            .field("tail", &self.tail)
            .field("expected_checks", &self.expected_checks)
            .field("expected_latency", &self.expected_latency)
            .field("checks", &self.checks())
            .finish()
    }
}

impl PollPlan {
    /// The plan whose expected checks (within the horizon) spend `budget` under `estimate`.
    ///
    /// `λ` is bisected; of two plans around the budget, the one that does not exceed it is kept.
    pub fn for_budget(estimate: &DurationEstimate, budget: &PlanBudget) -> Self {
        let target = budget.allowance(estimate);
        let tail = budget.tail_interval();
        let (mut lo, mut hi) = (LAMBDA_MIN.ln(), LAMBDA_MAX.ln());
        let mut best = Self::for_cost(estimate, LAMBDA_MAX, tail);
        for _ in 0..LAMBDA_STEPS {
            let mid = (lo + hi) / 2.0;
            let plan = Self::for_cost(estimate, mid.exp(), tail);
            if plan.expected_checks > target {
                lo = mid;
            } else {
                hi = mid;
                best = plan;
            }
        }
        best
    }

    /// The plan that minimises expected latency + `lambda` × expected checks under `estimate`,
    /// checking every `tail` beyond its horizon.
    pub fn for_cost(estimate: &DurationEstimate, lambda: f64, tail: Duration) -> Self {
        let lambda = if lambda.is_finite() { lambda.clamp(0.0, LAMBDA_MAX) } else { LAMBDA_MAX };
        let tail = tail.as_secs_f64().max(crate::policy::MIN_INTERVAL.as_secs_f64());
        let grid = grid(estimate, tail);
        let n = grid.len();
        let cdf: Vec<f64> = grid.iter().map(|&t| estimate.cdf(t)).collect();
        let mut moment = vec![0.0; n];
        for i in 1..n {
            // Exact: F is linear between neighbouring grid ages, which include every knot.
            moment[i] = moment[i - 1] + (cdf[i] - cdf[i - 1]) * (grid[i] + grid[i - 1]) / 2.0;
        }
        let mut plan = Self {
            grid,
            cdf,
            moment,
            reach: Vec::new(),
            next: Vec::new(),
            lambda,
            tail,
            expected_checks: 0.0,
            expected_latency: 0.0,
        };
        plan.solve();
        plan
    }

    /// Runs the programme on the grid: `reach` and `next` at every grid age, then the expectations.
    fn solve(&mut self) {
        let n = self.grid.len();
        let (grid, cdf, moment, lambda) = (&self.grid, &self.cdf, &self.moment, self.lambda);
        let mut reach = vec![0.0; n];
        let mut next = vec![n.saturating_sub(1); n];
        if let Some(last) = n.checked_sub(1) {
            reach[last] = grid[last] * cdf[last] - moment[last];
        }
        // From the end: reach_j = g_j·F_j − M_j + W_j, and W_i = λ·S_i + M_i + min over j > i of (reach_j − F_i·g_j).
        for i in (0..n.saturating_sub(1)).rev() {
            let (mut best, mut arg) = (f64::INFINITY, i + 1);
            for j in i + 1..n {
                let c = reach[j] - cdf[i] * grid[j];
                if c < best {
                    best = c;
                    arg = j;
                }
            }
            let w = lambda * (1.0 - cdf[i]) + moment[i] + best;
            reach[i] = grid[i] * cdf[i] - moment[i] + w;
            next[i] = arg;
        }
        self.reach = reach;
        self.next = next;
        let (checks, latency) = self.walk();
        self.expected_checks = checks;
        self.expected_latency = latency;
    }

    /// The optimal cost from age 0 (`W(0)`): expected latency + λ × expected checks within the horizon.
    pub fn cost(&self) -> f64 {
        self.reach.first().map_or(0.0, |r| r - self.grid[0] * self.cdf[0] + self.moment[0])
    }

    /// Follows the plan from age 0: expected checks and latency within the horizon.
    fn walk(&self) -> (f64, f64) {
        let (mut i, mut checks, mut latency) = (0usize, 0.0, 0.0);
        let last = self.grid.len().saturating_sub(1);
        while i < last {
            let j = self.next[i].max(i + 1);
            checks += 1.0 - self.cdf[i];
            latency += self.grid[j] * (self.cdf[j] - self.cdf[i]) - (self.moment[j] - self.moment[i]);
            i = j;
        }
        (checks, latency)
    }

    /// The age of the next check for a job last seen running at `age`.
    pub fn next_check(&self, age: Duration) -> Duration {
        let a = age.as_secs_f64();
        let last = self.grid.len().saturating_sub(1);
        let horizon = self.grid.get(last).copied().unwrap_or(0.0);
        let (f, _) = self.at(a);
        if a >= horizon - SAME_AGE || 1.0 - f < NEGLIGIBLE {
            return age.saturating_add(secs(self.tail));
        }
        // The first grid age strictly after `a`, then the cheapest target from there on.
        let start = self.grid.partition_point(|&g| g <= a + SAME_AGE);
        let mut best = (f64::INFINITY, last);
        for j in start..=last {
            let c = self.reach[j] - f * self.grid[j];
            if c < best.0 {
                best = (c, j);
            }
        }
        secs(self.grid[best.1])
    }

    /// The delay before the next check of a job last seen running at `age`.
    pub fn next_delay(&self, age: Duration) -> Duration {
        self.next_check(age).saturating_sub(age)
    }

    /// The delay before the first check of a job whose watch starts at `age`: none if it may be done.
    pub fn first_delay(&self, age: Duration) -> Duration {
        if age >= self.first_check() { Duration::ZERO } else { self.next_delay(age) }
    }

    /// `F` and `M` at any age, from the grid (exact: `F` is linear between grid ages).
    fn at(&self, a: f64) -> (f64, f64) {
        let i = self.grid.partition_point(|&g| g <= a);
        match (i.checked_sub(1), self.grid.get(i)) {
            (Some(k), Some(&g1)) if g1 > self.grid[k] => {
                let (g0, f0, f1) = (self.grid[k], self.cdf[k], self.cdf[i]);
                let f = f0 + (f1 - f0) * (a - g0) / (g1 - g0);
                (f, self.moment[k] + (f - f0) * (g0 + a) / 2.0)
            }
            (Some(k), _) => (self.cdf[k], self.moment[k]),
            (None, _) => (0.0, 0.0),
        }
    }

    /// The age of the first check of a job watched from age 0.
    pub fn first_check(&self) -> Duration {
        self.next.first().and_then(|&j| self.grid.get(j)).map_or(Duration::ZERO, |&g| secs(g))
    }

    /// The checks of a job watched from age 0 that is still running at the horizon.
    pub fn checks(&self) -> Vec<Duration> {
        let mut out = Vec::new();
        let (mut i, last) = (0usize, self.grid.len().saturating_sub(1));
        while i < last {
            i = self.next[i].max(i + 1);
            out.push(secs(self.grid[i]));
        }
        out
    }

    /// The cost of one check in seconds of latency (`λ`).
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The age past which checks come at the tail interval.
    pub fn horizon(&self) -> Duration {
        self.grid.last().map_or(Duration::ZERO, |&g| secs(g))
    }

    /// The interval between checks past the horizon.
    pub fn tail_interval(&self) -> Duration {
        secs(self.tail)
    }

    /// Expected checks within the horizon for a job watched from age 0.
    pub fn expected_checks(&self) -> f64 {
        self.expected_checks
    }

    /// Expected latency (seconds) accrued within the horizon, over all jobs, for a job watched from age 0.
    pub fn expected_latency(&self) -> f64 {
        self.expected_latency
    }
}

/// Every knot, evenly spaced ages and evenly spaced quantiles of the estimate, from 0 to its horizon.
///
/// The even ages are at most half of `tail` apart (within [`MAX_EVEN_POINTS`]): checking at all of
/// them would spend more than the fixed loop of that interval, so the bisection can reach any budget.
fn grid(estimate: &DurationEstimate, tail: f64) -> Vec<f64> {
    let horizon = estimate.horizon_secs();
    let wanted = (2.0 * horizon / tail.max(f64::EPSILON)).ceil();
    let even = if wanted.is_finite() { (wanted as usize).clamp(EVEN_POINTS, MAX_EVEN_POINTS) } else { MAX_EVEN_POINTS };
    let mut ages: Vec<f64> = Vec::with_capacity(estimate.knots().len() + even + QUANTILE_POINTS + 1);
    ages.push(0.0);
    ages.extend(estimate.knots().iter().map(|k| k.0));
    ages.extend((1..=even).map(|i| horizon * i as f64 / even as f64));
    let top = 1.0 - estimate.tail_mass();
    ages.extend((1..QUANTILE_POINTS).filter_map(|i| estimate.quantile(top * i as f64 / QUANTILE_POINTS as f64)));
    ages.retain(|t| t.is_finite() && (0.0..=horizon).contains(t));
    ages.sort_by(f64::total_cmp);
    // Ages closer than a millisecond are one age (and keep the grid strictly increasing).
    ages.dedup_by(|b, a| *b - *a < 1e-3);
    if let Some(last) = ages.last_mut() {
        *last = horizon.max(*last);
    }
    ages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(a: f64, b: f64) -> DurationEstimate {
        // A uniform distribution on [a, b]: the prior with no broad share.
        DurationEstimate::window_prior(Duration::from_secs_f64(a), Duration::from_secs_f64(b), 0.0)
    }

    /// Every increasing sequence of grid ages ending at the horizon, its exact cost.
    fn brute_force(plan: &PollPlan) -> f64 {
        let n = plan.grid.len();
        let mut best = f64::INFINITY;
        // Subsets of the inner ages (the horizon is always checked).
        for mask in 0u32..(1 << (n - 2)) {
            let mut path = vec![0usize];
            path.extend((1..n - 1).filter(|i| mask & (1 << (i - 1)) != 0));
            path.push(n - 1);
            let cost: f64 = path
                .windows(2)
                .map(|w| {
                    let (i, j) = (w[0], w[1]);
                    plan.lambda * (1.0 - plan.cdf[i]) + plan.grid[j] * (plan.cdf[j] - plan.cdf[i])
                        - (plan.moment[j] - plan.moment[i])
                })
                .sum();
            best = best.min(cost);
        }
        best
    }

    #[test]
    fn the_programme_matches_brute_force_on_small_grids() {
        for (finished, lambda) in [
            (vec![3.0, 5.0, 6.0, 11.0], 0.5),
            (vec![2.0, 2.5, 9.0], 2.0),
            (vec![4.0, 4.0, 4.5, 12.0], 0.1),
            (vec![1.0, 7.0], 5.0),
            (vec![30.0, 31.0, 33.0, 40.0, 41.0, 70.0], 1.0),
        ] {
            let e = DurationEstimate::from_samples(&finished, &[]).unwrap_or_else(|| panic!());
            let mut plan = PollPlan::for_cost(&e, lambda, Duration::from_secs(10));
            // The knots alone as the grid, so that brute force stays small.
            let keep: Vec<usize> = (0..plan.grid.len())
                .filter(|&i| i == 0 || e.knots().iter().any(|k| (k.0 - plan.grid[i]).abs() < 1e-9))
                .collect();
            plan.grid = keep.iter().map(|&i| plan.grid[i]).collect();
            plan.cdf = keep.iter().map(|&i| plan.cdf[i]).collect();
            plan.moment = keep.iter().map(|&i| plan.moment[i]).collect();
            plan.solve();
            let brute = brute_force(&plan);
            assert!(
                (plan.cost() - brute).abs() < 1e-9,
                "{finished:?} λ={lambda}: {} vs brute force {brute}",
                plan.cost()
            );
            // The walk's expectations add up to the same cost.
            let walked = plan.expected_latency() + lambda * plan.expected_checks();
            assert!((walked - brute).abs() < 1e-9, "{walked} vs {brute}");
        }
    }

    /// `plan` solved again on half its grid: every other age, and both ends. `F` and `M` stay exact
    /// at the ages kept, so this is the same programme with half the ages to choose from.
    fn on_half_the_grid(plan: &PollPlan) -> PollPlan {
        let last = plan.grid.len() - 1;
        let keep: Vec<usize> = (0..=last).filter(|&i| i % 2 == 0 || i == last).collect();
        let mut half = PollPlan {
            grid: keep.iter().map(|&i| plan.grid[i]).collect(),
            cdf: keep.iter().map(|&i| plan.cdf[i]).collect(),
            moment: keep.iter().map(|&i| plan.moment[i]).collect(),
            reach: Vec::new(),
            next: Vec::new(),
            ..plan.clone()
        };
        half.solve();
        half
    }

    #[test]
    fn halving_the_grid_changes_the_optimum_by_less_than_one_percent() {
        // Shapes the schedule meets: a documented window, a log-normal-like spread, a Pareto tail,
        // two models under one key, very short jobs; cheap and dear checks alike.
        let spread: Vec<f64> = (1..200).map(|i| 100.0 * (0.6 * (f64::from(i) / 200.0 - 0.5) * 4.0).exp()).collect();
        let pareto: Vec<f64> = (1..200).map(|i| 40.0 / (1.0 - f64::from(i) / 200.0).powf(1.0 / 2.0)).collect();
        let mixed: Vec<f64> = (0..200)
            .map(|i| if i % 2 == 0 { 30.0 + f64::from(i) * 0.15 } else { 150.0 + f64::from(i) * 0.7 })
            .collect();
        let short: Vec<f64> = (0..100).map(|i| 5.0 + f64::from(i) * 0.15).collect();
        let estimates = [
            uniform(60.0, 180.0),
            DurationEstimate::from_samples(&spread, &[]).unwrap_or_else(|| panic!("an estimate")),
            DurationEstimate::from_samples(&pareto, &[]).unwrap_or_else(|| panic!("an estimate")),
            DurationEstimate::from_samples(&mixed, &[]).unwrap_or_else(|| panic!("an estimate")),
            DurationEstimate::from_samples(&short, &[]).unwrap_or_else(|| panic!("an estimate")),
        ];
        for (k, e) in estimates.iter().enumerate() {
            for lambda in [0.25, 1.0, 4.0, 16.0] {
                let full = PollPlan::for_cost(e, lambda, Duration::from_secs(10));
                let half = on_half_the_grid(&full);
                assert!(half.grid.len() * 2 <= full.grid.len() + 2, "{} of {} ages", half.grid.len(), full.grid.len());
                // Fewer ages to choose from can only cost more; by under 1 %.
                let change = (half.cost() - full.cost()) / full.cost();
                assert!(
                    (-1e-9..0.01).contains(&change),
                    "estimate {k}, λ {lambda}: {} → {} ({change:+.4})",
                    full.cost(),
                    half.cost()
                );
            }
        }
    }

    #[test]
    fn for_a_uniform_distribution_intervals_shrink_by_lambda() {
        // Closed form: with checks made only while the job runs, the first-order condition on a
        // uniform density is δ(i+1) = δ(i) − λ: later checks are cheaper, so they come closer.
        let plan = PollPlan::for_cost(&uniform(60.0, 180.0), 2.0, Duration::from_secs(10));
        let checks: Vec<f64> = plan.checks().iter().map(Duration::as_secs_f64).collect();
        let inside: Vec<f64> = std::iter::once(60.0).chain(checks.iter().copied()).collect();
        let deltas: Vec<f64> = inside.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(deltas.len() >= 6, "{checks:?}");
        // The grid is about a second fine, so each difference is λ within two grid steps.
        let step = 120.0 / EVEN_POINTS as f64;
        for d in deltas.windows(2).skip(1) {
            assert!((d[0] - d[1] - 2.0).abs() <= 2.0 * step + 1e-9, "{deltas:?}");
        }
        assert!(checks.first().is_some_and(|&c| c > 60.0));
        assert_eq!(checks.last().copied(), Some(180.0));
    }

    #[test]
    fn the_budget_is_spent_and_more_budget_means_less_latency() {
        let e = uniform(60.0, 180.0);
        let budget = PlanBudget::default();
        let plan = PollPlan::for_budget(&e, &budget);
        // The 10 s loop spends 1 + Σ S(10j) over 10j < 180: 1 + 7 (ages 0–60) + (11/12 + … + 1/12) = 13.5.
        let target = 0.95 * 13.5;
        assert!((budget.allowance(&e) - target).abs() < 1e-9, "{}", budget.allowance(&e));
        assert!(plan.expected_checks() <= target && plan.expected_checks() > target - 1.0, "{plan:?}");
        let rich = PollPlan::for_budget(&e, &PlanBudget::new(Duration::from_secs(5), 0.95));
        assert!(rich.expected_latency() < plan.expected_latency());
        assert!(plan.expected_latency() < 5.0 * 0.95, "beats the 10 s loop's 5 s: {}", plan.expected_latency());
    }

    #[test]
    fn a_job_at_any_age_gets_a_check_after_it_and_the_tail_past_the_horizon() {
        let e = uniform(60.0, 180.0);
        let plan = PollPlan::for_budget(&e, &PlanBudget::default());
        for age in [0.0, 10.0, 59.9, 60.0, 61.3, 100.0, 179.9] {
            let next = plan.next_check(Duration::from_secs_f64(age)).as_secs_f64();
            assert!(next > age && next <= 180.0, "{age} → {next}");
        }
        let tail = PlanBudget::default().tail_interval();
        assert_eq!(plan.next_delay(Duration::from_secs(180)), tail);
        assert_eq!(plan.next_delay(Duration::from_secs(5000)), tail);
        assert_eq!(plan.first_delay(Duration::from_secs(1000)), Duration::ZERO);
        assert!(plan.first_delay(Duration::ZERO) > Duration::from_secs(60));
    }

    /// Expected latency + `lambda` × expected checks of `plan`'s checks for jobs that finish as
    /// `truth` says: how a plan made on an estimate does on the truth.
    fn cost_under(truth: &DurationEstimate, plan: &PollPlan, lambda: f64) -> f64 {
        let checks: Vec<f64> = plan.checks().iter().map(Duration::as_secs_f64).collect();
        let (count, latency) = truth.cost_of_checks(&checks, plan.tail);
        latency + lambda * count
    }

    #[test]
    fn a_plan_on_a_hundred_draws_costs_little_more_than_the_plan_on_their_distribution() {
        // Each finish is spread over four finishes a side: spread over its neighbours only, the
        // density of a few draws is as uneven as their gaps, and the plan follows the gaps.
        let truth = uniform(100.0, 200.0);
        let tail = PlanBudget::default().tail_interval();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut ratios = Vec::new();
        for _ in 0..8 {
            let draws: Vec<f64> = (0..100)
                .map(|_| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    100.0 + 100.0 * (state >> 11) as f64 / (1u64 << 53) as f64
                })
                .collect();
            let sample = DurationEstimate::from_samples(&draws, &[]).unwrap_or_else(|| panic!("an estimate"));
            for lambda in [0.5, 2.0] {
                let best = cost_under(&truth, &PollPlan::for_cost(&truth, lambda, tail), lambda);
                let made = cost_under(&truth, &PollPlan::for_cost(&sample, lambda, tail), lambda);
                ratios.push(made / best);
            }
        }
        // The plan on the truth is the best there is (to its grid); spread over neighbours only,
        // the sample's plans cost 5.5 % more on average, over four finishes a side 2.7 %.
        assert!(ratios.iter().all(|&r| r > 0.999), "{ratios:?}");
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        assert!(mean < 1.04, "{mean:.4} {ratios:?}");
    }
}
