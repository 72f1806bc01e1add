//! The fair limit: the best schedule that knows a distribution of finish times, as a policy the
//! watcher drives, matched to a request count.
//!
//! It plans with `genjob::learn::PollPlan`, the dynamic programme the default schedule plans with,
//! on draws of the family's generating process (`oracle`) or on the family's own jobs
//! (`oracle-sample`), and is scored on the family's jobs.

use super::families::Family;
use super::sim::{JobOutcome, Summary, WARM_UP, bisect, run, summarize};
use genjob::learn::{DurationEstimate, PollPlan};
use genjob::policy::{PollContext, PollPolicy};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// The optimal plan for a known distribution, with no jitter.
///
/// In the simulation every job is watched from its creation, so a job of unknown age is at age 0.
#[derive(Debug)]
pub struct Oracle(pub PollPlan);

impl PollPolicy for Oracle {
    fn first_delay(&self, ctx: &PollContext<'_>) -> Duration {
        self.0.first_delay(ctx.age.unwrap_or_default())
    }

    fn next_delay(&self, ctx: &PollContext<'_>, _: f64) -> Duration {
        self.0.next_delay(ctx.age.unwrap_or_default())
    }
}

/// The oracle's figures at a request count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OracleRow {
    /// The figures.
    pub summary: Summary,
    /// The two plans' `λ` (seconds of latency per check), the cheaper one first.
    pub lambdas: (f64, f64),
    /// The share of jobs watched with the costlier plan.
    pub mix: f64,
}

/// The oracle planned on `draws` (times-to-finish, seconds), scored on `family`'s jobs at their warm
/// mean request count `target`; `None` when `draws` holds no usable time.
///
/// The request count of one plan is a step function of `λ`, and a step can be a request per job
/// (one more check before anything finishes). So the oracle is the classical randomised one: the two
/// plans around the target, each job watched with one of them, in the proportion that spends the
/// target — the best latency any schedule knowing the distribution reaches at that count.
pub fn oracle(family: &Family, target: f64, tail: Duration, draws: &[f64]) -> Result<Option<OracleRow>, String> {
    oracle_over(family, WARM_UP..family.jobs.len(), target, tail, draws)
}

/// [`oracle`] scored on the jobs in `scored` only (the jobs after a change, planned on draws of the
/// distribution after it), at their mean request count `target`.
pub fn oracle_over(
    family: &Family,
    scored: Range<usize>,
    target: f64,
    tail: Duration,
    draws: &[f64],
) -> Result<Option<OracleRow>, String> {
    let Some(truth) = DurationEstimate::from_samples(draws, &[]) else { return Ok(None) };
    let outcomes = |log_lambda: f64| -> Result<Vec<JobOutcome>, String> {
        let all = run(family, Arc::new(Oracle(PollPlan::for_cost(&truth, log_lambda.exp(), tail))), None, 0)?;
        Ok(all.get(scored.clone()).unwrap_or_default().to_vec())
    };
    let (lo, hi) = bisect(1e-4f64.ln(), 1e4f64.ln(), target, |x| Ok(summarize(&outcomes(x)?).mean_requests))?;
    let (costly, cheap) = (outcomes(lo)?, outcomes(hi)?);
    let (rc, rs) = (summarize(&costly).mean_requests, summarize(&cheap).mean_requests);
    let mix = if rc > rs { ((target - rs) / (rc - rs)).clamp(0.0, 1.0) } else { 1.0 };
    // A low-discrepancy choice per job, so that the costlier plan's share is `mix` in every stretch.
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    let mixed: Vec<JobOutcome> = (0..costly.len())
        .map(|i| if (((scored.start + i) as f64 + 1.0) * golden).fract() < mix { costly[i] } else { cheap[i] })
        .collect();
    Ok(Some(OracleRow { summary: summarize(&mixed), lambdas: (hi.exp(), lo.exp()), mix }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds between the ages at which the brute force integrates `F`.
    const STEP: f64 = 0.001;

    /// `I(t) = ∫₀ᵗ F` on a fine grid of `estimate`, to `horizon`.
    fn integral(estimate: &DurationEstimate, horizon: f64) -> Vec<f64> {
        let n = (horizon / STEP).ceil() as usize + 1;
        let mut out = vec![0.0; n];
        for k in 1..n {
            let (a, b) = ((k - 1) as f64 * STEP, k as f64 * STEP);
            out[k] = out[k - 1] + (estimate.cdf(a) + estimate.cdf(b)) / 2.0 * STEP;
        }
        out
    }

    /// Expected latency + `λ` × expected checks of checking at `checks` (ascending, the last one at
    /// the horizon), from first principles: the check at `tᵢ` is made while the job runs at `tᵢ₋₁`
    /// (`t₀ = 0`), and a job finishing in `(tᵢ₋₁, tᵢ]` waits `∫ (tᵢ − x) dF = ∫ (F(x) − F(tᵢ₋₁)) dx`.
    fn cost(estimate: &DurationEstimate, integral: &[f64], lambda: f64, checks: &[f64]) -> f64 {
        let at = |t: f64| integral[((t / STEP).round() as usize).min(integral.len() - 1)];
        let mut previous = 0.0;
        let mut total = 0.0;
        for &t in checks {
            let f = estimate.cdf(previous);
            total += lambda * (1.0 - f) + (at(t) - at(previous)) - f * (t - previous);
            previous = t;
        }
        total
    }

    /// The least cost over every set of at most `most` checks on a grid of `step` seconds, the last
    /// one at the horizon: exhaustive search.
    fn brute_force(estimate: &DurationEstimate, integral: &[f64], lambda: f64, horizon: f64, step: f64) -> f64 {
        let candidates: Vec<f64> = (1..).map(|k| f64::from(k) * step).take_while(|t| *t < horizon).collect();
        let mut best = f64::INFINITY;
        let mut chosen = Vec::new();
        fn search(from: usize, left: usize, chosen: &mut Vec<f64>, candidates: &[f64], score: &mut dyn FnMut(&[f64])) {
            score(chosen);
            if left == 0 {
                return;
            }
            for k in from..candidates.len() {
                chosen.push(candidates[k]);
                search(k + 1, left - 1, chosen, candidates, score);
                chosen.pop();
            }
        }
        search(0, 4, &mut chosen, &candidates, &mut |interior| {
            let checks: Vec<f64> = interior.iter().copied().chain([horizon]).collect();
            best = best.min(cost(estimate, integral, lambda, &checks));
        });
        best
    }

    #[test]
    fn the_programme_finds_what_exhaustive_search_finds_on_small_distributions() -> Result<(), String> {
        // Finish times whose spread steps (a tenth of each either way, or half the gap to a
        // neighbour) start and end on half seconds, so that the search's grid can reach them.
        let distributions: [&[f64]; 3] =
            [&[5.0, 10.0, 15.0, 20.0, 30.0], &[5.0, 10.0, 20.0, 25.0, 30.0], &[5.0, 15.0, 20.0, 30.0]];
        for draws in distributions {
            let estimate = DurationEstimate::from_samples(draws, &[]).ok_or("no estimate")?;
            let horizon = estimate.horizon().as_secs_f64();
            let table = integral(&estimate, horizon);
            for lambda in [4.0, 8.0, 16.0] {
                let plan = PollPlan::for_cost(&estimate, lambda, Duration::from_secs(10));
                let checks: Vec<f64> = plan.checks().iter().map(Duration::as_secs_f64).collect();
                let programme = cost(&estimate, &table, lambda, &checks);
                // The search below tries up to 4 checks before the horizon: enough for these plans.
                assert!(checks.len() <= 5, "{draws:?} λ {lambda}: {checks:?}");
                // The programme's own account of its plan agrees with the first-principles one.
                assert!((plan.cost() - programme).abs() <= 1e-3 * programme, "{draws:?} λ {lambda}: {plan:?}");
                // Exhaustive search over half seconds finds nothing 1 % better, and the programme
                // (on its own grid) is within 1 % of what the search finds.
                let best = brute_force(&estimate, &table, lambda, horizon, 0.5);
                assert!(programme <= 1.01 * best, "{draws:?} λ {lambda}: programme {programme}, search {best}");
                assert!(best <= 1.01 * programme, "{draws:?} λ {lambda}: programme {programme}, search {best}");
            }
        }
        Ok(())
    }
}
