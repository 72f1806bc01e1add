//! Poll efficiency in virtual time: a family's jobs watched by the real [`Watcher`], as a pipeline would.
//!
//! No HTTP and no wall clock: each run is a current-thread tokio runtime on a paused clock, so time
//! jumps from one timer to the next. Jobs are submitted at their submission times; each gets its
//! own `watcher.watch(..)` at once (a pipeline watches what it submits), through one [`Watcher`] that
//! holds the policy, the shared learning and a [`FamilySource`], whose every `fetch` answers the
//! record the job would show at that moment. So the context the policy sees, what is learned from
//! each record (a finished job's `created` → finish time, a running job's age) and when, jitter,
//! the unread bound and the budget are the watcher's own; the bench only counts each job's
//! requests (at the source) and the delay from its finish to the event that reports it.

use super::families::{Family, SimJob};
use super::oracle;
use super::source::{EPOCH, FamilySource};
use futures::StreamExt;
use genjob::learn::{DurationKey, SharedEstimates};
use genjob::policy::PollPolicy;
use genjob::{
    AdaptiveSchedule, Environment, FixedInterval, RequestBudget, TokioEnvironment, WatchEvent, WatchOptions, Watcher,
};
use std::sync::Arc;
use std::time::Duration;

/// The first jobs by submission that are the warm-up: reported apart (`default-cold`), left out of the rest.
pub const WARM_UP: usize = 20;

/// Steps of the bisections that match a request count: far finer than the figures are shown.
const BISECTION_STEPS: usize = 22;

/// One watched job: requests made and the delay from its finish to the event that reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobOutcome {
    /// Record reads made, the one that saw the final state included.
    pub requests: u32,
    /// Time from the job's finish to the watch's event reporting it, in seconds.
    pub latency_s: f64,
}

/// Watches every job of `family` from its creation with `policy`, concurrently in simulated time,
/// through the real watcher; `learning` is what it learns into and plans from (none: `--no-learn`).
/// One outcome per job, in family order.
pub fn run(
    family: &Family,
    policy: Arc<dyn PollPolicy>,
    learning: Option<&SharedEstimates>,
    seed: u64,
) -> Result<Vec<JobOutcome>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| format!("cannot start a paused tokio runtime for the poll simulation: {e}"))?;
    runtime.block_on(pipeline(family, policy, learning.cloned(), seed))
}

async fn pipeline(
    family: &Family,
    policy: Arc<dyn PollPolicy>,
    learning: Option<SharedEstimates>,
    seed: u64,
) -> Result<Vec<JobOutcome>, String> {
    // Anchored at the family's start on the paused clock; jitter seeded, so runs repeat exactly.
    let env = Arc::new(TokioEnvironment::with_seed(EPOCH, seed));
    let source = Arc::new(FamilySource::new(family, env.clone()));
    let watcher = Watcher::new()
        .with_source(source.clone())
        .with_environment(env.clone())
        .with_options(WatchOptions::new())
        .with_policy(policy);
    let watcher = match learning {
        Some(learning) => watcher.with_learning(learning),
        None => watcher.without_learning(),
    };
    let start = tokio::time::Instant::now();
    let mut watches = tokio::task::JoinSet::new();
    for i in 0..family.jobs.len() {
        tokio::time::sleep_until(start + source.submitted_after(i)).await;
        // This section measures schedules, not the pace: each job spends a budget of its own, as the
        // fixed loops it is compared with do (the shared pace is what the batch section measures).
        let mut watch = watcher.clone().with_budget(RequestBudget::new()).watch(vec![source.target(i)?]);
        let env = env.clone();
        watches.spawn(async move {
            let mut reported = None;
            while let Some(event) = watch.next().await {
                if let WatchEvent::Ended(_) = event {
                    reported = Some(env.now());
                }
            }
            (i, reported)
        });
    }
    let mut outcomes = vec![None; family.jobs.len()];
    while let Some(done) = watches.join_next().await {
        let (i, reported) = done.map_err(|e| format!("a simulated watch stopped: {e}"))?;
        let (Some(reported), Some(finished)) = (reported, source.finished_at(i)) else {
            return Err(format!("{}: job {i}'s watch ended without reporting it", family.name));
        };
        let latency_s = reported.duration_since(finished).as_secs_f64().max(0.0);
        outcomes[i] = Some(JobOutcome { requests: source.requests(i), latency_s });
    }
    outcomes.into_iter().map(|o| o.ok_or_else(|| format!("{}: a job was never watched", family.name))).collect()
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
pub(super) fn bisect(
    lo: f64,
    hi: f64,
    target: f64,
    mut requests: impl FnMut(f64) -> Result<f64, String>,
) -> Result<(f64, f64), String> {
    let (mut lo, mut hi) = (lo, hi);
    for _ in 0..BISECTION_STEPS {
        let mid = (lo + hi) / 2.0;
        if requests(mid)? > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok((lo, hi))
}

/// The fixed interval whose warm mean requests match `target`, with its summary.
pub fn equal_budget(family: &Family, target: f64, seed: u64) -> Result<(Duration, Summary), String> {
    let longest = family.jobs.iter().map(SimJob::duration_s).fold(1.0, f64::max);
    let measure = |secs: f64| -> Result<Summary, String> {
        let policy = Arc::new(FixedInterval(Duration::from_secs_f64(secs)));
        Ok(summarize(warm(&run(family, policy, None, seed)?)))
    };
    let (lo, hi) = bisect(1.0, 2.0 * longest, target, |secs| Ok(measure(secs)?.mean_requests))?;
    // Of the two brackets, the one whose requests are closer to the target.
    let (a, b) = (measure(lo)?, measure(hi)?);
    let (secs, summary) =
        if (a.mean_requests - target).abs() <= (b.mean_requests - target).abs() { (lo, a) } else { (hi, b) };
    Ok((Duration::from_secs_f64(secs), summary))
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
    /// How the learned schedule followed a change ([`follow`]).
    Followed(Followed),
}

/// How the learned schedule followed a family's change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Followed {
    /// Finishes of jobs submitted after the change that were seen before the estimate followed it
    /// (`None`: it never did).
    pub finishes: Option<usize>,
    /// Changes followed before the change happened (an unchanged distribution mistaken for one).
    pub early: usize,
    /// Mean requests of the first [`TRANSITION_JOBS`] jobs after the change: the learned schedule's,
    /// and the fixed 10-second loop's.
    pub transition_requests: (f64, f64),
}

/// The jobs after a change whose requests are compared with the fixed loop's while it is followed.
pub const TRANSITION_JOBS: usize = 100;

/// One strategy's row: its name, its figures, and what else it has to say.
pub type Row = (&'static str, Summary, Extra);

/// Every strategy on one family, each watched by the real watcher.
pub fn strategies(family: &Family, seed: u64) -> Result<Vec<Row>, String> {
    let schedule = Arc::new(AdaptiveSchedule::default());
    let learning = SharedEstimates::default();
    let learned = run(family, schedule.clone(), Some(&learning), seed)?;
    let default = summarize(warm(&learned));
    let mut rows = vec![("default", default, Extra::None), ("default-cold", summarize(cold(&learned)), Extra::None)];
    let unlearned = run(family, schedule.clone(), None, seed)?;
    rows.push(("default-unlearned", summarize(warm(&unlearned)), Extra::None));
    let fixed = run(family, Arc::new(FixedInterval(Duration::from_secs(10))), None, seed)?;
    rows.push(("fixed-10s", summarize(warm(&fixed)), Extra::None));
    if default.jobs > 0 {
        let (interval, summary) = equal_budget(family, default.mean_requests, seed)?;
        rows.push(("equal-budget-fixed", summary, Extra::Interval(interval.as_secs_f64())));
        let tail = schedule.budget().tail_interval();
        if let Some(o) = oracle::oracle(family, default.mean_requests, tail, &family.truth)? {
            rows.push(("oracle", o.summary, Extra::Oracle { lambdas: o.lambdas, mix: o.mix }));
        }
        // Beside the limit, the same programme planned on the family's own jobs: what knowing
        // exactly these jobs' durations (not only their process) would reach.
        if family.has_process {
            let own: Vec<f64> = family.jobs.iter().map(SimJob::duration_s).collect();
            if let Some(o) = oracle::oracle(family, default.mean_requests, tail, &own)? {
                rows.push(("oracle-sample", o.summary, Extra::Oracle { lambdas: o.lambdas, mix: o.mix }));
            }
        }
    }
    if let Some(change) = &family.change {
        let after = family.jobs.partition_point(|j| j.submit_s < change.at_s)..family.jobs.len();
        let (mine, loop_) = (&learned[after.clone()], &fixed[after.clone()]);
        let key = DurationKey::new(family.provider, Some(family.kind), Some(&family.model), family.profile.clone());
        let (finishes, early) = follow(family, &learned, change.at_s, &learning.changes(&key));
        let transition = |o: &[JobOutcome]| summarize(&o[..TRANSITION_JOBS.min(o.len())]).mean_requests;
        let followed = Followed { finishes, early, transition_requests: (transition(mine), transition(loop_)) };
        let mine = summarize(mine);
        rows.push(("after-change default", mine, Extra::Followed(followed)));
        rows.push(("after-change fixed-10s", summarize(loop_), Extra::None));
        let tail = schedule.budget().tail_interval();
        if let Some(o) = oracle::oracle_over(family, after, mine.mean_requests, tail, &change.truth_after)? {
            rows.push(("after-change oracle", o.summary, Extra::Oracle { lambdas: o.lambdas, mix: o.mix }));
        }
    }
    Ok(rows)
}

/// When the learned estimate followed the change at `at_s`, from the finish counts at which its
/// key followed one ([`SharedEstimates::changes`]): the `k`-th count is the `k`-th finish the
/// watcher saw, so the jobs seen finished by then are known from each job's finish and latency.
/// Returns [`Followed::finishes`] and [`Followed::early`].
fn follow(family: &Family, outcomes: &[JobOutcome], at_s: f64, changes: &[u64]) -> (Option<usize>, usize) {
    let mut seen: Vec<(f64, bool)> = family
        .jobs
        .iter()
        .zip(outcomes)
        .map(|(j, o)| (j.submit_s + j.duration_s() + o.latency_s, j.submit_s >= at_s))
        .collect();
    seen.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |k: u64| usize::try_from(k).ok().and_then(|k| seen.get(k.checked_sub(1)?)).map(|s| s.0);
    let early = changes.iter().filter(|&&k| at(k).is_some_and(|t| t < at_s)).count();
    let finishes = changes.iter().find(|&&k| at(k).is_some_and(|t| t >= at_s)).map(|&k| {
        let k = usize::try_from(k).unwrap_or(usize::MAX).min(seen.len());
        seen[..k].iter().filter(|s| s.1).count()
    });
    (finishes, early)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::families::Reports;
    use genjob::models::RequestProfile;
    use genjob::policy::PollContext;
    use genjob::{DurationKey, JobKind, Provider};

    fn family(reports: Reports, provider: Provider, jobs: Vec<SimJob>) -> Family {
        let truth = jobs.iter().map(SimJob::duration_s).collect();
        let spec = ("test", provider, JobKind::Video, "seedance-2.0", RequestProfile::default(), reports);
        Family { has_process: false, ..crate::bench::families::family(spec, jobs, truth) }
    }

    fn one(run_s: f64) -> Vec<SimJob> {
        vec![SimJob { submit_s: 0.0, queue_s: 0.0, run_s }]
    }

    fn fixed(secs: u64) -> Arc<dyn PollPolicy> {
        Arc::new(FixedInterval(Duration::from_secs(secs)))
    }

    #[test]
    fn fixed_ten_seconds_on_a_known_duration() -> Result<(), String> {
        // Checks at 0, 10, …, 100: the eleventh sees the job that finished at 95 s, 5 s late.
        let o = run(&family(Reports::Nothing, Provider::Dreamina, one(95.0)), fixed(10), None, 1)?;
        assert_eq!(o[0].requests, 11);
        assert!((o[0].latency_s - 5.0).abs() < 1e-3, "{o:?}");
        // A check exactly at the finish sees it.
        let o = run(&family(Reports::Nothing, Provider::Dreamina, one(100.0)), fixed(10), None, 1)?;
        assert_eq!(o[0].requests, 11);
        assert!(o[0].latency_s < 1e-3, "{o:?}");
        Ok(())
    }

    #[test]
    fn the_watchers_own_rules_apply() -> Result<(), String> {
        // A 10-minute loop on a job that takes 1000 s: the watcher reads a record at least every
        // 5 minutes (`max_unread`), at 0, 300, 600, 900 and 1200 s; the loop alone would read 3 times.
        let o = run(&family(Reports::Nothing, Provider::Dreamina, one(1_000.0)), fixed(600), None, 1)?;
        assert_eq!(o[0].requests, 5, "{o:?}");
        assert!((o[0].latency_s - 200.0).abs() < 1e-3, "{o:?}");
        Ok(())
    }

    #[test]
    fn the_default_polls_at_its_plan() -> Result<(), String> {
        let policy = AdaptiveSchedule::new().with_jitter(0.0);
        let mut ctx = PollContext::new(Provider::Dreamina);
        ctx.kind = Some(JobKind::Video);
        ctx.window = genjob::dreamina::documented_window(ctx.kind, None).map(Into::into);
        let checks = policy.plan(&ctx).map(|p| p.checks()).unwrap_or_default();
        let done = Duration::from_secs(66);
        let seen = checks.iter().position(|c| *c >= done).unwrap_or(usize::MAX);
        let o = run(&family(Reports::Nothing, Provider::Dreamina, one(66.0)), Arc::new(policy), None, 1)?;
        assert_eq!(o[0].requests as usize, seen + 1, "{checks:?}");
        assert!((o[0].latency_s - (checks[seen] - done).as_secs_f64()).abs() < 1e-3, "{o:?} {checks:?}");
        Ok(())
    }

    #[test]
    fn token360_is_read_at_once_because_its_id_tells_nothing() -> Result<(), String> {
        let policy = Arc::new(AdaptiveSchedule::new().with_jitter(0.0));
        let o = run(&family(Reports::Progress, Provider::Token360, one(100.0)), policy, None, 1)?;
        assert!(o[0].requests >= 2 && o[0].latency_s <= 30.0, "{o:?}");
        Ok(())
    }

    #[test]
    fn a_pipeline_learns_only_from_jobs_seen_finished_earlier() -> Result<(), String> {
        // 30 quick jobs, then one submitted while the last quick ones are still running.
        let mut jobs: Vec<SimJob> =
            (0..30).map(|i| SimJob { submit_s: f64::from(i) * 10.0, queue_s: 0.0, run_s: 20.0 }).collect();
        jobs.push(SimJob { submit_s: 300.0, queue_s: 0.0, run_s: 20.2 });
        let f = family(Reports::Nothing, Provider::Dreamina, jobs);
        let learning = SharedEstimates::default();
        let o = run(&f, Arc::new(AdaptiveSchedule::default()), Some(&learning), 3)?;
        // What the watcher learned, keyed as it keys the records: every job's finish, from its record.
        let key =
            DurationKey::new(Provider::Dreamina, Some(JobKind::Video), Some("seedance-2.0"), RequestProfile::default());
        assert_eq!(learning.snapshot().samples(&key), (31, 0));
        // The last job planned on what the first ones taught: seen within seconds, not at the 34 s the
        // documents would first check.
        assert!(o[30].latency_s < 5.0 && o[30].requests <= 4, "{:?}", o[30]);
        // The first job had nothing to learn from.
        assert!(o[0].latency_s > 10.0, "{:?}", o[0]);
        Ok(())
    }

    #[test]
    fn equal_budget_and_oracle_match_the_target() -> Result<(), String> {
        let jobs: Vec<SimJob> = (0..120)
            .map(|i| SimJob { submit_s: f64::from(i), queue_s: 0.0, run_s: 60.0 + f64::from(i % 120) })
            .collect();
        let f = family(Reports::Nothing, Provider::Dreamina, jobs);
        let fixed = summarize(warm(&run(&f, fixed(10), None, 1)?));
        let (interval, summary) = equal_budget(&f, fixed.mean_requests, 1)?;
        assert!((summary.mean_requests - fixed.mean_requests).abs() / fixed.mean_requests < 0.02, "{summary:?}");
        assert!((interval.as_secs_f64() - 10.0).abs() < 0.7, "{interval:?}");
        let tail = AdaptiveSchedule::default().budget().tail_interval();
        let best = oracle::oracle(&f, fixed.mean_requests, tail, &f.truth)?.ok_or("no oracle")?.summary;
        assert!((best.mean_requests - fixed.mean_requests).abs() / fixed.mean_requests < 0.01, "{best:?}");
        assert!(best.mean_latency_s < 0.7 * fixed.mean_latency_s, "{best:?} vs {fixed:?}");
        Ok(())
    }

    #[test]
    fn a_change_is_placed_among_the_finishes_the_watcher_saw() {
        // Ten jobs 10 s apart, each done in 5 s and seen at once; the change comes at 50 s.
        let jobs: Vec<SimJob> =
            (0..10).map(|i| SimJob { submit_s: f64::from(i) * 10.0, queue_s: 0.0, run_s: 5.0 }).collect();
        let f = family(Reports::Nothing, Provider::Dreamina, jobs);
        let seen = vec![JobOutcome { requests: 2, latency_s: 0.0 }; 10];
        // Followed at the 8th finish: jobs 5, 6 and 7 were after the change; the 3rd was before it.
        assert_eq!(follow(&f, &seen, 50.0, &[3, 8]), (Some(3), 1));
        // Never followed after it.
        assert_eq!(follow(&f, &seen, 50.0, &[3]).0, None);
        // A job seen late counts where it was seen: job 4, seen at 95 s, is the last finish seen.
        let mut late = seen.clone();
        late[4].latency_s = 50.0;
        assert_eq!(follow(&f, &late, 40.0, &[5]).0, Some(1));
    }

    #[test]
    fn percentile_is_nearest_rank_and_runs_are_deterministic() -> Result<(), String> {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.95), 95.0);
        assert_eq!(percentile(&mut [], 0.95), 0.0);
        let jobs: Vec<SimJob> = (0..50)
            .map(|i| SimJob { submit_s: f64::from(i) * 3.0, queue_s: 5.0, run_s: 60.0 + f64::from(i) })
            .collect();
        let f = family(Reports::Nothing, Provider::Dreamina, jobs);
        let policy = Arc::new(AdaptiveSchedule::default());
        let a = run(&f, policy.clone(), Some(&SharedEstimates::default()), 9)?;
        let b = run(&f, policy, Some(&SharedEstimates::default()), 9)?;
        assert_eq!(a, b);
        Ok(())
    }
}
