//! Learning how long jobs take: properties of the estimate and its plan, and the watcher feeding it
//! from the records it reads (in the sandbox, over HTTP, in accelerated time).

use crate::NO_LIMIT;
use genjob::learn::{
    CHANGE_WINDOW, DurationEstimate, DurationEstimates, DurationKey, MAX_KEYS, MAX_SAMPLES, MIN_FINISHED, PlanBudget,
};
use genjob::policy::{AdaptiveSchedule, FOLLOWING_SHARE, LEAST_FOLLOWING_SHARE, PollContext, PollPolicy};
use genjob::{
    JobId, JobKind, JobStatus, Provider, ScaledEnvironment, SharedEstimates, WatchOptions, WatchTarget, Watcher,
};
use genjob_dreamina::DreaminaClient;
use genjob_models::RequestProfile;
use genjob_sandbox::{JobSpec, Sandbox, SandboxConfig};
use genjob_transport::{ApiToken, TransportConfig};
use proptest::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// Seconds as a sample: zero, tiny, ordinary, huge, and the non-finite values a broken record may give.
fn seconds() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.5f64..600.0,
        1 => Just(0.0),
        1 => 0.0f64..1e-6,
        1 => 1e4f64..1e12,
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(f64::MAX)],
    ]
}

/// What one record of `job` told the store (`op` 0: it finished after `secs`; 1: it ran at
/// `secs`), or, for any other `op`, the watcher asking for the estimate before a poll.
fn record(learned: &mut DurationEstimates, key: &DurationKey, op: u8, job: u32, secs: f64) {
    let took = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
    let job = format!("job-{job}");
    match op {
        0 => learned.record_finished(key, &job, took),
        1 => learned.record_running(key, &job, took),
        _ => {
            learned.estimate(key);
        }
    }
}

fn age() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..3_600_000).prop_map(Duration::from_millis),
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (0u64..u64::MAX / 2).prop_map(Duration::from_secs),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn plans_never_panic_and_every_delay_is_bounded(
        finished in prop::collection::vec(seconds(), 0..60),
        running in prop::collection::vec(seconds(), 0..20),
        ages in prop::collection::vec(age(), 1..8),
    ) {
        let Some(estimate) = DurationEstimate::from_samples(&finished, &running) else { return Ok(()) };
        let budget = PlanBudget::default();
        let plan = estimate.plan(&budget);
        let tail = budget.tail_interval();
        for age in ages {
            let delay = plan.next_delay(age);
            // Never a zero delay, never past the horizon by more than one tail interval.
            let to_horizon = plan.horizon().saturating_sub(age);
            prop_assert!(delay > Duration::ZERO || age == Duration::MAX, "{age:?} → {delay:?}");
            prop_assert!(delay <= to_horizon.max(tail) + Duration::from_millis(1), "{age:?} → {delay:?} ({plan:?})");
            prop_assert!(plan.first_delay(age) <= delay);
        }
        prop_assert!(plan.expected_checks().is_finite() && plan.expected_latency().is_finite());
    }

    #[test]
    fn the_expected_checks_spend_the_budget(
        finished in prop::collection::vec(1.0f64..900.0, 20..120),
        running in prop::collection::vec(1.0f64..900.0, 0..30),
        reference in 5u64..30,
    ) {
        let Some(estimate) = DurationEstimate::from_samples(&finished, &running) else { return Ok(()) };
        let budget = PlanBudget::new(Duration::from_secs(reference), 0.95);
        let plan = estimate.plan(&budget);
        let allowed = budget.allowance(&estimate);
        // At most the budget, and within one check of it: adding a check costs at most one.
        prop_assert!(plan.expected_checks() <= allowed + 1e-9, "{} > {allowed}", plan.expected_checks());
        prop_assert!(plan.expected_checks() > allowed - 1.0, "{} ≪ {allowed}", plan.expected_checks());
    }

    #[test]
    fn a_provider_lying_about_durations_cannot_empty_the_estimate(
        ops in prop::collection::vec((0u8..3, 0u32..2_000, seconds()), 0..600),
    ) {
        // Whatever a hostile provider's records say (wild swings between tiny and huge times, the
        // same job twice), following a change keeps the newest finishes that showed it: the estimate
        // never falls back to nothing once it had enough, and the changes it reports are ordered and
        // bounded.
        let key = DurationKey::for_kind(Provider::Dreamina, Some(JobKind::Video));
        let mut learned = DurationEstimates::new();
        for (op, job, secs) in ops {
            record(&mut learned, &key, op, job, secs);
            let changes = learned.changes(&key);
            let finished = learned.samples(&key).0;
            prop_assert!(changes.len() <= 16 && changes.windows(2).all(|w| w[0] < w[1]), "{changes:?}");
            // A change keeps the ten or more finishes that showed it, and plans on them.
            prop_assert!(changes.is_empty() || finished >= CHANGE_WINDOW / 2, "{finished} after {changes:?}");
            if finished >= MIN_FINISHED || (!changes.is_empty() && finished >= CHANGE_WINDOW / 2) {
                prop_assert!(learned.estimate(&key).is_some());
            }
        }
    }

    #[test]
    fn what_a_watcher_reports_spending_can_only_lower_the_budget(
        spent in prop::collection::vec((any::<u32>(), seconds()), 20..50),
    ) {
        // A change from 60–100 s to about 200 s, each slow job reporting hostile figures: any
        // number of checks, watched for no time, a lifetime, or what a broken record gives.
        let key = DurationKey::for_kind(Provider::Dreamina, Some(JobKind::Video));
        let mut learned = DurationEstimates::new();
        for i in 0..150u64 {
            learned.record_finished(&key, &format!("old-{i}"), Duration::from_secs(60 + (i * 37) % 40));
            learned.estimate(&key);
        }
        let schedule = AdaptiveSchedule::default();
        let usual = schedule.budget();
        let mut followed = 0;
        for (i, (checks, secs)) in spent.into_iter().enumerate() {
            let job = format!("new-{i}");
            learned.record_finished(&key, &job, Duration::from_secs(195 + (i as u64 % 11)));
            learned.record_spent(&key, &job, checks, Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
            let Some(estimate) = learned.estimate(&key) else { continue };
            let budget = schedule.budget_for(Some(&estimate));
            if estimate.is_following_change() {
                followed += 1;
                // Never more than the usual following share, never under half the usual budget.
                prop_assert!(budget.share <= usual.share * FOLLOWING_SHARE + 1e-12, "{budget:?}");
                prop_assert!(budget.share >= usual.share * LEAST_FOLLOWING_SHARE - 1e-12, "{budget:?}");
                prop_assert!(budget.tail_interval() > usual.tail_interval());
                prop_assert!(estimate.plan(&budget).expected_checks().is_finite());
            } else {
                prop_assert_eq!(budget, usual);
            }
        }
        prop_assert!(followed > 0, "the change was never followed");
    }

    #[test]
    fn the_store_stays_bounded_and_round_trips(
        ops in prop::collection::vec((0u8..3, 0u32..80, 0u32..400, seconds()), 0..300),
    ) {
        let mut learned = DurationEstimates::new();
        for (op, model, job, secs) in ops {
            let key = DurationKey::new(Provider::Token360, Some(JobKind::Video), Some(&format!("m{model}")), RequestProfile::default());
            record(&mut learned, &key, op, job, secs);
        }
        prop_assert!(learned.len() <= MAX_KEYS);
        for key in learned.keys() {
            let (finished, running) = learned.samples(key);
            prop_assert!(finished <= MAX_SAMPLES && running <= MAX_SAMPLES);
        }
        let text = serde_json::to_string(&learned).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: DurationEstimates = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, learned);
    }

    #[test]
    fn the_schedule_never_panics_on_any_context(
        finished in prop::collection::vec(seconds(), 0..40),
        age in prop::option::of(age()),
        progress in prop::option::of(0u8..=100),
        polls in any::<u32>(),
        hint in prop::option::of(age()),
        jitter in any::<f64>(),
    ) {
        let estimate = DurationEstimate::from_samples(&finished, &[]);
        let schedule = AdaptiveSchedule::default();
        for (provider, kind) in [(Provider::Dreamina, Some(JobKind::Video)), (Provider::Token360, None), (Provider::GoogleFlow, Some(JobKind::Image))] {
            let mut ctx = PollContext::new(provider);
            (ctx.kind, ctx.age, ctx.progress, ctx.polls, ctx.server_hint) = (kind, age, progress, polls, hint);
            ctx.status = if progress.is_some() { JobStatus::Running } else { JobStatus::Queued };
            ctx.estimate = estimate.as_ref();
            // The window its adapter declares, as the watcher passes it.
            ctx.window = match provider {
                Provider::Dreamina => genjob::dreamina::documented_window(kind, None),
                Provider::GoogleFlow => genjob::google_flow::documented_window(kind, None),
                _ => genjob::token360::documented_window(kind, None),
            }
            .map(Into::into);
            let first = schedule.first_delay(&ctx);
            let next = schedule.next_delay(&ctx, jitter);
            prop_assert!(first <= Duration::from_secs(86_400));
            prop_assert!(next >= genjob::policy::MIN_INTERVAL);
            prop_assert!(next <= Duration::from_secs(86_400).max(hint.unwrap_or_default()));
        }
    }
}

const TOKEN: &str = "test-token-learn";

/// A sandbox whose clock runs `speed` times faster than real time.
async fn sandbox(speed: f64) -> Sandbox {
    let config = SandboxConfig { speed, token: Some(TOKEN.to_owned()), ..SandboxConfig::default() };
    Sandbox::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

fn watcher(sandbox: &Sandbox, learning: SharedEstimates) -> Watcher {
    let config = TransportConfig::new(sandbox.base_url().parse().unwrap(), ApiToken::new(TOKEN).unwrap());
    let clock = sandbox.clock();
    Watcher::new()
        .with_source(Arc::new(DreaminaClient::new(config).unwrap()))
        .with_environment(Arc::new(ScaledEnvironment::new(clock.speed(), 3, move || clock.now())))
        .with_options(WatchOptions::new().with_requests_per_second(1000.0).with_batch(false))
        .with_learning(learning)
}

fn target(id: &str) -> WatchTarget {
    let id: JobId = id.parse().unwrap();
    WatchTarget::from_id(id).unwrap()
}

#[tokio::test]
async fn the_watcher_learns_each_job_from_its_own_record_not_from_when_it_looked() {
    let sandbox = sandbox(400.0).await;
    // Jobs that finished long before anyone looked, and fresh ones; 25 s to 49 s each.
    let ids: Vec<String> = (0..25u64)
        .map(|i| {
            let spec = JobSpec::dreamina_video().with_duration(Duration::from_secs(25 + i));
            let spec = if i % 2 == 0 { spec.with_age(Duration::from_secs(3000)) } else { spec };
            sandbox.add_job(spec)
        })
        .collect();
    let learning = SharedEstimates::default();
    let results =
        watcher(&sandbox, learning.clone()).wait_all(ids.iter().map(|id| target(id)).collect(), NO_LIMIT).await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|f| f.is_completed())));
    let learned = learning.snapshot();
    let kind = DurationKey::for_kind(Provider::Dreamina, Some(JobKind::Video));
    assert_eq!(learned.samples(&kind), (25, 0), "every job finished, none is left running");
    let estimate = learning.estimate(&kind).unwrap();
    // The record's timestamps give 25–49 s (whatever the id's millisecond rounding adds), never the 3000 s
    // age at which half of them were first seen. Each finish is spread half way to its fourth
    // neighbour on each side: about 2 s here.
    assert!(estimate.horizon() < Duration::from_secs(53), "{estimate:?}");
    assert!(estimate.cdf(22.0) < 0.01 && estimate.cdf(37.5) > 0.4 && estimate.cdf(37.5) < 0.6, "{estimate:?}");
}

#[tokio::test]
async fn a_learned_estimate_brings_the_first_check_forward_for_a_faster_model() {
    // Slower than the other tests: the timing is the point, and a busy machine must not blur it.
    let sandbox = sandbox(50.0).await;
    let mut learned = DurationEstimates::new();
    let key = DurationKey::for_kind(Provider::Dreamina, Some(JobKind::Video));
    for i in 0..40u64 {
        learned.record_finished(&key, &format!("earlier-{i}"), Duration::from_secs(20 + i % 10));
    }
    // The documents would check first at about 34 s; this model finishes in 20–30 s.
    let id = sandbox.add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(22)));
    let learning = SharedEstimates::new(learned);
    let finished = watcher(&sandbox, learning.clone()).wait(target(&id), NO_LIMIT).await.unwrap();
    assert!(finished.elapsed < Duration::from_secs(30), "{:?} after {} polls", finished.elapsed, finished.polls);
    assert!(finished.polls <= 4, "{finished:?}");
    assert_eq!(learning.snapshot().samples(&key).0, 41);
}

#[tokio::test]
async fn the_watcher_reports_what_it_spent_on_the_jobs_of_a_change() {
    // Slower than most: the jobs' order of finishing is what shows the change, and a busy machine
    // must not blur it.
    let sandbox = sandbox(50.0).await;
    let key = DurationKey::for_kind(Provider::Dreamina, Some(JobKind::Video));
    let mut learned = DurationEstimates::new();
    for i in 0..300u64 {
        learned.record_finished(&key, &format!("earlier-{i}"), Duration::from_secs(20 + (i * 7) % 10));
    }
    // Then the model takes 120–143 s: 24 jobs created 5 s apart (a stream, not a batch), the
    // oldest 115 s old when the watch starts, so each is watched for 5 + 6·i s of its life.
    let ids: Vec<String> = (0..24u64)
        .map(|i| {
            let spec = JobSpec::dreamina_video().with_duration(Duration::from_secs(120 + i));
            sandbox.add_job(spec.with_age(Duration::from_secs(5 * (23 - i))))
        })
        .collect();
    let learning = SharedEstimates::new(learned);
    let results =
        watcher(&sandbox, learning.clone()).wait_all(ids.iter().map(|id| target(id)).collect(), NO_LIMIT).await;
    let finished: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    assert!(finished.iter().all(|f| f.is_completed()));
    let changes = learning.changes(&key);
    assert_eq!(changes.len(), 1, "the slower jobs are one change: {changes:?}, {:?}", learning.snapshot());
    // Eight more finishes make a new estimate, carrying the account as it stands.
    for i in 0..8 {
        learning.record_finished(&key, &format!("later-{i}"), Duration::from_secs(130));
    }
    let estimate = learning.estimate(&key).unwrap();
    let cost = estimate.repayment().copied().unwrap_or_else(|| panic!("not following: {estimate:?}"));
    // Every job of the change is counted, with the record reads the watcher made on it …
    assert_eq!(cost.jobs, 24, "{cost:?}");
    assert_eq!(cost.checks, finished.iter().map(|f| u64::from(f.polls)).sum::<u64>(), "{cost:?}");
    // … over the time it watched each, to its record's finish: within what it waited for them,
    // and nowhere near their 3,156 s from creation.
    let waited: f64 = finished.iter().map(|f| f.elapsed.as_secs_f64()).sum();
    assert!(cost.watched_secs <= waited + 24.0 && cost.watched_secs > 0.6 * waited, "{cost:?} waited {waited}");
    assert!(cost.watched_secs < 2_200.0, "{cost:?}");
}

#[tokio::test]
async fn without_learning_nothing_is_kept() {
    let sandbox = sandbox(400.0).await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(600)));
    let watcher = watcher(&sandbox, SharedEstimates::default()).without_learning();
    assert!(watcher.learning().is_none());
    assert!(watcher.wait(target(&id), NO_LIMIT).await.unwrap().is_completed());
}

// Keeping what was learned between runs: the `FileStore`.

mod file_store {
    use genjob::learn::{DurationEstimates, DurationKey, FileStore, LearnedStore, StoreError};
    use genjob::{JobKind, Provider};
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name: &str| vars.get(name).cloned()
    }

    fn learned_jobs(key: &DurationKey, prefix: &str, jobs: u64) -> DurationEstimates {
        let mut learned = DurationEstimates::new();
        for job in 0..jobs {
            learned.record_finished(key, &format!("{prefix}-{job}"), Duration::from_secs(60 + job));
        }
        learned
    }

    /// Runs `f` on another thread; only a guard against hanging the test run on a FIFO.
    fn unless_it_hangs<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (sent, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sent.send(f());
        });
        done.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("{what} hung"))
    }

    fn mkfifo(path: &Path) {
        let made = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
        assert!(made.success(), "mkfifo {}", path.display());
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("the directory")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_file_lives_in_the_cache_directory() {
        let at = |vars: &[(&str, &str)]| FileStore::in_cache_dir(&env(vars)).map(|s| s.path().to_owned());
        assert_eq!(at(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")]), Some("/c/genjob/learned-durations.json".into()));
        assert_eq!(
            at(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")]),
            Some("/h/.cache/genjob/learned-durations.json".into())
        );
        assert_eq!(at(&[("HOME", "also/relative")]), None);
        assert_eq!(at(&[]), None);
    }

    #[test]
    fn a_custom_providers_samples_save_and_load_back_equal() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store: Arc<dyn LearnedStore> = Arc::new(FileStore::new(dir.path().join("sub").join(FileStore::FILE_NAME)));
        assert_eq!(store.load()?, DurationEstimates::new(), "no file yet: nothing learned");
        let acme = DurationKey::for_kind(Provider::Custom("acme-studio"), Some(JobKind::Video));
        let mut learned = learned_jobs(&acme, "acme", 3);
        learned.record_running(&acme, "acme-still-running", Duration::from_secs(30));
        learned.record_finished(&DurationKey::for_kind(Provider::Dreamina, None), "d", Duration::from_secs(90));
        store.save_merged(&learned)?;
        let text = std::fs::read_to_string(dir.path().join("sub").join(FileStore::FILE_NAME))?;
        assert!(text.contains(r#""provider":"acme-studio""#), "{text}");
        assert_eq!(store.load()?, learned);
        assert_eq!(store.load()?.samples(&acme), (3, 1));
        // Only the file and its lock are left: no temporary file.
        assert_eq!(names_in(&dir.path().join("sub")), ["learned-durations.json", "learned-durations.lock"]);
        Ok(())
    }

    #[test]
    fn runs_saving_at_once_each_keep_what_they_learned() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = FileStore::new(dir.path().join(FileStore::FILE_NAME));
        let key = DurationKey::for_kind(Provider::Token360, None);
        // What every run loaded: one job of an earlier run.
        store.save_merged(&learned_jobs(&key, "earlier", 1))?;
        let mut runs = Vec::new();
        for run in 0..8 {
            let (store, mut learned) = (store.clone(), store.load()?);
            let this_run = learned_jobs(&key, &format!("run{run}"), 5);
            runs.push(std::thread::spawn(move || {
                learned.merge(&this_run);
                store.save_merged(&learned)
            }));
        }
        for run in runs {
            run.join().map_err(|_| "a saving thread panicked")??;
        }
        // The earlier job once, and every run's five.
        assert_eq!(store.load()?.samples(&key), (1 + 8 * 5, 0));
        Ok(())
    }

    /// A FIFO, devices, a directory and an oversized file where the learned file goes: each is
    /// refused at once, named, without waiting on it or reading it; the next save replaces it.
    #[test]
    fn only_a_regular_file_of_bounded_size_is_read() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let key = DurationKey::for_kind(Provider::GoogleFlow, Some(JobKind::Image));
        let learned = learned_jobs(&key, "g", 2);
        let cases = [
            ("fifo", "a FIFO"),
            ("zero", "a character device"),
            ("urandom", "a character device"),
            ("directory", "a directory"),
            ("huge", "far more than"),
            ("corrupt", "EOF"),
        ];
        for (name, reason) in cases {
            std::fs::create_dir(dir.path().join(name))?;
            let path = dir.path().join(name).join(FileStore::FILE_NAME);
            match name {
                "fifo" => mkfifo(&path),
                "zero" => std::os::unix::fs::symlink("/dev/zero", &path)?,
                "urandom" => std::os::unix::fs::symlink("/dev/urandom", &path)?,
                "directory" => std::fs::create_dir(&path)?,
                "huge" => std::fs::File::create(&path)?.set_len(FileStore::MAX_FILE_BYTES + 1)?,
                _ => std::fs::write(&path, "{\"format\": \"genjob-learned-dur")?,
            }
            let store = FileStore::new(&path);
            let loaded = unless_it_hangs(name, {
                let store = store.clone();
                move || store.load()
            });
            match loaded {
                Err(e @ StoreError::Unusable { .. }) => {
                    let shown = e.to_string();
                    assert!(shown.contains(&path.display().to_string()) && shown.contains(reason), "{name}: {shown}");
                }
                other => panic!("{name}: {other:?}"),
            }
            let saved = unless_it_hangs(name, {
                let (store, learned) = (store.clone(), learned.clone());
                move || store.save_merged(&learned)
            });
            if name == "directory" {
                assert!(matches!(saved, Err(StoreError::NotSaved { .. })), "{name}: {saved:?}");
            } else {
                saved?;
                assert!(std::fs::symlink_metadata(&path)?.is_file(), "{name}: replaced by a regular file");
                assert_eq!(store.load()?, learned, "{name}");
            }
        }
        Ok(())
    }

    #[test]
    fn a_lock_file_that_is_no_regular_file_fails_the_save_at_once() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let key = DurationKey::for_kind(Provider::Token360, None);
        for (name, reason) in [("fifo", "a FIFO"), ("zero", "a character device")] {
            let store = FileStore::new(dir.path().join(name).join(FileStore::FILE_NAME));
            std::fs::create_dir(dir.path().join(name))?;
            match name {
                "fifo" => mkfifo(&store.lock_path()),
                _ => std::os::unix::fs::symlink("/dev/zero", store.lock_path())?,
            }
            let saved = unless_it_hangs(name, {
                let (store, key) = (store.clone(), key.clone());
                move || store.save_merged(&learned_jobs(&key, "t", 1))
            });
            match saved {
                Err(e @ StoreError::NotSaved { .. }) => {
                    let shown = e.to_string();
                    assert!(shown.contains("lock file") && shown.contains(reason), "{name}: {shown}");
                }
                other => panic!("{name}: {other:?}"),
            }
            assert!(!store.path().exists(), "{name}: nothing written without the lock");
        }
        Ok(())
    }
}
