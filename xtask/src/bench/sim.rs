//! Poll efficiency in virtual time: a family's jobs watched concurrently, as a pipeline would.
//!
//! No HTTP and no clock: jobs are created at their submission times, each check sees the state its
//! record would show at that age, and time jumps from one check to the next across all jobs. A
//! policy is driven exactly as the `Watcher` drives it (first check after `first_delay`, then
//! `next_delay` after each read, with the context the watcher would build), and a learning run
//! feeds the shared estimates exactly as the watcher does: a finished job's true time-to-finish
//! (its record's timestamps) when a check sees it finished, a running job's age at every check.
//! So a schedule learns only from jobs that finished, and were seen finished, earlier in
//! simulated time.

use super::families::{Family, Reports, SimJob};
use genjob::learn::{DurationEstimate, DurationKey, PollPlan, SharedEstimates};
use genjob::policy::{PollContext, PollPolicy, running_time};
use genjob::{AdaptiveSchedule, FixedInterval, JobStatus, Provider};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

/// The first jobs by submission that are the warm-up: reported apart (`default-cold`), left out of the rest.
pub const WARM_UP: usize = 20;

/// A stop for a policy that would never see a job finish.
const MAX_POLLS: u32 = 100_000;

/// One watched job: requests made and the delay from its finish to the check that saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobOutcome {
    /// Checks made, the one that saw the final state included.
    pub requests: u32,
    /// Time from the job's finish to that check, in seconds.
    pub latency_s: f64,
}

/// What the job's record says at `age` (seconds since creation), while it is not finished.
fn observe(reports: Reports, job: &SimJob, age: f64) -> (JobStatus, Option<u8>) {
    let queued = age < job.queue_s;
    match reports {
        Reports::Nothing => (JobStatus::Queued, None),
        Reports::Started if queued => (JobStatus::Queued, None),
        Reports::Started => (JobStatus::Running, None),
        Reports::Progress if queued => (JobStatus::Queued, Some(0)),
        Reports::Progress => {
            let p = if job.run_s > 0.0 { (100.0 * (age - job.queue_s) / job.run_s).floor() } else { 99.0 };
            (JobStatus::Running, Some(p.clamp(0.0, 99.0) as u8))
        }
    }
}

/// Simulated seconds as an ordered heap key (nanoseconds).
fn at(seconds: f64) -> u128 {
    Duration::from_secs_f64(seconds.max(0.0)).as_nanos()
}

/// Watches every job of `family` from its creation with `policy`, concurrently in simulated time;
/// with `learning`, feeds and reads it as the watcher does. One outcome per job, in family order.
pub fn run(family: &Family, policy: &dyn PollPolicy, learning: Option<&SharedEstimates>, seed: u64) -> Vec<JobOutcome> {
    let mut rng = StdRng::seed_from_u64(seed);
    // Only useapi.net ids tell the kind and the creation time before the first read.
    let id_tells_age = family.provider != Provider::Token360;
    let key = DurationKey::new(family.provider, Some(family.kind), Some(&family.model), family.profile.clone());
    let id_key = DurationKey::for_kind(family.provider, id_tells_age.then_some(family.kind));
    let ids: Vec<String> = (0..family.jobs.len()).map(|i| format!("{}-{i}", family.name)).collect();
    let mut polls = vec![0u32; family.jobs.len()];
    let mut outcomes = vec![JobOutcome { requests: 0, latency_s: 0.0 }; family.jobs.len()];
    // (time, sequence, job): the sequence keeps equal times in a fixed order.
    let mut heap: BinaryHeap<Reverse<(u128, u64, usize)>> = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, time: f64, job: usize| {
        sequence += 1;
        heap.push(Reverse((at(time), sequence, job)));
    };
    let mut estimate: Vec<Option<Arc<DurationEstimate>>> = vec![None; family.jobs.len()];
    let mut seen: Vec<Option<(JobStatus, Option<u8>)>> = vec![None; family.jobs.len()];
    // When each job was first seen running, and its progress then, as the watcher keeps it.
    let mut running_seen: Vec<Option<(f64, u8)>> = vec![None; family.jobs.len()];
    // Submissions enter the heap as "first delay due" events, in order; checks follow.
    let mut next_submission = 0usize;
    loop {
        let next_check = heap.peek().map(|Reverse((t, _, _))| *t);
        let submit = family.jobs.get(next_submission).map(|j| at(j.submit_s));
        let submission_first = match (submit, next_check) {
            (Some(s), Some(c)) => s <= c,
            (Some(_), None) => true,
            (None, _) => false,
        };
        match (submission_first, next_check) {
            (true, _) => {
                let i = next_submission;
                next_submission += 1;
                let job = &family.jobs[i];
                estimate[i] = learning.and_then(|l| l.estimate(&id_key));
                let mut ctx = PollContext::new(family.provider);
                if id_tells_age {
                    (ctx.kind, ctx.age) = (Some(family.kind), Some(Duration::ZERO));
                }
                ctx.estimate = estimate[i].as_deref();
                let first = policy.first_delay(&ctx).as_secs_f64();
                push(&mut heap, job.submit_s + first, i);
            }
            (false, Some(_)) => {
                let Some(Reverse((t, _, i))) = heap.pop() else { break };
                let now = Duration::from_nanos(u64::try_from(t).unwrap_or(u64::MAX)).as_secs_f64();
                let job = &family.jobs[i];
                let age = (now - job.submit_s).max(0.0);
                polls[i] += 1;
                if age >= job.duration_s() || polls[i] >= MAX_POLLS {
                    outcomes[i] = JobOutcome { requests: polls[i], latency_s: (age - job.duration_s()).max(0.0) };
                    if let Some(l) = learning {
                        l.record_finished(&key, &ids[i], Duration::from_secs_f64(job.duration_s()));
                    }
                    continue;
                }
                seen[i] = Some(observe(family.reports, job, age));
                if let Some(l) = learning {
                    l.record_running(&key, &ids[i], Duration::from_secs_f64(age));
                    estimate[i] = l.estimate(&key);
                }
                let mut ctx = PollContext::new(family.provider);
                (ctx.kind, ctx.model, ctx.age) =
                    (Some(family.kind), Some(family.model.as_str()), Some(Duration::from_secs_f64(age)));
                (ctx.waited, ctx.polls) = (Duration::from_secs_f64(age), polls[i]);
                if let Some((status, progress)) = seen[i] {
                    (ctx.status, ctx.progress) = (status, progress);
                    if status == JobStatus::Running && running_seen[i].is_none() {
                        running_seen[i] = Some((now, progress.unwrap_or(0)));
                    }
                }
                if let Some((then, first)) = running_seen[i] {
                    ctx.running_for = running_time(first, Duration::from_secs_f64((now - then).max(0.0)), ctx.progress);
                }
                ctx.estimate = estimate[i].as_deref();
                let delay = policy.next_delay(&ctx, rng.random::<f64>()).as_secs_f64();
                push(&mut heap, now + delay, i);
            }
            (false, None) => break,
        }
    }
    outcomes
}

/// The oracle: the optimal plan for the family's true distribution, with no jitter.
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

/// Aggregates over a set of jobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Jobs summarised.
    pub jobs: usize,
    /// Mean requests per job.
    pub mean_requests: f64,
    /// Mean detection latency in seconds.
    pub mean_latency_s: f64,
    /// 95th percentile detection latency in seconds.
    pub p95_latency_s: f64,
}

/// Summarises `outcomes`.
pub fn summarize(outcomes: &[JobOutcome]) -> Summary {
    let n = outcomes.len().max(1) as f64;
    let mut latencies: Vec<f64> = outcomes.iter().map(|o| o.latency_s).collect();
    Summary {
        jobs: outcomes.len(),
        mean_requests: outcomes.iter().map(|o| f64::from(o.requests)).sum::<f64>() / n,
        mean_latency_s: latencies.iter().sum::<f64>() / n,
        p95_latency_s: percentile(&mut latencies, 0.95),
    }
}

/// The `q` quantile (nearest rank) of `values`; 0 for none.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// The warm jobs' outcomes: all but the first [`WARM_UP`] by submission.
pub fn warm(outcomes: &[JobOutcome]) -> &[JobOutcome] {
    outcomes.get(WARM_UP..).unwrap_or(&[])
}

/// The warm-up jobs' outcomes.
pub fn cold(outcomes: &[JobOutcome]) -> &[JobOutcome] {
    &outcomes[..WARM_UP.min(outcomes.len())]
}

/// Bisects a parameter (requests fall as it grows) towards warm mean requests of `target`: the
/// final bracket `(lo, hi)`, `lo` spending more than `hi`.
fn bisect(lo: f64, hi: f64, target: f64, steps: usize, requests: impl Fn(f64) -> f64) -> (f64, f64) {
    let (mut lo, mut hi) = (lo, hi);
    for _ in 0..steps {
        let mid = (lo + hi) / 2.0;
        if requests(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo, hi)
}

/// The fixed interval whose warm mean requests match `target`, with its summary.
pub fn equal_budget(family: &Family, target: f64, seed: u64) -> (Duration, Summary) {
    let longest = family.jobs.iter().map(SimJob::duration_s).fold(1.0, f64::max);
    let measure = |secs: f64| summarize(warm(&run(family, &FixedInterval(Duration::from_secs_f64(secs)), None, seed)));
    let (lo, hi) = bisect(1.0, 2.0 * longest, target, 40, |secs| measure(secs).mean_requests);
    // Of the two brackets, the one whose requests are closer to the target.
    let (a, b) = (measure(lo), measure(hi));
    let (secs, summary) =
        if (a.mean_requests - target).abs() <= (b.mean_requests - target).abs() { (lo, a) } else { (hi, b) };
    (Duration::from_secs_f64(secs), summary)
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

/// The oracle at the warm mean request count `target`.
///
/// The request count of one plan is a step function of `λ`, and a step can be a request per job
/// (one more check before anything finishes). So the oracle is the classical randomised one: the two
/// plans around the target, each job watched with one of them, in the proportion that spends the
/// target — the best latency any schedule knowing the distribution reaches at that count.
pub fn oracle(family: &Family, target: f64, tail: Duration) -> Option<OracleRow> {
    let truth = DurationEstimate::from_samples(&family.truth, &[])?;
    let outcomes = |log_lambda: f64| run(family, &Oracle(PollPlan::for_cost(&truth, log_lambda.exp(), tail)), None, 0);
    let (lo, hi) = bisect(1e-4f64.ln(), 1e4f64.ln(), target, 30, |x| summarize(warm(&outcomes(x))).mean_requests);
    let (costly, cheap) = (outcomes(lo), outcomes(hi));
    let (rc, rs) = (summarize(warm(&costly)).mean_requests, summarize(warm(&cheap)).mean_requests);
    let mix = if rc > rs { ((target - rs) / (rc - rs)).clamp(0.0, 1.0) } else { 1.0 };
    // A low-discrepancy choice per job, so that the costlier plan's share is `mix` in every stretch.
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    let mixed: Vec<JobOutcome> = (0..costly.len())
        .map(|i| if ((i as f64 + 1.0) * golden).fract() < mix { costly[i] } else { cheap[i] })
        .collect();
    Some(OracleRow { summary: summarize(warm(&mixed)), lambdas: (hi.exp(), lo.exp()), mix })
}

/// What a strategy row adds to its figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extra {
    /// Nothing.
    None,
    /// The equal-budget loop's interval, seconds.
    Interval(f64),
    /// The oracle's plans.
    Oracle { lambdas: (f64, f64), mix: f64 },
}

/// Every strategy on one family: (strategy, summary, what else it has to say).
pub fn strategies(family: &Family, seed: u64) -> Vec<(&'static str, Summary, Extra)> {
    let schedule = AdaptiveSchedule::default();
    let learning = SharedEstimates::default();
    let learned = run(family, &schedule, Some(&learning), seed);
    let default = summarize(warm(&learned));
    let mut rows = vec![("default", default, Extra::None), ("default-cold", summarize(cold(&learned)), Extra::None)];
    let unlearned = run(family, &schedule, None, seed);
    rows.push(("default-unlearned", summarize(warm(&unlearned)), Extra::None));
    let fixed = run(family, &FixedInterval(Duration::from_secs(10)), None, seed);
    rows.push(("fixed-10s", summarize(warm(&fixed)), Extra::None));
    if default.jobs > 0 {
        let (interval, summary) = equal_budget(family, default.mean_requests, seed);
        rows.push(("equal-budget-fixed", summary, Extra::Interval(interval.as_secs_f64())));
        if let Some(o) = oracle(family, default.mean_requests, schedule.budget().tail_interval()) {
            rows.push(("oracle", o.summary, Extra::Oracle { lambdas: o.lambdas, mix: o.mix }));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use genjob::JobKind;
    use genjob::models::RequestProfile;

    fn family(reports: Reports, provider: Provider, jobs: Vec<SimJob>) -> Family {
        let truth = jobs.iter().map(SimJob::duration_s).collect();
        Family {
            name: "test".into(),
            provider,
            kind: JobKind::Video,
            model: "seedance-2.0".into(),
            profile: RequestProfile::default(),
            reports,
            jobs,
            truth,
            documented: false,
        }
    }

    fn one(run_s: f64) -> Vec<SimJob> {
        vec![SimJob { submit_s: 0.0, queue_s: 0.0, run_s }]
    }

    #[test]
    fn fixed_ten_seconds_on_a_known_duration() {
        let policy = FixedInterval(Duration::from_secs(10));
        // Checks at 0, 10, …, 100: the eleventh sees the job that finished at 95 s, 5 s late.
        let o = run(&family(Reports::Nothing, Provider::Dreamina, one(95.0)), &policy, None, 1);
        assert_eq!(o[0].requests, 11);
        assert!((o[0].latency_s - 5.0).abs() < 1e-6);
        // A check exactly at the finish sees it.
        let o = run(&family(Reports::Nothing, Provider::Dreamina, one(100.0)), &policy, None, 1);
        assert_eq!((o[0].requests, o[0].latency_s), (11, 0.0));
    }

    #[test]
    fn the_default_polls_at_its_plan() {
        let policy = AdaptiveSchedule::new().with_jitter(0.0);
        let mut ctx = PollContext::new(Provider::Dreamina);
        ctx.kind = Some(JobKind::Video);
        let checks = policy.plan(&ctx).map(|p| p.checks()).unwrap_or_default();
        let done = Duration::from_secs(66);
        let seen = checks.iter().position(|c| *c >= done).unwrap_or(usize::MAX);
        let o = run(&family(Reports::Nothing, Provider::Dreamina, one(66.0)), &policy, None, 1);
        assert_eq!(o[0].requests as usize, seen + 1, "{checks:?}");
        assert!((o[0].latency_s - (checks[seen] - done).as_secs_f64()).abs() < 1e-6);
    }

    #[test]
    fn token360_is_read_at_once_because_its_id_tells_nothing() {
        let policy = AdaptiveSchedule::new().with_jitter(0.0);
        let o = run(&family(Reports::Progress, Provider::Token360, one(100.0)), &policy, None, 1);
        assert!(o[0].requests >= 2 && o[0].latency_s <= 30.0, "{o:?}");
    }

    #[test]
    fn a_pipeline_learns_only_from_jobs_seen_finished_earlier() {
        // 30 quick jobs, then one submitted while the last quick ones are still running.
        let mut jobs: Vec<SimJob> =
            (0..30).map(|i| SimJob { submit_s: f64::from(i) * 10.0, queue_s: 0.0, run_s: 20.0 }).collect();
        jobs.push(SimJob { submit_s: 300.0, queue_s: 0.0, run_s: 20.2 });
        let f = family(Reports::Nothing, Provider::Dreamina, jobs);
        let learning = SharedEstimates::default();
        let o = run(&f, &AdaptiveSchedule::default(), Some(&learning), 3);
        let key =
            DurationKey::new(Provider::Dreamina, Some(JobKind::Video), Some("seedance-2.0"), RequestProfile::default());
        assert_eq!(learning.snapshot().samples(&key), (31, 0));
        // The last job planned on what the first ones taught: seen within seconds, not at the 34 s the
        // documents would first check.
        assert!(o[30].latency_s < 5.0 && o[30].requests <= 4, "{:?}", o[30]);
        // The first job had nothing to learn from.
        assert!(o[0].latency_s > 10.0, "{:?}", o[0]);
    }

    #[test]
    fn equal_budget_and_oracle_match_the_target() {
        let jobs: Vec<SimJob> = (0..200)
            .map(|i| SimJob { submit_s: f64::from(i), queue_s: 0.0, run_s: 60.0 + f64::from(i % 120) })
            .collect();
        let f = family(Reports::Nothing, Provider::Dreamina, jobs);
        let fixed = summarize(warm(&run(&f, &FixedInterval(Duration::from_secs(10)), None, 1)));
        let (interval, summary) = equal_budget(&f, fixed.mean_requests, 1);
        assert!((summary.mean_requests - fixed.mean_requests).abs() / fixed.mean_requests < 0.02, "{summary:?}");
        assert!((interval.as_secs_f64() - 10.0).abs() < 0.7, "{interval:?}");
        let tail = AdaptiveSchedule::default().budget().tail_interval();
        let best = oracle(&f, fixed.mean_requests, tail).unwrap_or_else(|| panic!("no oracle")).summary;
        assert!((best.mean_requests - fixed.mean_requests).abs() / fixed.mean_requests < 0.01, "{best:?}");
        assert!(best.mean_latency_s < 0.7 * fixed.mean_latency_s, "{best:?} vs {fixed:?}");
    }

    #[test]
    fn percentile_is_nearest_rank_and_runs_are_deterministic() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.95), 95.0);
        assert_eq!(percentile(&mut [], 0.95), 0.0);
        let jobs: Vec<SimJob> = (0..50)
            .map(|i| SimJob { submit_s: f64::from(i) * 3.0, queue_s: 5.0, run_s: 60.0 + f64::from(i) })
            .collect();
        let f = family(Reports::Nothing, Provider::Dreamina, jobs);
        let a = run(&f, &AdaptiveSchedule::default(), Some(&SharedEstimates::default()), 9);
        let b = run(&f, &AdaptiveSchedule::default(), Some(&SharedEstimates::default()), 9);
        assert_eq!(a, b);
    }
}
