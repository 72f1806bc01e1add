//! The generators of the watcher's property: jobs with scripts of records and errors, listings, options.
//!
//! Weights lean towards what moves a watch forward (records, retryable errors, quick answers), so
//! that most cases get past their first read, while every odd input keeps a share: answers that
//! never come, absurd `Retry-After`s and elapsed times, records dated in year 9999.

use super::invariants::{Case, OptionsSpec};
use super::records::dreamina_id;
use super::scripted::{Answer, Created, Delay, EntrySpec, ErrorSpec, ListingStep, RecordSpec, Said, ScriptedJob, Step};
use super::{s, start};
use genjob::{JobStatus, Provider};
use proptest::prelude::*;
use std::time::Duration;

/// 0 s to a few minutes, or never; mostly quick, as most answers are (a slow one is a timeout).
fn delay() -> impl Strategy<Value = Delay> {
    prop_oneof![
        2 => Just(Delay::After(Duration::ZERO)),
        6 => (0u64..10_000).prop_map(|ms| Delay::After(Duration::from_millis(ms))),
        2 => (10_000u64..180_000).prop_map(|ms| Delay::After(Duration::from_millis(ms))),
        1 => Just(Delay::Never),
    ]
}

/// A server's wait: none, seconds, or absurd.
fn retry_after() -> impl Strategy<Value = Option<Duration>> {
    prop_oneof![
        3 => Just(None),
        3 => (0u64..300).prop_map(|secs| Some(s(secs))),
        1 => Just(Some(s(u64::MAX))),
        1 => Just(Some(Duration::MAX)),
    ]
}

fn error() -> impl Strategy<Value = ErrorSpec> {
    // Mostly errors worth retrying: one that is not ends the job, and the rest of its script with it.
    prop_oneof![
        3 => retry_after().prop_map(ErrorSpec::RateLimited),
        3 => retry_after().prop_map(ErrorSpec::Unavailable),
        2 => Just(ErrorSpec::Timeout),
        1 => Just(ErrorSpec::NotFound),
        1 => Just(ErrorSpec::InvalidResponse),
    ]
}

fn created() -> impl Strategy<Value = Created> {
    prop_oneof![6 => Just(Created::AsId), 2 => Just(Created::Absent), 1 => Just(Created::YearOne), 1 => Just(Created::Year9999)]
}

fn record(said: impl Strategy<Value = Said>) -> impl Strategy<Value = RecordSpec> {
    // Now and then a record of another job: the watcher must refuse it, never take it as this job's.
    let foreign = prop_oneof![12 => Just(false), 1 => Just(true)];
    (said, created(), foreign, 0u8..=2, proptest::option::of(0u8..=100), retry_after()).prop_map(
        |(said, created, foreign_id, outputs, progress, retry_after)| RecordSpec {
            said,
            created,
            foreign_id,
            outputs,
            progress,
            retry_after,
        },
    )
}

/// The statuses a provider's records use.
fn said(provider: Provider) -> BoxedStrategy<Said> {
    match provider {
        Provider::Dreamina => {
            prop_oneof![4 => Just(Said::Waiting), 2 => Just(Said::Completed), 1 => Just(Said::Failed)].boxed()
        }
        _ => prop_oneof![
            2 => Just(Said::Waiting),
            2 => Just(Said::Running),
            2 => Just(Said::Completed),
            1 => Just(Said::Failed)
        ]
        .boxed(),
    }
}

fn step(provider: Provider) -> impl Strategy<Value = Step> {
    let answer =
        prop_oneof![2 => record(said(provider)).prop_map(Answer::Record), 1 => error().prop_map(Answer::Error)];
    (delay(), answer).prop_map(|(delay, answer)| Step { delay, answer })
}

/// A last step that ends the job by itself: a final record or an error that is never retried, answered.
fn final_step() -> impl Strategy<Value = Step> {
    let finished = prop_oneof![Just(Said::Completed), Just(Said::Failed)];
    let answer = prop_oneof![
        3 => record(finished).prop_map(Answer::Record),
        1 => Just(Answer::Error(ErrorSpec::NotFound)),
        1 => Just(Answer::Error(ErrorSpec::InvalidResponse)),
    ];
    ((0u64..180_000).prop_map(|ms| Delay::After(Duration::from_millis(ms))), answer)
        .prop_map(|(delay, answer)| Step { delay, answer })
}

/// A job of `provider`, the `index`th watched; `bounded` when the watch has a timeout (else its
/// script must end it, so the watch ends).
fn job(provider: Provider, index: usize, bounded: bool) -> impl Strategy<Value = ScriptedJob> {
    let last = if bounded { step(provider).boxed() } else { final_step().boxed() };
    // Created 5 s to 70 min before the watch starts: either side of the 1-hour mark.
    (5_000i64..4_200_000, 0u32..100_000, prop::collection::vec(step(provider), 0..=5), last).prop_map(
        move |(age_ms, serial, mut steps, last)| {
            steps.push(last);
            let created = start() - jiff::SignedDuration::from_millis(age_ms);
            // The index leads the serial: ids of one case never collide.
            let serial = u32::try_from(index).unwrap_or(0) * 100_000 + serial;
            let id = match provider {
                Provider::Dreamina => dreamina_id(created, serial),
                _ => format!("video_{index}_{serial:05}"),
            };
            ScriptedJob { provider, id, created, steps }
        },
    )
}

/// A listing entry naming one of `jobs` watched jobs (or, past them, a stranger).
fn entry(jobs: usize) -> impl Strategy<Value = EntrySpec> {
    let elapsed = prop_oneof![
        1 => Just(None),
        4 => (0u64..5_000).prop_map(|secs| Some(s(secs))),
        1 => Just(Some(s(u64::MAX))),
        1 => Just(Some(Duration::MAX)),
    ];
    let status = prop_oneof![
        4 => Just(None),
        1 => Just(Some(JobStatus::Running)),
        1 => Just(Some(JobStatus::Completed)),
        1 => Just(Some(JobStatus::Failed)),
    ];
    (0..jobs + 1, elapsed, status).prop_map(|(job, elapsed, status)| EntrySpec { job, elapsed, status })
}

fn listing_step(jobs: usize) -> impl Strategy<Value = ListingStep> {
    let answer = prop_oneof![
        3 => prop::collection::vec(entry(jobs), 0..=5).prop_map(Ok),
        1 => error().prop_map(Err),
    ];
    (delay(), answer).prop_map(|(delay, answer)| ListingStep { delay, answer })
}

fn options() -> impl Strategy<Value = OptionsSpec> {
    let timeout = prop_oneof![1 => Just(None), 2 => (1u64..=7_200).prop_map(|secs| Some(s(secs)))];
    let rate = prop::sample::select(vec![0.5, 1.0, 5.0, 50.0, 1000.0]);
    let request_timeout = prop_oneof![1 => (1u64..10).prop_map(s), 3 => (10u64..=120).prop_map(s)];
    let limits = (proptest::option::of(1u32..=8), proptest::option::of((1u64..=1_800).prop_map(s)));
    (
        (timeout, prop::bool::weighted(0.75), (1u64..=1_200).prop_map(s), (0u64..=60).prop_map(s), 1u32..=4),
        (request_timeout, 1usize..=8, rate, prop::sample::select(vec![s(0), s(5), s(60), s(600)])),
        limits,
    )
        .prop_map(
            |(
                (timeout, batch, max_unread, listing_interval, listing_failure_limit),
                (request_timeout, max_in_flight, requests_per_second, max_retry_after),
                (attempt_limit, time_limit),
            )| {
                // Small limits, never none at all: a job failing forever must give up.
                let attempt_limit =
                    if attempt_limit.is_none() && time_limit.is_none() { Some(3) } else { attempt_limit };
                OptionsSpec {
                    timeout,
                    batch,
                    max_unread,
                    listing_interval,
                    listing_failure_limit,
                    request_timeout,
                    max_in_flight,
                    requests_per_second,
                    max_retry_after,
                    attempt_limit,
                    time_limit,
                }
            },
        )
}

/// One watch: its options, 1–4 Dreamina jobs, maybe a token360 job, maybe a Dreamina listing.
pub fn case() -> impl Strategy<Value = Case> {
    (options(), 1usize..=4, any::<bool>(), prop::bool::weighted(0.75), any::<u64>())
        .prop_flat_map(|(options, dreamina, token360, listed, seed)| {
            let bounded = options.timeout.is_some();
            let mut jobs: Vec<BoxedStrategy<ScriptedJob>> =
                (0..dreamina).map(|i| job(Provider::Dreamina, i, bounded).boxed()).collect();
            if token360 {
                jobs.push(job(Provider::Token360, dreamina, bounded).boxed());
            }
            let n = jobs.len();
            let listing = if listed {
                prop::collection::vec(listing_step(n), 1..=4).prop_map(Some).boxed()
            } else {
                Just(None).boxed()
            };
            (jobs, listing, Just(options), Just(seed))
        })
        .prop_map(|(jobs, listing, options, seed)| Case { jobs, listing, options, seed })
}
