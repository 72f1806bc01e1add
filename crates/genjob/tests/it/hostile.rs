//! The watcher against servers that lag, stall and lie: the sandbox's faults, in accelerated shared time.
//!
//! Every test uses the options users get (`WatchOptions::new()`), changed only where the test says why.

use crate::NO_LIMIT;
use genjob::{
    ErrorCategory, JobStatus, RetryTransient, ScaledEnvironment, WaitError, WatchOptions, WatchTarget, Watcher,
};
use genjob_dreamina::DreaminaClient;
use genjob_sandbox::{JobSpec, ListingFault, Sandbox, SandboxConfig};
use genjob_transport::{ApiToken, TransportConfig};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "test-token-hostile";
const SPEED: f64 = 200.0;

async fn sandbox() -> Sandbox {
    let config = SandboxConfig { speed: SPEED, token: Some(TOKEN.to_owned()), ..SandboxConfig::default() };
    Sandbox::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

fn watcher(sandbox: &Sandbox, options: WatchOptions) -> Watcher {
    let config = TransportConfig::new(sandbox.base_url().parse().unwrap(), ApiToken::new(TOKEN).unwrap());
    let clock = sandbox.clock();
    Watcher::new()
        .with_source(Arc::new(DreaminaClient::new(config).unwrap()))
        .with_environment(Arc::new(ScaledEnvironment::new(clock.speed(), 11, move || clock.now())))
        .with_options(options)
}

fn target(id: &str) -> WatchTarget {
    WatchTarget::resolve(id, None).unwrap()
}

/// Simulated seconds since `start`.
fn sim_since(sandbox: &Sandbox, start: jiff::Timestamp) -> f64 {
    sandbox.clock().now().duration_since(start).as_secs_f64()
}

/// A fresh job that completes after `secs`, watched from its creation with a listing fault set first.
async fn completes_despite(fault: ListingFault, secs: u64) -> (f64, genjob_sandbox::RequestStats) {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(secs)));
    sandbox.set_listing_fault(fault).unwrap();
    let start = sandbox.clock().now();
    let finished = watcher(&sandbox, WatchOptions::new()).wait(target(&id), NO_LIMIT).await.unwrap();
    assert_eq!(finished.job.status, JobStatus::Completed);
    (sim_since(&sandbox, start) - secs as f64, sandbox.stats())
}

#[tokio::test]
async fn a_frozen_listing_does_not_hide_a_finished_job() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(100)));
    // Listed honestly for 70 s, then frozen: the job stays listed with an elapsed time that stops moving.
    let freeze_at = sandbox.clock().to_real(Duration::from_secs(70));
    let start = sandbox.clock().now();
    let watcher = watcher(&sandbox, WatchOptions::new());
    let (finished, ()) = tokio::join!(watcher.wait(target(&id), NO_LIMIT), async {
        tokio::time::sleep(freeze_at).await;
        sandbox.set_listing_fault(ListingFault::Frozen).unwrap();
    });
    assert_eq!(finished.unwrap().job.status, JobStatus::Completed);
    let late = sim_since(&sandbox, start) - 100.0;
    let stats = sandbox.stats();
    assert!(late < 15.0, "found {late:.1} s after it completed; {stats:?}");
    assert!(stats.scheduler >= 2, "the listing answered before it froze: {stats:?}");
}

#[tokio::test]
async fn a_listing_claiming_more_time_than_the_job_has_lived_is_not_trusted() {
    let (late, stats) = completes_despite(ListingFault::ElapsedAhead(Duration::from_secs(3600)), 100).await;
    assert!(late < 15.0, "found {late:.1} s after it completed; {stats:?}");
}

#[tokio::test]
async fn a_failing_listing_stops_blocking_and_is_not_hammered() {
    let (late, stats) = completes_despite(ListingFault::Failing { status: 503, count: None }, 100).await;
    assert!(late < 15.0, "found {late:.1} s after it completed; {stats:?}");
    // Three failures in a row degrade it, then it is probed with a growing back-off, not every tick.
    assert!(stats.scheduler <= 8, "{stats:?}");
}

#[tokio::test]
async fn a_hanging_listing_is_cut_by_the_request_timeout_and_stops_blocking() {
    let (late, stats) = completes_despite(ListingFault::Hang, 100).await;
    // Each hung listing costs the listing timeout (9 s) until three failures in a row degrade it.
    assert!(late < 60.0, "found {late:.1} s after it completed; {stats:?}");
    assert!(stats.hung_answers >= 1, "{stats:?}");
}

#[tokio::test]
async fn a_listing_lagging_minutes_behind_is_not_trusted() {
    let sandbox = sandbox().await;
    // Eleven minutes old (so read once at the start), finishing one minute into the watch; the
    // listing lags ten minutes, so it would show the job running for ten more minutes.
    let id = sandbox.add_job(
        JobSpec::dreamina_video().with_age(Duration::from_secs(11 * 60)).with_duration(Duration::from_secs(12 * 60)),
    );
    sandbox.set_listing_fault(ListingFault::Lagging(Duration::from_secs(600))).unwrap();
    let start = sandbox.clock().now();
    let finished = watcher(&sandbox, WatchOptions::new()).wait(target(&id), NO_LIMIT).await.unwrap();
    assert_eq!(finished.job.status, JobStatus::Completed);
    let found = sim_since(&sandbox, start);
    assert!((60.0..=95.0).contains(&found), "found at {found:.1} s; it completed at 60 s");
}

#[tokio::test]
async fn a_plausible_but_lagging_listing_cannot_delay_a_job_past_the_unread_bound() {
    let sandbox = sandbox().await;
    // A lag under a minute passes every plausibility check; only the unread bound catches it.
    let id = sandbox.add_job(
        JobSpec::dreamina_video().with_age(Duration::from_secs(11 * 60)).with_duration(Duration::from_secs(12 * 60)),
    );
    sandbox.set_listing_fault(ListingFault::Lagging(Duration::from_secs(55))).unwrap();
    let start = sandbox.clock().now();
    let options = WatchOptions::new().with_max_unread(Duration::from_secs(20));
    let finished = watcher(&sandbox, options).wait(target(&id), NO_LIMIT).await.unwrap();
    assert_eq!(finished.job.status, JobStatus::Completed);
    let found = sim_since(&sandbox, start);
    // The listing alone would have shown it running until 115 s.
    assert!((60.0..=85.0).contains(&found), "found at {found:.1} s; the bound is 20 s between reads");
    assert!(finished.polls >= 3, "reads forced by the bound: {finished:?}");
}

#[tokio::test]
async fn a_job_completing_just_before_its_hour_is_completed_even_with_a_frozen_listing() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(
        JobSpec::dreamina_video()
            .with_age(Duration::from_secs(59 * 60 + 40))
            .with_duration(Duration::from_secs(59 * 60 + 58)),
    );
    sandbox.set_listing_fault(ListingFault::Frozen).unwrap();
    let finished = watcher(&sandbox, WatchOptions::new()).wait(target(&id), NO_LIMIT).await.unwrap();
    assert_eq!(finished.job.status, JobStatus::Completed, "the record wins over the local rule");
    assert!(!finished.timed_out_locally);
}

#[tokio::test]
async fn at_the_hour_mark_a_record_still_created_fails_the_job_after_a_confirming_read() {
    let sandbox = sandbox().await;
    // The server would complete it five seconds after the mark, but at the mark its record says `created`.
    let id = sandbox.add_job(
        JobSpec::dreamina_video()
            .with_age(Duration::from_secs(59 * 60 + 40))
            .with_duration(Duration::from_secs(60 * 60 + 5)),
    );
    let before = sandbox.stats().dreamina_videos;
    let err = watcher(&sandbox, WatchOptions::new()).wait(target(&id), NO_LIMIT).await.unwrap_err();
    let failed = err.failed_job().unwrap_or_else(|| panic!("{err}"));
    assert!(failed.timed_out_locally);
    assert_eq!(failed.job.error.as_ref().map(|e| e.category), Some(ErrorCategory::TimedOut));
    // Read at the start (old enough to be done), then once at the mark to confirm.
    assert_eq!(sandbox.stats().dreamina_videos - before, u64::from(failed.polls));
    assert!(failed.polls >= 2, "{failed:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_cannot_hold_the_deadline() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(600)).with_hang_reads(u32::MAX));
    let start = sandbox.clock().now();
    let err = watcher(&sandbox, WatchOptions::new()).wait(target(&id), Duration::from_secs(45)).await.unwrap_err();
    let waited = sim_since(&sandbox, start);
    assert!(err.is_timeout(), "{err}");
    assert!(waited < 46.0, "the deadline is 45 s; the wait took {waited:.1} s");
    assert!(err.to_string().contains("no response within"), "the last failure is named: {err}");
}

#[tokio::test]
async fn an_absurd_retry_after_is_capped_not_obeyed() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(
        JobSpec::dreamina_video()
            .with_age(Duration::from_secs(600))
            .with_rate_limited(1)
            .with_retry_after("18446744073709551615"),
    );
    let start = sandbox.clock().now();
    let options = WatchOptions::new().with_max_retry_after(Duration::from_secs(120));
    let finished = watcher(&sandbox, options).wait(target(&id), NO_LIMIT).await.unwrap();
    assert!(finished.is_completed());
    let waited = sim_since(&sandbox, start);
    // Obeyed, it would be billions of years. The sandbox runs 200× fast, so a 65 ms stall of a
    // loaded machine is 13 s here (a CI run with a benchmark beside it waited 133.2 s).
    assert!((120.0..180.0).contains(&waited), "waited {waited:.1} s; the cap is 120 s");
}

#[tokio::test]
async fn when_the_error_policy_gives_up_the_error_names_the_last_answer() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(600)).with_server_errors(1000));
    let policy = RetryTransient::new().with_attempt_limit(Some(3));
    let options = WatchOptions::new().with_error_policy(Arc::new(policy));
    let err = watcher(&sandbox, options).wait(target(&id), NO_LIMIT).await.unwrap_err();
    // Trouble that may pass, retried until the policy gave up: told apart from a refusal.
    let WaitError::RetriesExhausted { polls, source, .. } = &err else { panic!("{err}") };
    assert_eq!(*polls, 3);
    assert_eq!(source.status(), Some(503));
    assert!(err.to_string().contains("503") && err.to_string().contains("Service unavailable"), "{err}");
    assert_eq!(sandbox.stats().dreamina_videos, 3, "one layer of retries: three attempts are three requests");
}

#[tokio::test]
async fn a_rate_limit_storm_until_the_deadline_reports_the_last_answer() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(600)).with_rate_limited(1000));
    let err = watcher(&sandbox, WatchOptions::new()).wait(target(&id), Duration::from_secs(60)).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let text = err.to_string();
    assert!(text.contains("429"), "the timeout names the server's answer: {text}");
    // The sandbox asks for 2 s between requests; the back-off doubles from there: far fewer than 60.
    assert!(sandbox.stats().dreamina_videos <= 8, "{:?}", sandbox.stats());
}

#[tokio::test]
async fn status_reads_through_the_tracker_and_agrees_with_wait() {
    let sandbox = sandbox().await;
    let id = sandbox.add_job(JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(61 * 60)));
    let watcher = watcher(&sandbox, WatchOptions::new());
    let snapshot = watcher.read(target(&id), NO_LIMIT).await.unwrap();
    assert_eq!(snapshot.job.status, JobStatus::Failed);
    assert!(snapshot.timed_out_locally);
    assert_eq!(snapshot.job.error.as_ref().and_then(|e| e.code.as_deref()), Some("408"));
    let err = watcher.wait(target(&id), NO_LIMIT).await.unwrap_err();
    let failed = err.failed_job().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(failed.job.status, snapshot.job.status);
    assert_eq!(failed.job.error, snapshot.job.error);
}

/// A Dreamina image record in the documented shape, with the given `created` and image URLs.
fn image_record(id: &str, status: &str, created: &str, urls: &[String]) -> serde_json::Value {
    let images: Vec<serde_json::Value> =
        urls.iter().map(|u| serde_json::json!({ "imageUrl": u, "width": 2560, "height": 1440 })).collect();
    serde_json::json!({
        "jobid": id, "type": "image", "status": status, "model": "seedream-4.0",
        "created": created, "response": { "images": images }, "code": 200,
    })
}

fn downloader() -> genjob::Downloader {
    genjob::Downloader::new(genjob::DownloadConfig::new()).unwrap()
}

fn wiremock_client(server: &wiremock::MockServer) -> DreaminaClient {
    let config = TransportConfig::new(server.uri().parse().unwrap(), ApiToken::new(TOKEN).unwrap());
    DreaminaClient::new(config).unwrap()
}

const IMAGE_ID: &str = "j0302140530123456789i-u12345-US:user@example.com-bot:dreamina";

#[tokio::test]
async fn a_refreshed_record_with_fewer_outputs_is_an_error_not_a_panic() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    // Both signed URLs have expired; the refreshed record lists no image at all.
    let urls: Vec<String> = (0..2).map(|i| format!("{}/files/{i}.jpg?sig=old", server.uri())).collect();
    Mock::given(method("GET"))
        .and(path_regex("^/files/"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let refreshed = image_record(IMAGE_ID, "completed", "2026-03-02T14:05:30.123Z", &[]);
    Mock::given(method("GET"))
        .and(path_regex("^/v1/dreamina/images/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(refreshed))
        .mount(&server)
        .await;
    let first = image_record(IMAGE_ID, "completed", "2026-03-02T14:05:30.123Z", &urls);
    let job = genjob::ProviderRecord::from_value(genjob::Endpoint::DreaminaImages, first).unwrap().normalize();
    let dir = tempfile::tempdir().unwrap();
    let plan = genjob::DownloadPlan::new(dir.path());
    let watcher = Watcher::new().with_downloader(downloader()).with_source(Arc::new(wiremock_client(&server)));
    let err = watcher.download(&target(IMAGE_ID), &job, &plan).await.unwrap_err();
    assert!(matches!(err, genjob::DownloadError::Vanished { index: 0, .. }), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing half-written");
}

#[tokio::test]
async fn records_from_year_1_or_year_9999_do_not_break_the_schedule() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    for created in ["0001-01-01T00:00:00Z", "9999-01-01T00:00:00Z"] {
        let server = MockServer::start().await;
        let record = image_record(IMAGE_ID, "created", created, &[]);
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(record)).mount(&server).await;
        let watcher = Watcher::new().with_source(Arc::new(wiremock_client(&server))).with_options(WatchOptions::new());
        let result = watcher.wait(target(IMAGE_ID), Duration::from_millis(1500)).await;
        // The id says March: a record dated year 1 or 9999 is not believed over it, so the job is
        // still `created` months after its creation, and the 1-hour rule fails it after this read.
        let err = result.unwrap_err();
        assert!(err.failed_job().is_some_and(|f| f.timed_out_locally), "{created}: {err}");
    }
}
