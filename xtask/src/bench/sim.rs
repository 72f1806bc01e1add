//! Poll efficiency in virtual time: every strategy driven exactly as the watcher drives a policy.
//!
//! No HTTP and no clock: a job is a duration, a poll sees the state the sandbox would report at that
//! age, and time jumps from one poll to the next. Durations and jitter come from fixed seeds.

use genjob::policy::{PollContext, PollPolicy};
use genjob::{AdaptiveSchedule, FixedInterval, JobKind, JobStatus, Provider};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// Simulated jobs per range.
pub const JOBS_PER_RANGE: usize = 5_000;

/// A stop for a policy that would never see the job finish.
const MAX_POLLS: u32 = 100_000;

/// What a poll of a running job reports besides "not done".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reports {
    /// Dreamina: `created` until the end.
    Nothing,
    /// Google Flow: `created` for the first tenth of the run, then `started`, no progress.
    Started,
    /// token360: `queued` (progress 0) for the first tenth, then `in_progress` with linear progress.
    Progress,
}

/// A family of jobs: durations uniform in `[min_s, max_s]`.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// Name in the table and the JSON.
    pub name: &'static str,
    /// The provider.
    pub provider: Provider,
    /// The job kind.
    pub kind: JobKind,
    /// The model the record names.
    pub model: &'static str,
    /// True when the id tells kind and creation time (useapi.net ids); false for opaque ids (token360),
    /// where the watcher learns them from the first read.
    pub id_tells_age: bool,
    /// Shortest duration in seconds.
    pub min_s: f64,
    /// Longest duration in seconds.
    pub max_s: f64,
    /// What a running job reports.
    pub reports: Reports,
}

/// The ranges of the issue, from the documented typical times (shared/PROVIDER_FACTS.md).
pub fn ranges() -> Vec<Range> {
    let r = |name, provider, kind, model, id_tells_age, min_s, max_s, reports| Range {
        name,
        provider,
        kind,
        model,
        id_tells_age,
        min_s,
        max_s,
        reports,
    };
    vec![
        r("dreamina-video", Provider::Dreamina, JobKind::Video, "seedance-2.0", true, 60.0, 180.0, Reports::Nothing),
        r("dreamina-image", Provider::Dreamina, JobKind::Image, "seedream-4.0", true, 15.0, 120.0, Reports::Nothing),
        r(
            "google-flow-video",
            Provider::GoogleFlow,
            JobKind::Video,
            "veo-3.1-fast",
            true,
            60.0,
            180.0,
            Reports::Started,
        ),
        r("google-flow-image", Provider::GoogleFlow, JobKind::Image, "imagen-4", true, 10.0, 20.0, Reports::Started),
        r("token360-video", Provider::Token360, JobKind::Video, "seedance-2.0", false, 60.0, 180.0, Reports::Progress),
    ]
}

/// The AWS SDK waiter: first check at once, then a delay uniform in `[2 s, min(120 s, 2 s·2^(n−1))]`
/// before the n-th retry.
#[derive(Debug, Clone, Copy)]
pub struct AwsWaiter;

impl PollPolicy for AwsWaiter {
    fn first_delay(&self, _: &PollContext<'_>) -> Duration {
        Duration::ZERO
    }

    fn next_delay(&self, ctx: &PollContext<'_>, jitter: f64) -> Duration {
        let min = 2.0;
        let n = ctx.polls.max(1);
        let upper = (min * 2f64.powi(n.saturating_sub(1).min(30) as i32)).min(120.0);
        Duration::from_secs_f64(min + jitter.clamp(0.0, 1.0) * (upper - min))
    }
}

/// One simulated job: requests made and the delay from completion to the poll that saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobOutcome {
    /// Polls made, the one that saw the final state included.
    pub requests: u32,
    /// Time from the job's completion to that poll.
    pub latency: Duration,
}

/// What the job's record says at `age`.
fn observe(range: &Range, duration: Duration, age: Duration) -> (JobStatus, Option<u8>) {
    let start = duration.as_secs_f64() * 0.1;
    let age_s = age.as_secs_f64();
    match range.reports {
        Reports::Nothing => (JobStatus::Queued, None),
        Reports::Started if age_s < start => (JobStatus::Queued, None),
        Reports::Started => (JobStatus::Running, None),
        Reports::Progress if age_s < start => (JobStatus::Queued, Some(0)),
        Reports::Progress => {
            let span = duration.as_secs_f64() - start;
            let p = if span > 0.0 { (100.0 * (age_s - start) / span).floor() } else { 99.0 };
            (JobStatus::Running, Some(p.clamp(0.0, 99.0) as u8))
        }
    }
}

/// Watches one job from its creation with `policy`, drawing jitter from `rng`.
pub fn simulate_job(range: &Range, policy: &dyn PollPolicy, duration: Duration, rng: &mut StdRng) -> JobOutcome {
    let mut now = Duration::ZERO;
    let mut polls = 0u32;
    let mut seen: Option<(JobStatus, Option<u8>)> = None;
    let context = |now: Duration, polls: u32, seen: Option<(JobStatus, Option<u8>)>| {
        // Before the first read the watcher knows only what the id tells.
        let read = seen.is_some();
        let mut ctx = PollContext::new(range.provider);
        ctx.kind = (range.id_tells_age || read).then_some(range.kind);
        ctx.model = read.then_some(range.model);
        ctx.age = (range.id_tells_age || read).then_some(now);
        ctx.waited = now;
        ctx.status = seen.map_or(JobStatus::Queued, |s| s.0);
        ctx.progress = seen.and_then(|s| s.1);
        ctx.polls = polls;
        ctx
    };
    now += policy.first_delay(&context(now, polls, seen));
    loop {
        polls += 1;
        if now >= duration || polls >= MAX_POLLS {
            return JobOutcome { requests: polls, latency: now.saturating_sub(duration) };
        }
        seen = Some(observe(range, duration, now));
        now += policy.next_delay(&context(now, polls, seen), rng.random::<f64>());
    }
}

/// Aggregates over many jobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Mean requests per job.
    pub mean_requests: f64,
    /// Mean detection latency in seconds.
    pub mean_latency_s: f64,
    /// 95th percentile detection latency in seconds.
    pub p95_latency_s: f64,
}

/// The job durations of a range: uniform in its bounds, from `seed`.
pub fn durations(range: &Range, n: usize, seed: u64) -> Vec<Duration> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| Duration::from_secs_f64(rng.random_range(range.min_s..=range.max_s))).collect()
}

/// Runs `policy` over every duration (jitter from `seed`) and summarises.
pub fn summarize(range: &Range, policy: &dyn PollPolicy, durations: &[Duration], seed: u64) -> Summary {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut latencies = Vec::with_capacity(durations.len());
    let mut requests = 0u64;
    for &d in durations {
        let o = simulate_job(range, policy, d, &mut rng);
        requests += u64::from(o.requests);
        latencies.push(o.latency.as_secs_f64());
    }
    let n = durations.len().max(1) as f64;
    Summary {
        mean_requests: requests as f64 / n,
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

/// The fixed interval whose mean request count matches `target` (bisection; requests fall as the
/// interval grows), with its summary.
pub fn equal_budget_interval(range: &Range, durations: &[Duration], target: f64, seed: u64) -> (Duration, Summary) {
    let run = |secs: f64| summarize(range, &FixedInterval(Duration::from_secs_f64(secs)), durations, seed);
    let (mut lo, mut hi) = (1.0f64, range.max_s * 2.0);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if run(mid).mean_requests > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // Of the two brackets, the one whose budget is closer to the target.
    let (a, b) = (run(lo), run(hi));
    if (a.mean_requests - target).abs() <= (b.mean_requests - target).abs() {
        (Duration::from_secs_f64(lo), a)
    } else {
        (Duration::from_secs_f64(hi), b)
    }
}

/// One row of the poll-efficiency results.
#[derive(Debug, Clone)]
pub struct Row {
    /// The range name.
    pub range: &'static str,
    /// The strategy name.
    pub strategy: String,
    /// The figures.
    pub summary: Summary,
    /// For `equal-budget-fixed`: the interval found.
    pub interval: Option<Duration>,
}

/// Every range × strategy, deterministic.
pub fn run_all() -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, range) in ranges().iter().enumerate() {
        let seed = 0x6765_6e6a_6f62 + i as u64;
        let durations = durations(range, JOBS_PER_RANGE, seed);
        let jitter_seed = seed ^ 0x5eed;
        let strategies: Vec<(&str, Box<dyn PollPolicy>)> = vec![
            ("default", Box::new(AdaptiveSchedule::default())),
            ("fixed-10s", Box::new(FixedInterval(Duration::from_secs(10)))),
            ("fixed-5s", Box::new(FixedInterval(Duration::from_secs(5)))),
            ("fixed-20s", Box::new(FixedInterval(Duration::from_secs(20)))),
            ("aws-waiter", Box::new(AwsWaiter)),
        ];
        let mut default = None;
        for (name, policy) in strategies {
            let summary = summarize(range, policy.as_ref(), &durations, jitter_seed);
            if name == "default" {
                default = Some(summary);
            }
            rows.push(Row { range: range.name, strategy: name.to_owned(), summary, interval: None });
        }
        if let Some(default) = default {
            let (interval, summary) = equal_budget_interval(range, &durations, default.mean_requests, jitter_seed);
            rows.push(Row {
                range: range.name,
                strategy: "equal-budget-fixed".to_owned(),
                summary,
                interval: Some(interval),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dreamina_video() -> Range {
        ranges()[0]
    }

    #[test]
    fn fixed_ten_seconds_on_a_known_duration() {
        let mut rng = StdRng::seed_from_u64(1);
        let policy = FixedInterval(Duration::from_secs(10));
        // Polls at 0, 10, …, 100: the eleventh sees the job that finished at 95 s, 5 s late.
        let o = simulate_job(&dreamina_video(), &policy, Duration::from_secs(95), &mut rng);
        assert_eq!(o, JobOutcome { requests: 11, latency: Duration::from_secs(5) });
        // A poll exactly at the completion sees it.
        let o = simulate_job(&dreamina_video(), &policy, Duration::from_secs(100), &mut rng);
        assert_eq!(o, JobOutcome { requests: 11, latency: Duration::ZERO });
    }

    #[test]
    fn the_default_polls_at_its_plan() {
        let mut rng = StdRng::seed_from_u64(1);
        let policy = AdaptiveSchedule::new().with_jitter(0.0);
        let mut ctx = PollContext::new(Provider::Dreamina);
        ctx.kind = Some(JobKind::Video);
        let checks = policy.plan(&ctx).map(|p| p.checks()).unwrap_or_default();
        let done = Duration::from_secs(66);
        let seen = checks.iter().position(|c| *c >= done).unwrap_or(usize::MAX);
        let o = simulate_job(&dreamina_video(), &policy, done, &mut rng);
        assert_eq!(o.requests as usize, seen + 1, "{checks:?}");
        assert_eq!(o.latency, checks[seen] - done);
    }

    #[test]
    fn token360_is_read_at_once_because_its_id_tells_nothing() {
        let mut rng = StdRng::seed_from_u64(1);
        let range = ranges()[4];
        let policy = AdaptiveSchedule::new().with_jitter(0.0);
        let o = simulate_job(&range, &policy, Duration::from_secs(100), &mut rng);
        assert!(o.requests >= 2, "{o:?}");
        assert!(o.latency <= Duration::from_secs(30), "{o:?}");
    }

    #[test]
    fn aws_waiter_doubles_its_upper_bound() {
        let ctx = |polls| {
            let mut ctx = PollContext::new(Provider::Dreamina);
            ctx.polls = polls;
            ctx
        };
        assert_eq!(AwsWaiter.next_delay(&ctx(1), 0.999), Duration::from_secs(2));
        assert_eq!(AwsWaiter.next_delay(&ctx(3), 1.0), Duration::from_secs(8));
        assert_eq!(AwsWaiter.next_delay(&ctx(20), 1.0), Duration::from_secs(120));
        assert_eq!(AwsWaiter.next_delay(&ctx(20), 0.0), Duration::from_secs(2));
    }

    #[test]
    fn equal_budget_search_matches_the_target() {
        let range = dreamina_video();
        let d = durations(&range, 500, 7);
        let target = summarize(&range, &FixedInterval(Duration::from_secs(10)), &d, 1).mean_requests;
        let (interval, summary) = equal_budget_interval(&range, &d, target, 1);
        assert!((summary.mean_requests - target).abs() / target < 0.01, "{summary:?} vs {target}");
        assert!((interval.as_secs_f64() - 10.0).abs() < 0.5, "{interval:?}");
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.95), 95.0);
        assert_eq!(percentile(&mut [], 0.95), 0.0);
    }

    #[test]
    fn runs_are_deterministic() {
        let range = dreamina_video();
        let d = durations(&range, 200, 3);
        let a = summarize(&range, &AdaptiveSchedule::default(), &d, 9);
        let b = summarize(&range, &AdaptiveSchedule::default(), &d, 9);
        assert_eq!(a, b);
    }
}
