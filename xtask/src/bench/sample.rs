//! What planning on a sample costs: a poll plan made on an estimate from n draws of a family's
//! distribution, scored on the family's true distribution, against the best plan that knows that
//! distribution, at the same expected number of checks.
//!
//! The schedule only ever plans on what it has seen of a key's jobs. The poll section measures that
//! together with everything else (learning over time, the watcher, changes); this section isolates
//! the sample: no simulation, only `PollPlan::for_budget` on n draws and `PollPlan::for_cost` on the
//! truth, both scored by the same function on the truth. A ratio of 1 means n draws are as good as
//! knowing the distribution.

use super::families::{self, Family};
use super::{Line, line, per_family, round};
use genjob::learn::{DurationEstimate, PlanBudget, PollPlan};
use serde_json::{Value, json};
use std::time::Duration;

/// Sample sizes planned on.
pub const SIZES: [usize; 6] = [20, 50, 100, 200, 400, 1000];
/// Samples of each size per family, whose ratios are averaged: one sample is luck.
const SAMPLES: usize = 8;
/// Seeds of the families measured when `--seed` is not given.
pub const DEFAULT_SEEDS: [u64; 2] = [1, 2];
/// Plans on the truth that trace the limit, for `λ` log-spaced over [`LAMBDA_RANGE`]: dense enough
/// that the hull between neighbours is within a fraction of a percent of the true frontier.
const LIMIT_PLANS: usize = 160;
/// The range of `λ` (seconds of latency per check) of those plans: from a check at nearly every grid
/// age to a handful of checks.
const LAMBDA_RANGE: (f64, f64) = (1e-3, 1e3);

/// Families with independent draws of their generating process, from `families::unseen` of each seed.
pub fn families(seeds: &[u64]) -> Vec<Family> {
    seeds.iter().flat_map(|&seed| families::unseen(seed)).filter(independent_draws).collect()
}

/// Whether a family's truth is independent draws of one distribution: the burst's truth is the
/// consecutive jobs of whole bursts (each queued behind the ones before), so a slice of it is one
/// stretch of a queue, not a sample.
fn independent_draws(family: &Family) -> bool {
    family.has_process && !family.name.contains("burst-of-1000")
}

/// The seconds of a plan's checks.
fn ages(plan: &PollPlan) -> Vec<f64> {
    plan.checks().iter().map(Duration::as_secs_f64).collect()
}

/// (expected checks, expected latency) of the truth's own plans over [`LIMIT_PLANS`] values of `λ`:
/// the points whose lower convex hull is the limit.
fn limit_points(truth: &DurationEstimate, tail: Duration) -> Vec<(f64, f64)> {
    let (lo, hi) = (LAMBDA_RANGE.0.ln(), LAMBDA_RANGE.1.ln());
    (0..LIMIT_PLANS)
        .map(|i| {
            let lambda = (lo + (hi - lo) * i as f64 / (LIMIT_PLANS - 1) as f64).exp();
            truth.cost_of_checks(&ages(&PollPlan::for_cost(truth, lambda, tail)), tail.as_secs_f64())
        })
        .collect()
}

/// The least latency at `checks` expected checks from `points`: each job watched with one of two
/// plans, in the proportion that spends `checks` (as the oracle does); `None` outside their range.
fn limit_at(points: &[(f64, f64)], checks: f64) -> Option<f64> {
    let mut best: Option<f64> = None;
    for &(c1, l1) in points.iter().filter(|p| p.0 <= checks) {
        for &(c2, l2) in points.iter().filter(|p| p.0 >= checks) {
            let l = if c2 > c1 { l1 + (l2 - l1) * (checks - c1) / (c2 - c1) } else { l1.min(l2) };
            best = Some(best.map_or(l, |b| b.min(l)));
        }
    }
    best
}

/// A plan's latency on the truth over the limit's at the plan's expected checks on the truth.
fn ratio(plan: &PollPlan, truth: &DurationEstimate, tail: Duration, limit: &[(f64, f64)]) -> Option<f64> {
    let (checks, latency) = truth.cost_of_checks(&ages(plan), tail.as_secs_f64());
    limit_at(limit, checks).filter(|l| *l > 0.0).map(|l| latency / l)
}

/// For each of [`SIZES`], the mean ratio over [`SAMPLES`] slices of the family's truth; `None`
/// where no slice could be planned on or scored.
fn family_ratios(family: &Family) -> Vec<Option<f64>> {
    let budget = PlanBudget::default();
    let tail = budget.tail_interval();
    let Some(truth) = DurationEstimate::from_samples(&family.truth, &[]) else { return vec![None; SIZES.len()] };
    let limit = limit_points(&truth, tail);
    let draws = &family.truth;
    SIZES
        .iter()
        .map(|&n| {
            let room = draws.len().checked_sub(n).filter(|r| *r > 0)?;
            let ratios: Vec<f64> = (0..SAMPLES)
                .filter_map(|k| {
                    // Far-apart deterministic offsets, so that the slices barely overlap.
                    let offset = (k * 7919 * n + 13) % room;
                    let estimate = DurationEstimate::from_samples(&draws[offset..offset + n], &[])?;
                    ratio(&PollPlan::for_budget(&estimate, &budget), &truth, tail, &limit)
                })
                .collect();
            (!ratios.is_empty()).then(|| ratios.iter().sum::<f64>() / ratios.len() as f64)
        })
        .collect()
}

/// Every family's ratios, each family on a thread of its own.
fn all_ratios(families: &[Family]) -> Result<Vec<Vec<Option<f64>>>, String> {
    per_family(families, |_, family| family_ratios(family))
}

/// The section's table lines (one per family) and `results.json` rows (one per family and size).
pub fn section(families: &[Family]) -> Result<(Vec<Line>, Vec<Value>), String> {
    let (mut lines, mut rows) = (Vec::new(), Vec::new());
    for (family, ratios) in families.iter().zip(all_ratios(families)?) {
        let cells: Vec<String> = SIZES
            .iter()
            .zip(&ratios)
            .map(|(n, r)| match r {
                Some(r) => format!("n={n} {r:.2}"),
                None => format!("n={n} –"),
            })
            .collect();
        lines.push(line(
            "sample",
            format!("{} plan on n draws", family.name),
            format!("{} (÷ the plan on the truth at equal checks, mean of {SAMPLES} samples)", cells.join(", ")),
        ));
        for (n, r) in SIZES.iter().zip(&ratios) {
            rows.push(json!({"family": family.name, "n": n, "ratio": r.map(|r| round(r, 4))}));
        }
    }
    Ok((lines, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail() -> Duration {
        PlanBudget::default().tail_interval()
    }

    #[test]
    fn the_score_agrees_with_the_plans_own_account_on_its_own_distribution() -> Result<(), String> {
        let times: Vec<f64> = (0..200).map(|i| 60.0 + 120.0 * f64::from(i) / 199.0).collect();
        let e = DurationEstimate::from_samples(&times, &[]).ok_or("no estimate")?;
        let plan = PollPlan::for_cost(&e, 1.0, tail());
        let checks = ages(&plan);
        // The plan's account stops at the horizon, and so do its checks: the last one is there.
        assert_eq!(checks.last().copied(), Some(e.horizon().as_secs_f64()));
        let (count, latency) = e.cost_of_checks(&checks, tail().as_secs_f64());
        let close = |a: f64, b: f64| (a - b).abs() <= 0.01 * b;
        assert!(close(count, plan.expected_checks()), "{count} vs {plan:?}");
        assert!(close(latency, plan.expected_latency()), "{latency} vs {plan:?}");
        // Checks that stop short of the horizon are continued at the tail, which costs latency.
        let short = &checks[..checks.len() / 2];
        let (short_count, short_latency) = e.cost_of_checks(short, tail().as_secs_f64());
        assert!(short_count > 1.0 && short_latency > latency, "{short_count} {short_latency}");
        Ok(())
    }

    #[test]
    fn the_truths_own_plan_is_at_the_limit() -> Result<(), String> {
        // Two models under one key, and one spread: shapes where the frontier bends differently.
        let mixed: Vec<f64> =
            (0..100).map(|i| if i % 2 == 0 { 30.0 + f64::from(i) * 0.2 } else { 150.0 + f64::from(i) }).collect();
        let spread: Vec<f64> = (1..100).map(|i| 80.0 * (1.2 * (f64::from(i) / 100.0 - 0.5)).exp()).collect();
        for draws in [mixed, spread] {
            let truth = DurationEstimate::from_samples(&draws, &[]).ok_or("no estimate")?;
            let limit = limit_points(&truth, tail());
            let plan = PollPlan::for_budget(&truth, &PlanBudget::default());
            let r = ratio(&plan, &truth, tail(), &limit).ok_or("outside the limit's range")?;
            assert!((0.99..=1.001).contains(&r), "ratio {r} for {plan:?}");
            // A plan on a coarse sample of it does worse.
            let coarse = DurationEstimate::from_samples(&draws[..10], &[]).ok_or("no estimate")?;
            let worse = ratio(&PollPlan::for_budget(&coarse, &PlanBudget::default()), &truth, tail(), &limit);
            assert!(worse.is_some_and(|w| w > 1.01), "{worse:?}");
        }
        Ok(())
    }

    #[test]
    fn the_limit_mixes_the_two_plans_around_a_count() {
        let points = [(2.0, 10.0), (4.0, 4.0), (3.0, 9.0), (8.0, 1.0)];
        // Between 2 and 4 checks the mix of those two beats the plan at 3.
        assert_eq!(limit_at(&points, 3.0), Some(7.0));
        assert_eq!(limit_at(&points, 6.0), Some(2.5));
        assert_eq!(limit_at(&points, 4.0), Some(4.0));
        assert_eq!(limit_at(&points, 1.0), None);
        assert_eq!(limit_at(&points, 9.0), None);
    }

    #[test]
    fn the_burst_is_left_out() {
        let measured = families(&[3]);
        assert_eq!(measured.len(), 5);
        assert!(measured.iter().all(|f| !f.name.contains("burst") && f.name.ends_with("-s3")));
    }
}
