//! Genuine callbacks: each provider's status changes POSTed to a real receiver, on time, with their faults.

use std::time::Duration;

use genjob_sandbox::{Failure, JobSpec, SandboxConfig, SimClock};
use serde_json::Value;

use crate::receiver::{Receiver, Reply, until};
use crate::support::{Harness, TOKEN, TestResult, encode, start_still, start_with, str_at};

/// Long enough for a callback that is due to have arrived, if it was going to.
const SETTLE: Duration = Duration::from_millis(150);

fn flow_path(id: &str) -> String {
    format!("/v1/google-flow/jobs/{}", encode(id))
}

fn dreamina_path(id: &str) -> String {
    format!("/v1/dreamina/videos/{}", encode(id))
}

fn statuses(received: &[crate::receiver::Received]) -> Vec<&str> {
    received.iter().map(|r| str_at(&r.body, "/status")).collect()
}

/// A sandbox on a fast clock (`speed` simulated seconds per real second).
async fn start_fast(speed: f64) -> Result<Harness, Box<dyn std::error::Error + Send + Sync>> {
    start_with(SandboxConfig {
        clock: Some(SimClock::new(speed)?),
        token: Some(TOKEN.to_owned()),
        ..SandboxConfig::default()
    })
    .await
}

#[tokio::test]
async fn google_flow_calls_back_started_then_finished_each_body_the_record_of_that_moment() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    let done = h
        .sandbox
        .add_job(JobSpec::google_flow_video().with_duration(Duration::from_secs(100)).with_reply_url(rx.url("/done")));
    // A millisecond older: Google Flow ids embed the creation millisecond, and a clash would move
    // this job's creation (and changes) a millisecond later, past the advances below.
    let failed = h.sandbox.add_job(
        JobSpec::google_flow_image()
            .with_age(Duration::from_millis(1))
            .with_duration(Duration::from_secs(100))
            .failing(Failure::new(500, "API error: 500"))
            .with_reply_url(rx.url("/failed")),
    );
    // `created` is where a job starts, not a change: nothing is sent for it.
    rx.still(0, SETTLE).await?;

    h.advance(10);
    let received = rx.wait_for(2).await?;
    // The clock stands still between advances, so the record read now is the one of the change.
    for (id, path) in [(&done, "/done"), (&failed, "/failed")] {
        let callback = received.iter().find(|r| r.path == path).ok_or("no callback")?;
        assert_eq!(callback.body, h.record(&flow_path(id)).await?, "{path}");
        assert_eq!(str_at(&callback.body, "/status"), "started");
        assert_eq!(callback.content_type.as_deref(), Some("application/json"));
        // Callbacks are not signed, and never carry the sandbox's token.
        assert_eq!(callback.authorization, None);
    }

    h.advance(90);
    let received = rx.wait_for(4).await?;
    for (id, path, last) in [(&done, "/done", "completed"), (&failed, "/failed", "failed")] {
        let bodies: Vec<&Value> = received.iter().filter(|r| r.path == path).map(|r| &r.body).collect();
        assert_eq!(bodies.iter().map(|b| str_at(b, "/status")).collect::<Vec<_>>(), ["started", last]);
        assert_eq!(bodies[1], &h.record(&flow_path(id)).await?, "{path}");
    }
    rx.still(4, SETTLE).await?;
    let stats = h.sandbox.stats();
    assert_eq!((stats.callbacks_sent, stats.callbacks_failed, stats.callbacks_forged), (4, 0, 0));
    Ok(())
}

#[tokio::test]
async fn on_a_fast_clock_a_dreamina_job_calls_back_once_when_it_completes() -> TestResult {
    // 20 s of simulated run is 100 ms of real time at 200×.
    let h = start_fast(200.0).await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    let id = h
        .sandbox
        .add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(20)).with_reply_url(rx.url("/d")));
    let created = h.record(&dreamina_path(&id)).await?;
    let received = rx.wait_for(1).await?;
    let record = h.record(&dreamina_path(&id)).await?;
    let callback = &received[0].body;
    assert_eq!(str_at(callback, "/status"), "completed");
    for field in ["/jobid", "/type", "/status", "/model", "/created", "/updated", "/code", "/request"] {
        assert_eq!(callback.pointer(field), record.pointer(field), "{field}");
    }
    for field in ["/response/videoId", "/response/assetId", "/response/finishTime", "/response/durationMs"] {
        assert_eq!(callback.pointer(field), record.pointer(field), "{field}");
    }
    assert_eq!(str_at(callback, "/request/replyUrl"), rx.url("/d"));
    // Sent when the job finished in simulated time: not before, and not long after.
    let created_ms = str_at(&created, "/created").parse::<jiff::Timestamp>()?.as_millisecond();
    let late_ms = received[0].at_ms - (created_ms + 20_000);
    assert!((0..10_000).contains(&late_ms), "arrived {late_ms} ms after the finish");
    rx.still(1, SETTLE).await?;
    Ok(())
}

#[tokio::test]
async fn dreamina_calls_back_failures_including_the_1_hour_sweep() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    // The sweep fails a job left `created` for an hour plus the 120 s lag: one second from now.
    let stuck = h.sandbox.add_job(
        JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(3600 + 119)).with_reply_url(rx.url("/stuck")),
    );
    let moderated = h.sandbox.add_job(
        JobSpec::dreamina_image()
            .with_duration(Duration::from_secs(1))
            .failing(Failure::moderation())
            .with_reply_url(rx.url("/moderated")),
    );
    h.advance(1);
    let received = rx.wait_for(2).await?;
    let swept = received.iter().find(|r| r.path == "/stuck").ok_or("no sweep callback")?;
    assert_eq!(swept.body, h.record(&dreamina_path(&stuck)).await?);
    assert_eq!((str_at(&swept.body, "/status"), &swept.body["code"]), ("failed", &Value::from(408)));
    let failed = received.iter().find(|r| r.path == "/moderated").ok_or("no failure callback")?;
    assert_eq!(failed.body, h.record(&format!("/v1/dreamina/images/{}", encode(&moderated))).await?);
    assert_eq!(failed.body["code"], 2043);
    rx.still(2, SETTLE).await?;
    Ok(())
}

#[tokio::test]
async fn token360_retries_a_failing_receiver_1_s_then_3_s_after_each_failure() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::scripted(h.sandbox.clock(), [Reply::Status(500), Reply::Status(500)]).await?;
    let id = h
        .sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(10)).with_reply_url(rx.url("/t")));
    h.advance(10);
    let first = rx.wait_for(1).await?[0].clone();
    assert_eq!(str_at(&first.body, "/status"), "completed");
    assert_eq!(str_at(&first.body, "/parameters/callback_url"), rx.url("/t"));
    let record = h.record(&format!("/v1/videos/{id}")).await?;
    for field in ["/id", "/status", "/created_at", "/updated_at", "/progress", "/parameters", "/url"] {
        assert_eq!(first.body.pointer(field), record.pointer(field), "{field}");
    }

    // The retry's due time is fixed once the failure is counted; then the clock moves by hand.
    until(|| h.sandbox.stats().callbacks_failed == 1).await?;
    h.advance_ms(999);
    rx.still(1, SETTLE).await?;
    h.advance_ms(1);
    let second = rx.wait_for(2).await?[1].clone();
    assert_eq!(second.at_ms - first.at_ms, 1_000);

    until(|| h.sandbox.stats().callbacks_failed == 2).await?;
    h.advance_ms(2_999);
    rx.still(2, SETTLE).await?;
    h.advance_ms(1);
    let third = rx.wait_for(3).await?[2].clone();
    assert_eq!(third.at_ms - second.at_ms, 3_000);
    // The same callback each time; the third got its 200, so there is no fourth.
    assert_eq!((&first.body, &second.body), (&third.body, &third.body));
    h.advance(60);
    rx.still(3, SETTLE).await?;
    let stats = h.sandbox.stats();
    assert_eq!((stats.callbacks_sent, stats.callbacks_failed), (3, 2));
    Ok(())
}

#[tokio::test]
async fn token360_gives_up_after_three_attempts_and_useapi_never_retries() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::scripted(h.sandbox.clock(), [Reply::Status(503); 10]).await?;
    let spec = |path| JobSpec::token360_video().with_duration(Duration::from_secs(1)).with_reply_url(rx.url(path));
    h.sandbox.add_job(spec("/t"));
    h.sandbox.add_job(JobSpec::google_flow_image().with_duration(Duration::ZERO).with_reply_url(rx.url("/g")));
    h.advance(1);
    until(|| h.sandbox.stats().callbacks_failed == 2).await?;
    h.advance(1);
    until(|| h.sandbox.stats().callbacks_failed == 3).await?;
    h.advance(3);
    until(|| h.sandbox.stats().callbacks_failed == 4).await?;
    h.advance(600);
    let received = rx.still(4, SETTLE).await?;
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!((paths.iter().filter(|p| **p == "/t").count(), paths.iter().filter(|p| **p == "/g").count()), (3, 1));
    Ok(())
}

#[tokio::test]
async fn an_attempt_without_an_answer_times_out_after_30_simulated_seconds() -> TestResult {
    // 30 s of simulated time is 300 ms of real time at 100×.
    let h = start_fast(100.0).await?;
    let rx = Receiver::scripted(h.sandbox.clock(), [Reply::Hold(Duration::from_secs(5))]).await?;
    h.sandbox.add_job(JobSpec::token360_video().with_duration(Duration::from_secs(1)).with_reply_url(rx.url("/t")));
    let received = rx.wait_for(2).await?;
    let gap_ms = received[1].at_ms - received[0].at_ms;
    assert!((31_000..40_000).contains(&gap_ms), "retried {gap_ms} ms after the first attempt");
    let stats = h.sandbox.stats();
    assert_eq!((stats.callbacks_sent, stats.callbacks_failed), (2, 1));
    Ok(())
}

#[tokio::test]
async fn a_slow_receiver_delays_neither_other_callbacks_nor_reads() -> TestResult {
    let h = start_fast(100.0).await?;
    let slow = Receiver::scripted(h.sandbox.clock(), [Reply::Hold(Duration::from_secs(5))]).await?;
    let quick = Receiver::start(h.sandbox.clock()).await?;
    let held = h
        .sandbox
        .add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(1)).with_reply_url(slow.url("/slow")));
    slow.wait_for(1).await?;
    h.sandbox
        .add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(2)).with_reply_url(quick.url("/quick")));
    let arrived = quick.wait_for(1).await?;
    // The slow receiver still holds its callback (its timeout is 300 ms away), yet this one came.
    assert_eq!(h.sandbox.stats().callbacks_failed, 0);
    assert_eq!(str_at(&arrived[0].body, "/status"), "completed");
    assert_eq!(str_at(&h.record(&dreamina_path(&held)).await?, "/status"), "completed");
    Ok(())
}

#[tokio::test]
async fn hundreds_of_jobs_finishing_together_all_call_back() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    for n in 0..300 {
        h.sandbox.add_job(
            JobSpec::dreamina_image().with_duration(Duration::from_secs(5)).with_reply_url(rx.url(&format!("/{n}"))),
        );
    }
    h.advance(5);
    let received = rx.wait_for(300).await?;
    let mut paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), 300);
    rx.still(300, SETTLE).await?;
    Ok(())
}

#[tokio::test]
async fn a_lost_callback_never_arrives() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    let spec = || JobSpec::token360_video().with_duration(Duration::from_secs(10)).with_reply_url(rx.url("/t"));
    h.sandbox.add_job(spec().with_callback_lost());
    let kept = h.sandbox.add_job(spec());
    h.advance(10);
    let received = rx.wait_for(1).await?;
    assert_eq!(str_at(&received[0].body, "/id"), kept);
    h.advance(600);
    rx.still(1, SETTLE).await?;
    assert_eq!(h.sandbox.stats().callbacks_sent, 1);
    Ok(())
}

#[tokio::test]
async fn duplicated_callbacks_arrive_n_plus_one_times_per_change() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    let id = h.sandbox.add_job(
        JobSpec::google_flow_video()
            .with_duration(Duration::from_secs(100))
            .with_callback_duplicates(2)
            .with_reply_url(rx.url("/g")),
    );
    h.advance(10);
    let started = rx.wait_for(3).await?;
    rx.still(3, SETTLE).await?;
    h.advance(90);
    let received = rx.wait_for(6).await?;
    rx.still(6, SETTLE).await?;
    assert_eq!(statuses(&received), ["started", "started", "started", "completed", "completed", "completed"]);
    assert!(started.iter().all(|r| r.body == started[0].body));
    let record = h.record(&flow_path(&id)).await?;
    assert!(received[3..].iter().all(|r| r.body == record));
    assert_eq!(h.sandbox.stats().callbacks_sent, 6);
    Ok(())
}

#[tokio::test]
async fn a_delayed_callback_arrives_late_by_the_delay_saying_what_it_said_at_the_change() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    let id = h.sandbox.add_job(
        JobSpec::token360_video()
            .with_duration(Duration::from_secs(10))
            .with_callback_delay(Duration::from_secs(5))
            .with_reply_url(rx.url("/t")),
    );
    let created_at = h.record(&format!("/v1/videos/{id}")).await?["created_at"].as_i64().ok_or("no created_at")?;
    h.advance(10);
    let record = h.record(&format!("/v1/videos/{id}")).await?;
    assert_eq!(str_at(&record, "/status"), "completed");
    rx.still(0, SETTLE).await?;
    h.advance(4);
    rx.still(0, SETTLE).await?;
    h.advance(1);
    let received = rx.wait_for(1).await?;
    // Its body is the record as of the change, so even its URL's expiry matches that read.
    assert_eq!(received[0].body, record);
    assert_eq!(received[0].at_ms.div_euclid(1000) - created_at, 15);
    Ok(())
}

#[tokio::test]
async fn a_stopped_sandbox_sends_no_more_callbacks() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    h.sandbox.add_job(JobSpec::token360_video().with_duration(Duration::from_secs(10)).with_reply_url(rx.url("/t")));
    let clock = h.sandbox.clock();
    h.sandbox.shutdown().await;
    clock.advance(Duration::from_secs(10));
    rx.still(0, SETTLE).await?;
    Ok(())
}
