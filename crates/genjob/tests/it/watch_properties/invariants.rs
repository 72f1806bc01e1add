//! What every watch must satisfy, whatever its source said: checked on one case's report.

use super::scripted::{Answer, Call, Created, Delay, ErrorSpec, ListingStep, Outcome, Said, ScriptedJob};
use genjob::{JobEnded, JobStatus, Provider, RetryTransient, WaitError, WatchEvent, WatchOptions};
use jiff::Timestamp;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// The Dreamina 1-hour rule: a job still `created` this long after creation has failed.
pub const ONE_HOUR: Duration = Duration::from_secs(3600);

/// The watcher options of one case, as plain data so that a failing case prints them.
///
/// Each field is the [`WatchOptions`] field of the same name, except the last two: the limits of
/// the [`RetryTransient`] error policy.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionsSpec {
    pub timeout: Option<Duration>,
    pub batch: bool,
    pub max_unread: Duration,
    pub listing_interval: Duration,
    pub listing_failure_limit: u32,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
    pub requests_per_second: f64,
    pub max_retry_after: Duration,
    pub attempt_limit: Option<u32>,
    pub time_limit: Option<Duration>,
}

impl OptionsSpec {
    /// The watcher's options.
    pub fn build(&self) -> WatchOptions {
        let policy = RetryTransient::new().with_attempt_limit(self.attempt_limit).with_time_limit(self.time_limit);
        WatchOptions::new()
            .with_batch(self.batch)
            .with_max_unread(self.max_unread)
            .with_listing_interval(self.listing_interval)
            .with_listing_failure_limit(self.listing_failure_limit)
            .with_request_timeout(self.request_timeout)
            .with_max_in_flight(self.max_in_flight)
            .with_requests_per_second(self.requests_per_second)
            .with_max_retry_after(self.max_retry_after)
            .with_error_policy(Arc::new(policy))
    }
}

/// One generated case: the watched jobs with their scripts, the listing's script, the options.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The watched jobs, in watch order.
    pub jobs: Vec<ScriptedJob>,
    /// The Dreamina listing's answers; `None`: the Dreamina source has no listing.
    pub listing: Option<Vec<ListingStep>>,
    /// The watcher's options.
    pub options: OptionsSpec,
    /// The jitter seed.
    pub seed: u64,
}

/// What one watch did: its events (with the virtual time each was received) and the source's log.
#[derive(Debug)]
pub struct Report {
    /// When the watch started.
    pub start: Timestamp,
    /// When the stream returned `None`; `None` when it was still running at the end of the budget.
    pub ended: Option<Timestamp>,
    /// Why the watch was stopped early: it kept waking without virtual time moving.
    pub spin: Option<String>,
    /// Every event, with the time it was received.
    pub events: Vec<(Timestamp, WatchEvent)>,
    /// Every request the sources saw.
    pub calls: Vec<Call>,
    /// The most requests in flight at once, per provider, as the sources saw them.
    pub max_in_flight: HashMap<Provider, usize>,
}

impl Report {
    /// The events and requests, one a line, to read a failure.
    pub fn trace(&self) -> String {
        let mut out = String::from("events:\n");
        for (at, event) in &self.events {
            let at = at.duration_since(self.start).as_secs_f64();
            let _ = match event {
                WatchEvent::Progress(p) => writeln!(out, "  {at:>9.3}s #{} progress {p}", p.index),
                WatchEvent::Ended(f) => writeln!(out, "  {at:>9.3}s #{} finished {}", f.index, summary(f)),
                other => writeln!(out, "  {at:>9.3}s {other:?}"),
            };
        }
        out.push_str("requests:\n");
        for c in &self.calls {
            let started = c.started.duration_since(self.start).as_secs_f64();
            let ended = c.ended.map(|e| format!("{:.3}s", e.duration_since(self.start).as_secs_f64()));
            let what = match &c.outcome {
                Outcome::Record(job) => format!("record {} ({}) id {}", job.status, job.provider_status, job.id),
                Outcome::Error(error) => format!("error: {error}"),
                other => format!("{other:?}"),
            };
            let job = c.job.map_or("listing".to_owned(), |j| format!("#{j}"));
            let _ = writeln!(out, "  {started:>9.3}s–{} {} {job}: {what}", ended.unwrap_or("…".into()), c.provider);
        }
        out
    }
}

fn summary(f: &JobEnded) -> String {
    match &f.result {
        Ok(done) => format!("ok {} after {} reads", done.job.status, done.polls),
        Err(WaitError::JobFailed(done)) => {
            format!("failed (locally: {}) after {} reads", done.timed_out_locally, done.polls)
        }
        Err(e) => format!("error: {e}"),
    }
}

fn secs(at: Timestamp, start: Timestamp) -> f64 {
    at.duration_since(start).as_secs_f64()
}

/// Checks every invariant; the error says which one broke and where.
pub fn check(case: &Case, report: &Report) -> Result<(), String> {
    let start = report.start;
    let options = &case.options;
    // Invariant 2: the watch ends — by its deadline when it has one.
    if let Some(spin) = &report.spin {
        return Err(spin.clone());
    }
    let Some(ended) = report.ended else {
        return Err("the watch did not end within the virtual-time budget".into());
    };
    if let Some(timeout) = options.timeout {
        let limit = after(start, timeout + Duration::from_secs(1));
        if ended > limit {
            return Err(format!("the watch ended at {:.3}s, past its {timeout:?} timeout", secs(ended, start)));
        }
    }
    // Invariants 3 and 5: one final event per job, and no progress after it.
    let mut finished: Vec<Option<(Timestamp, &JobEnded)>> = vec![None; case.jobs.len()];
    for (at, event) in &report.events {
        match event {
            WatchEvent::Progress(p) => {
                let Some(job) = case.jobs.get(p.index) else {
                    return Err(format!("progress of unknown job #{}", p.index));
                };
                if finished[p.index].is_some() {
                    return Err(format!(
                        "job #{} reported running at {:.3}s after it finished",
                        p.index,
                        secs(*at, start)
                    ));
                }
                if p.id.as_str() != job.id {
                    return Err(format!("progress of #{} names {}", p.index, p.id));
                }
                // Invariant 4, while it runs: only what a record said (or `queued`, before any).
                if p.status != JobStatus::Queued && !said(report, p.index, &job.id, *at, |j| j.status == p.status) {
                    return Err(format!(
                        "job #{} reported {} at {:.3}s, which no record said",
                        p.index,
                        p.status,
                        secs(*at, start)
                    ));
                }
            }
            WatchEvent::Ended(f) => {
                let Some(job) = case.jobs.get(f.index) else { return Err(format!("end of unknown job #{}", f.index)) };
                if finished[f.index].is_some() {
                    return Err(format!("job #{} finished twice", f.index));
                }
                if f.id.as_str() != job.id {
                    return Err(format!("the end of #{} names {}", f.index, f.id));
                }
                finished[f.index] = Some((*at, f));
            }
            _ => {}
        }
    }
    for (index, job) in case.jobs.iter().enumerate() {
        let Some((at, f)) = finished[index] else { return Err(format!("job #{index} never finished")) };
        check_end(case, report, index, job, at, f).map_err(|e| format!("job #{index}: {e}"))?;
        check_liveness(case, report, job, f).map_err(|e| format!("job #{index}: {e}"))?;
    }
    check_budget(options, report)
}

/// True when a record the source returned for this job (with its id) before `at` satisfies `what`.
fn said(report: &Report, index: usize, id: &str, at: Timestamp, what: impl Fn(&genjob::Job) -> bool) -> bool {
    report.calls.iter().any(|c| {
        c.job == Some(index)
            && c.ended.is_some_and(|e| e <= at)
            && matches!(&c.outcome, Outcome::Record(job) if job.id == id && what(job))
    })
}

/// Invariants 4 and 6 for a job's final event.
fn check_end(
    case: &Case,
    report: &Report,
    index: usize,
    job: &ScriptedJob,
    at: Timestamp,
    f: &JobEnded,
) -> Result<(), String> {
    let start = report.start;
    let calls = report.calls.iter().filter(|c| c.job == Some(index)).count();
    let exact = |polls: u32| {
        if polls as usize == calls { Ok(()) } else { Err(format!("{polls} reads reported, the source saw {calls}")) }
    };
    match &f.result {
        Ok(done) => {
            if done.job.status != JobStatus::Completed || done.timed_out_locally {
                return Err(format!("finished ok as {} (locally: {})", done.job.status, done.timed_out_locally));
            }
            // Invariant 4: the very view a completed record of this job showed; a listing never completes a job.
            if !said(report, index, &job.id, at, |j| *j == done.job) {
                return Err(format!("completed as {:?}, which no record of this job said", done.job));
            }
            if done.record.as_ref().map(|r| r.normalize()).as_ref() != Some(&done.job) {
                return Err("its record is missing or does not match its view".into());
            }
            exact(done.polls)
        }
        Err(WaitError::JobFailed(done)) => {
            if done.job.status != JobStatus::Failed {
                return Err(format!("failed as {}", done.job.status));
            }
            if done.timed_out_locally {
                // The 1-hour rule: a Dreamina job more than an hour old whose record said `created`,
                // after a read at or past the mark.
                if job.provider != Provider::Dreamina {
                    return Err(format!("a {} job failed by the Dreamina 1-hour rule", job.provider));
                }
                let mark = after(job.created, ONE_HOUR);
                if at <= mark {
                    return Err(format!(
                        "failed by the 1-hour rule at {:.3}s, but its hour ends at {:.3}s",
                        secs(at, start),
                        secs(mark, start)
                    ));
                }
                if !said(report, index, &job.id, at, |j| j.status == JobStatus::Queued) {
                    return Err("failed by the 1-hour rule, but no record of it said `created`".into());
                }
                let confirmed =
                    report.calls.iter().any(|c| c.job == Some(index) && c.ended.is_some_and(|e| e > mark && e <= at));
                if !confirmed {
                    return Err("failed by the 1-hour rule without a read past the mark".into());
                }
                if done.record.is_some() || done.job.error.as_ref().and_then(|e| e.code.as_deref()) != Some("408") {
                    return Err("a local failure must carry code 408 and no record".into());
                }
            } else if !said(report, index, &job.id, at, |j| *j == done.job) {
                return Err(format!("failed as {:?}, which no record of this job said", done.job));
            }
            exact(done.polls)
        }
        Err(WaitError::TimedOut { status, polls, .. }) => {
            let Some(timeout) = case.options.timeout else { return Err("timed out without a timeout".into()) };
            if at < after(start, timeout) {
                return Err(format!("timed out at {:.3}s, before its {timeout:?} deadline", secs(at, start)));
            }
            if *status != JobStatus::Queued && !said(report, index, &job.id, at, |j| j.status == *status) {
                return Err(format!("timed out reported {status}, which no record said"));
            }
            // A read granted just before the deadline may be cut before it reached the source.
            if (*polls as usize) < calls || *polls as usize > calls + 1 {
                return Err(format!("timed out after {polls} reads reported, the source saw {calls}"));
            }
            Ok(())
        }
        // A refusal ends at once; trouble that may pass ends only when the error policy gives up on it.
        Err(WaitError::Fetch { polls, source, .. }) if !source.is_retryable() => exact(*polls),
        Err(WaitError::RetriesExhausted { polls, source, .. }) if source.is_retryable() => exact(*polls),
        // Refusing a record of another job is right only if the source did answer one.
        Err(WaitError::WrongRecord { record_id, polls, .. }) => {
            if !said(report, index, record_id, at, |_| true) {
                return Err(format!("refused a record of {record_id:?}, which the source never answered"));
            }
            exact(*polls)
        }
        Err(other) => Err(format!("ended with {other}")),
    }
}

/// A Dreamina job whose every read answers `created` in time must be failed by the 1-hour rule
/// when the wait lasts well past its hour, unless server pauses could hold its confirming read back.
fn check_liveness(case: &Case, report: &Report, job: &ScriptedJob, f: &JobEnded) -> Result<(), String> {
    // Every read answers in time (so the error policy never gives up on it), and always `created`.
    let answers =
        |d: &Delay| matches!(d, Delay::After(d) if *d + Duration::from_secs(1) < case.options.request_timeout);
    let stuck = job.provider == Provider::Dreamina
        && job.steps.iter().all(|s| {
            answers(&s.delay)
                && matches!(&s.answer, Answer::Record(r)
                    if r.said == Said::Waiting && matches!(r.created, Created::AsId | Created::Absent) && !r.foreign_id)
        });
    let Some(timeout) = case.options.timeout else { return Ok(()) };
    if !stuck || pauses(case) {
        return Ok(());
    }
    // Its confirming read may wait for every other request in flight, then take its own timeout.
    let n = u32::try_from(case.jobs.len()).unwrap_or(u32::MAX);
    let slack = Duration::from_secs(300) + case.options.request_timeout * (n + 2);
    let mark = after(job.created, ONE_HOUR);
    let needed = Duration::try_from(mark.duration_since(report.start)).unwrap_or_default() + slack;
    if timeout < needed {
        return Ok(());
    }
    match &f.result {
        Err(WaitError::JobFailed(done)) if done.timed_out_locally => Ok(()),
        other => Err(format!("stuck `created` and watched well past its hour, but ended with {other:?}")),
    }
}

/// True when some answer asks the provider to pause (a `Retry-After` on an error).
fn pauses(case: &Case) -> bool {
    let pausing = |e: &ErrorSpec| matches!(e, ErrorSpec::RateLimited(Some(_)) | ErrorSpec::Unavailable(Some(_)));
    let jobs = case.jobs.iter().flat_map(|j| &j.steps).any(|s| matches!(&s.answer, Answer::Error(e) if pausing(e)));
    let listing = case.listing.iter().flatten().any(|s| matches!(&s.answer, Err(e) if pausing(e)));
    jobs || listing
}

/// Invariant 6: the requests the sources saw stay within each provider's budget.
fn check_budget(options: &OptionsSpec, report: &Report) -> Result<(), String> {
    for (provider, most) in &report.max_in_flight {
        if *most > options.max_in_flight {
            return Err(format!(
                "{most} requests to {provider} in flight at once, the limit is {}",
                options.max_in_flight
            ));
        }
    }
    // The budget spaces requests wider than the rate by its headroom (jitter on the way to the
    // provider must not crowd a second), and that is what is checked.
    let spacing = Duration::from_secs_f64(genjob::PACE_HEADROOM / options.requests_per_second);
    for provider in [Provider::Dreamina, Provider::Token360] {
        let starts: Vec<Timestamp> =
            report.calls.iter().filter(|c| c.provider == provider).map(|c| c.started).collect();
        for pair in starts.windows(2) {
            let gap = pair[1].duration_since(pair[0]);
            if gap < jiff::SignedDuration::try_from(spacing).unwrap_or(jiff::SignedDuration::MAX) {
                return Err(format!(
                    "two requests to {provider} {gap:?} apart at {:.3}s, the rate allows one every {spacing:?}",
                    secs(pair[1], report.start)
                ));
            }
        }
    }
    Ok(())
}

/// `at + d`, saturating.
pub fn after(at: Timestamp, d: Duration) -> Timestamp {
    at.checked_add(d).unwrap_or(Timestamp::MAX)
}
