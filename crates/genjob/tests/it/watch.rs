//! The watcher against the sandbox over real HTTP on 127.0.0.1, in accelerated shared time.

use crate::NO_LIMIT;
use futures::StreamExt;
use genjob::{
    ErrorCategory, JobId, JobStatus, Provider, ScaledEnvironment, WaitError, WatchEvent, WatchOptions, WatchTarget,
    Watcher,
};
use genjob_dreamina::DreaminaClient;
use genjob_google_flow::GoogleFlowClient;
use genjob_sandbox::{Failure, JobSpec, Sandbox, SandboxConfig, SimClock};
use genjob_token360::Token360Client;
use genjob_transport::{ApiToken, ErrorKind, TransportConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "test-token-123";
const SPEED: f64 = 200.0;

/// The poller's clock is the sandbox's: both see the same accelerated time.
fn sim_environment(clock: SimClock) -> Arc<ScaledEnvironment> {
    Arc::new(ScaledEnvironment::new(clock.speed(), 7, move || clock.now()))
}

async fn sandbox() -> Sandbox {
    let config = SandboxConfig { speed: SPEED, token: Some(TOKEN.to_owned()), ..SandboxConfig::default() };
    Sandbox::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

/// The configuration users get: default retries (the watcher's sources make single attempts anyway).
fn config(sandbox: &Sandbox, token: &str) -> TransportConfig {
    TransportConfig::new(sandbox.base_url().parse().unwrap(), ApiToken::new(token).unwrap())
}

fn watcher(sandbox: &Sandbox, options: WatchOptions) -> Watcher {
    Watcher::new()
        .with_source(Arc::new(DreaminaClient::new(config(sandbox, TOKEN)).unwrap()))
        .with_source(Arc::new(GoogleFlowClient::new(config(sandbox, TOKEN)).unwrap()))
        .with_source(Arc::new(Token360Client::new(config(sandbox, TOKEN)).unwrap()))
        .with_environment(sim_environment(sandbox.clock()))
        .with_options(options.with_requests_per_second(1000.0))
}

fn target(id: &str) -> WatchTarget {
    let id: JobId = id.parse().unwrap();
    WatchTarget::from_id(id.clone()).unwrap_or(WatchTarget::with_provider(id, Provider::Token360))
}

#[tokio::test]
async fn waits_for_each_provider_with_few_requests() {
    let sandbox = sandbox().await;
    // The sandbox's default durations (sim seconds): Dreamina video 105, image 37, Google Flow video 120, token360 90.
    let durations = [105u32, 37, 120, 90];
    let ids = [
        sandbox.add_job(JobSpec::dreamina_video()),
        sandbox.add_job(JobSpec::dreamina_image()),
        sandbox.add_job(JobSpec::google_flow_video()),
        sandbox.add_job(JobSpec::token360_video()),
    ];
    let results = watcher(&sandbox, WatchOptions::new().with_batch(false))
        .wait_all(ids.iter().map(|id| target(id)).collect(), NO_LIMIT)
        .await;
    for ((id, result), duration) in ids.iter().zip(&results).zip(durations) {
        let finished = result.as_ref().unwrap();
        assert_eq!(finished.job.status, JobStatus::Completed, "{id}");
        assert_eq!(&finished.job.id, id);
        assert!(!finished.job.outputs.is_empty(), "{id} has outputs");
        assert!(finished.record.is_some());
        // The documented fixed 10 s loop spends duration/10 + 1 requests; the schedule stays within
        // that budget (one poll of slack for jitter and HTTP time, which is scaled up 200×).
        let fixed_10s = duration / 10 + 1;
        assert!(finished.polls <= fixed_10s + 1, "{id}: {} polls, fixed 10 s loop: {fixed_10s}", finished.polls);
    }
    let stats = sandbox.stats();
    assert_eq!(stats.dreamina_videos, u64::from(results[0].as_ref().unwrap().polls));
}

#[tokio::test]
async fn a_fresh_dreamina_video_is_not_checked_at_once() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(600)));
    let mut watch = watcher(&sandbox, WatchOptions::default()).watch(vec![target(&id)]);
    // Let some real time pass (10 s of sim time), then look: nothing was requested yet.
    let _ = tokio::time::timeout(Duration::from_millis(50), watch.next_event()).await;
    assert_eq!(sandbox.stats().total, 0, "the first check waits for the earliest typical finish");
}

#[tokio::test]
async fn the_one_hour_rule_fails_a_stuck_job_before_the_server_does() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(59 * 60 + 50)));
    let err = watcher(&sandbox, WatchOptions::default()).wait(target(&id), NO_LIMIT).await.unwrap_err();
    let finished = err.failed_job().unwrap().clone();
    assert_eq!(finished.job.status, JobStatus::Failed);
    assert!(finished.timed_out_locally);
    let error = finished.job.error.unwrap();
    assert_eq!(error.code.as_deref(), Some("408"));
    assert_eq!(error.category, ErrorCategory::TimedOut);
    // The sandbox, like useapi.net, only marks it failed 2 minutes later: genjob did not wait for that.
    assert!(finished.elapsed < Duration::from_secs(60), "{:?}", finished.elapsed);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_waited_out() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(
        JobSpec::google_flow_image().with_age(Duration::from_secs(60)).with_rate_limited(2).with_server_errors(1),
    );
    let mut watch = watcher(&sandbox, WatchOptions::default()).watch(vec![target(&id)]);
    let mut notes = Vec::new();
    let mut result = None;
    while let Some(event) = watch.next_event().await {
        match event {
            WatchEvent::Progress(p) => {
                if let Some(note) = p.note {
                    // A 429's Retry-After (2 s) is honoured as the least delay.
                    if note.contains("429") {
                        assert!(p.next_delay >= Duration::from_secs(2), "{:?}", p.next_delay);
                    }
                    notes.push(note);
                }
            }
            WatchEvent::Ended(f) => result = Some(f.result),
            _ => {}
        }
    }
    let finished = result.unwrap().unwrap();
    assert_eq!(finished.job.status, JobStatus::Completed);
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert_eq!(sandbox.stats().rate_limited_answers, 2);
}

#[tokio::test]
async fn fatal_errors_stop_at_once() {
    let sandbox = sandbox().await;
    let unknown = target("j0101000000000000000v-u1-US:nobody@example.com-bot:dreamina");
    let err = watcher(&sandbox, WatchOptions::default()).wait(unknown, NO_LIMIT).await.unwrap_err();
    assert!(err.transport().map(|e| e.kind()) == Some(ErrorKind::NotFound), "{err}");

    let id = sandbox.add_job(JobSpec::token360_video());
    let bad_token = Watcher::new()
        .with_source(Arc::new(Token360Client::new(config(&sandbox, "wrong-token")).unwrap()))
        .with_environment(sim_environment(sandbox.clock()));
    let err = bad_token.wait(target(&id), NO_LIMIT).await.unwrap_err();
    assert!(err.transport().map(|e| e.kind()) == Some(ErrorKind::Unauthorized), "{err}");
    assert!(!format!("{err} {err:?}").contains("wrong-token"), "no token in errors");
    assert_eq!(sandbox.stats().token360, 1, "one refused request, no retries");
}

#[tokio::test]
async fn timeout_and_cancellation_end_the_wait() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::token360_video().stuck());
    // Per-job reads, so that the record reads before the deadline can be counted.
    let options = WatchOptions::new().with_batch(false);
    let err = watcher(&sandbox, options).wait(target(&id), Duration::from_secs(120)).await.unwrap_err();
    let WaitError::TimedOut { polls, status, .. } = &err else { panic!("{err}") };
    assert!(*polls >= 2);
    assert_eq!(*status, JobStatus::Queued);

    let cancel = CancellationToken::new();
    let watcher = watcher(&sandbox, WatchOptions::default());
    let watch = watcher.watch(vec![target(&id)]).with_cancellation(cancel.clone());
    let waiting = tokio::spawn(async move { watch.collect::<Vec<_>>().await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    cancel.cancel();
    let events = waiting.await.unwrap();
    let Some(WatchEvent::Ended(last)) = events.last() else { panic!("{events:?}") };
    assert!(matches!(last.result, Err(WaitError::Cancelled { .. })), "{:?}", last.result);
    // Cancelling one watch does not poison the watcher: the next wait works.
    let done = sandbox.add_job(JobSpec::token360_video().with_age(Duration::from_secs(600)));
    assert!(watcher.wait(target(&done), NO_LIMIT).await.unwrap().is_completed());
}

#[tokio::test]
async fn batch_watching_reads_each_record_about_once() {
    let sandbox = sandbox().await;
    let ids: Vec<String> = (0..30)
        .map(|i| sandbox.add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(60 + 4 * i))))
        .collect();
    let results =
        watcher(&sandbox, WatchOptions::default()).wait_all(ids.iter().map(|id| target(id)).collect(), NO_LIMIT).await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|f| f.job.status == JobStatus::Completed)));
    let stats = sandbox.stats();
    assert!(stats.scheduler > 0, "the scheduler listing was used");
    // One record read per job is the floor; a few extra come from listing races.
    assert!(stats.dreamina_videos <= 33, "{} record reads for 30 jobs", stats.dreamina_videos);
    assert!(stats.total <= 30 + stats.scheduler);
}

#[tokio::test]
async fn downloads_are_complete_and_refresh_expired_urls() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(
        JobSpec::dreamina_image().with_age(Duration::from_secs(600)).with_expire_urls_after(Duration::from_secs(1)),
    );
    let client = DreaminaClient::new(config(&sandbox, TOKEN)).unwrap();
    let job = client.job(&id.parse().unwrap()).await.unwrap().job;
    assert_eq!(job.status, JobStatus::Completed);
    // Let the signed URLs expire (1 s of sim time), so the first download gets a 403 and refreshes.
    tokio::time::sleep(sandbox.clock().to_real(Duration::from_secs(5))).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = genjob::DownloadPlan::new(dir.path());
    let watcher = watcher(&sandbox, WatchOptions::default());
    let files = watcher.download(&target(&id), &job, &plan).await.unwrap();
    assert_eq!(files.len(), job.outputs.len());
    for file in &files {
        assert_eq!(std::fs::metadata(&file.path).unwrap().len(), file.bytes);
    }
    let stats = sandbox.stats();
    assert!(stats.expired_url_answers >= 1);
    assert_eq!(stats.files_with_authorization, 0, "the token never goes to the file host");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), files.len(), "no temporary files left");
}

#[tokio::test]
async fn failed_jobs_carry_their_error() {
    let sandbox = sandbox().await;
    let id =
        sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(300)).failing(Failure::moderation()));
    let err = watcher(&sandbox, WatchOptions::default()).wait(target(&id), NO_LIMIT).await.unwrap_err();
    let finished = err.failed_job().unwrap();
    assert_eq!(finished.job.status, JobStatus::Failed);
    assert_eq!(finished.job.error.clone().unwrap().category, ErrorCategory::OutputModerated);
    assert_eq!(finished.polls, 1, "an old job is checked at once and is already final");
}

#[tokio::test]
async fn many_jobs_share_one_request_budget() {
    let sandbox = sandbox().await;
    let ids: Vec<String> =
        (0..40).map(|_| sandbox.add_job(JobSpec::token360_video().with_age(Duration::from_secs(600)))).collect();
    let options = WatchOptions::new().with_requests_per_second(4.0);
    let watcher = Watcher::new()
        .with_source(Arc::new(Token360Client::new(config(&sandbox, TOKEN)).unwrap()))
        .with_environment(sim_environment(sandbox.clock()))
        .with_options(options);
    let started = sandbox.clock().now();
    let targets = ids.iter().map(|id| WatchTarget::with_provider(id.parse().unwrap(), Provider::Token360)).collect();
    let results = watcher.wait_all(targets, NO_LIMIT).await;
    let elapsed = sandbox.clock().now().duration_since(started);
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|f| f.polls == 1)));
    // 40 requests at 4 per second cannot take less than 39 intervals of 250 ms.
    assert!(elapsed >= jiff::SignedDuration::from_millis(9_750), "{elapsed:?}");
    assert_eq!(sandbox.stats().token360, 40);
}

#[tokio::test]
async fn old_jobs_waiting_for_a_request_slot_do_not_spin() {
    let sandbox = sandbox().await;
    // Two hours old: past the 1-hour mark before the first observation; the server already failed them.
    let ids: Vec<String> = (0..3)
        .map(|_| sandbox.add_job(JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(2 * 3600))))
        .collect();
    let options = WatchOptions::new().with_batch(false).with_requests_per_second(0.5);
    let watcher = Watcher::new()
        .with_source(Arc::new(DreaminaClient::new(config(&sandbox, TOKEN)).unwrap()))
        .with_environment(sim_environment(sandbox.clock()))
        .with_options(options);
    let results = watcher.wait_all(ids.iter().map(|id| target(id)).collect(), NO_LIMIT).await;
    for result in results {
        let err = result.unwrap_err();
        let finished = err.failed_job().unwrap();
        assert_eq!(finished.job.status, JobStatus::Failed);
        assert_eq!(finished.polls, 1);
    }
}

#[tokio::test]
async fn the_watch_is_a_stream_of_progress_then_the_final_state() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::token360_video());
    // Per-job reads: each check is a record read, so each progress event is one more poll.
    let events: Vec<WatchEvent> =
        watcher(&sandbox, WatchOptions::new().with_batch(false)).watch(vec![target(&id)]).into_stream().collect().await;
    let (last, progress) = events.split_last().unwrap();
    assert!(matches!(last, WatchEvent::Ended(f) if f.result.as_ref().is_ok_and(|j| j.is_completed())));
    assert!(!progress.is_empty());
    let polls: Vec<u32> =
        progress.iter().map(|e| if let WatchEvent::Progress(p) = e { p.polls } else { panic!("{e:?}") }).collect();
    assert!(polls.windows(2).all(|w| w[0] < w[1]), "one progress event per poll: {polls:?}");
    let reported: Vec<u8> =
        progress.iter().filter_map(|e| if let WatchEvent::Progress(p) = e { p.progress } else { None }).collect();
    assert!(reported.windows(2).all(|w| w[0] <= w[1]), "progress never goes back: {reported:?}");
}

#[tokio::test]
async fn token360_jobs_are_watched_through_the_video_list() {
    let sandbox = sandbox().await;
    let ids: Vec<String> = (0..150)
        .map(|i| sandbox.add_job(JobSpec::token360_video().with_duration(Duration::from_secs(60 + (i * 37) % 120))))
        .collect();
    let targets = ids.iter().map(|id| WatchTarget::with_provider(id.parse().unwrap(), Provider::Token360)).collect();
    let results = watcher(&sandbox, WatchOptions::default()).wait_all(targets, NO_LIMIT).await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|f| f.is_completed())));
    let stats = sandbox.stats();
    assert!(stats.token360_list > 0, "the list was used: {stats:?}");
    // Each record read about once (the read that confirms the end), plus a few pages of the list.
    assert!(stats.token360 <= 150 * 13 / 10, "{stats:?}");
    assert!(stats.total <= 150 * 3 / 2, "{stats:?}");
}

#[tokio::test]
async fn an_id_read_for_another_provider_than_its_own_is_refused_before_any_request() {
    let sandbox = sandbox().await;
    let dreamina_id: JobId = sandbox.add_job(JobSpec::dreamina_video()).parse().unwrap();
    let misrouted = WatchTarget::with_provider(dreamina_id.clone(), Provider::Token360);
    let watcher = watcher(&sandbox, WatchOptions::default());
    let err = watcher.wait(misrouted.clone(), NO_LIMIT).await.unwrap_err();
    assert!(matches!(&err, WaitError::WrongProvider { own: Provider::Dreamina, .. }), "{err}");
    let err = watcher.read(misrouted, NO_LIMIT).await.unwrap_err();
    assert!(matches!(&err, WaitError::WrongProvider { provider: Provider::Token360, .. }), "{err}");
    // The adapter itself refuses too, for callers that use it alone.
    let token360 = Token360Client::new(config(&sandbox, TOKEN)).unwrap();
    let refused = token360.video(&dreamina_id).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
    assert_eq!(sandbox.stats().total, 0, "nothing was sent");
}
