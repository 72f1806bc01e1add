//! Scripted faults of job reads: held-open reads, stale replicas, raw Retry-After and lagging records.

use std::time::{Duration, Instant};

use genjob_sandbox::JobSpec;
use jiff::Timestamp;
use reqwest::StatusCode;

use crate::listing::wait_for_hung;
use crate::support::{Harness, TOKEN, TestResult, encode, keys, start, str_at};

fn video_path(id: &str) -> String {
    format!("/v1/dreamina/videos/{}", encode(id))
}

fn millis(value: &serde_json::Value, field: &str) -> i64 {
    str_at(value, field).parse::<Timestamp>().map(Timestamp::as_millisecond).unwrap_or(i64::MIN)
}

#[tokio::test]
async fn hung_reads_never_answer_then_the_job_reads_normally() -> TestResult {
    let h = start().await?;
    let hung = h.sandbox.add_job(JobSpec::token360_video().with_hang_reads(2));
    let other = h.sandbox.add_job(JobSpec::token360_video());
    let path = format!("/v1/videos/{hung}");
    for _ in 0..2 {
        let started = Instant::now();
        let answer = h.client.get(h.url(&path)).bearer_auth(TOKEN).timeout(Duration::from_millis(300)).send().await;
        assert!(answer.as_ref().is_err_and(reqwest::Error::is_timeout), "{answer:?}");
        assert!(started.elapsed() >= Duration::from_millis(300));
        // Both held reads are still open, yet other jobs answer at once.
        assert_eq!(str_at(&h.record(&format!("/v1/videos/{other}")).await?, "/status"), "queued");
    }
    assert_eq!(str_at(&h.record(&path).await?, "/status"), "queued");
    let stats = h.sandbox.stats();
    assert_eq!((stats.hung_answers, stats.token360), (2, 5));
    Ok(())
}

#[tokio::test]
async fn reads_held_forever_are_released_when_the_sandbox_shuts_down() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video().with_hang_reads(u32::MAX).with_slow(Duration::from_secs(30)));
    let held: Vec<_> =
        (0..3).map(|_| tokio::spawn(h.client.get(h.url(&video_path(&id))).bearer_auth(TOKEN).send())).collect();
    wait_for_hung(&h, 3).await;
    assert_eq!(h.record("/v1/dreamina/scheduler").await?["total"], 1);

    let Harness { sandbox, .. } = h;
    let stopping = Instant::now();
    sandbox.shutdown().await;
    assert!(stopping.elapsed() < Duration::from_secs(2), "{:?}", stopping.elapsed());
    for read in held {
        assert_eq!(read.await??.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    Ok(())
}

#[tokio::test]
async fn stale_reads_show_the_record_from_before_completion_n_times() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video().with_stale_reads(2));
    let task = h.sandbox.add_job(JobSpec::token360_video().with_stale_reads(1));
    let path = video_path(&id);
    let task_path = format!("/v1/videos/{task}");
    assert_eq!(str_at(&h.record(&path).await?, "/status"), "created");
    h.advance(106);

    let done = h.record(&path).await?;
    assert_eq!(str_at(&done, "/status"), "completed");
    for _ in 0..2 {
        let stale = h.record(&path).await?;
        assert_eq!(str_at(&stale, "/status"), "created");
        assert_eq!(keys(&stale), ["jobid", "type", "status", "model", "created", "request", "response", "code"]);
        assert_eq!(stale["created"], done["created"]);
    }
    assert_eq!(h.record(&path).await?, done);

    assert_eq!(str_at(&h.record(&task_path).await?, "/status"), "completed");
    let stale = h.record(&task_path).await?;
    assert_eq!((str_at(&stale, "/status"), stale["progress"].as_i64()), ("in_progress", Some(99)));
    assert_eq!(str_at(&h.record(&task_path).await?, "/status"), "completed");
    assert_eq!(h.sandbox.stats().stale_answers, 3);
    Ok(())
}

#[tokio::test]
async fn an_absurd_retry_after_is_sent_verbatim() -> TestResult {
    let h = start().await?;
    let cases = [
        ("18446744073709551615", Some(serde_json::json!(u64::MAX))),
        ("-5", Some(serde_json::json!(-5))),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ];
    for (raw, body) in cases {
        let id = h.sandbox.add_job(JobSpec::dreamina_video().with_rate_limited(1).with_retry_after(raw));
        let answer = h.get(&video_path(&id)).await?;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers["retry-after"], raw);
        assert_eq!(answer.json.get("retryAfter"), body.as_ref(), "{raw}");
        assert!(str_at(&answer.json, "/error").contains(raw), "{:?}", answer.json);
        assert_eq!(h.get(&video_path(&id)).await?.status, StatusCode::OK);
    }
    let task = h.sandbox.add_job(JobSpec::token360_video().with_rate_limited(1).with_retry_after("-5"));
    let answer = h.get(&format!("/v1/videos/{task}")).await?;
    assert_eq!((answer.status, &answer.headers["retry-after"]), (StatusCode::TOO_MANY_REQUESTS, &"-5".parse()?));
    assert_eq!(str_at(&answer.json, "/error/type"), "rate_limit_error");
    Ok(())
}

#[tokio::test]
async fn a_lagging_record_shows_the_earlier_state() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video().with_record_lag(Duration::from_secs(60)));
    let flow = h.sandbox.add_job(JobSpec::google_flow_video().with_record_lag(Duration::from_secs(30)));
    let flow_path = format!("/v1/google-flow/jobs/{}", encode(&flow));
    h.advance(110);
    // Finished 5 s ago, but the record is a minute behind.
    assert_eq!(str_at(&h.record(&video_path(&id)).await?, "/status"), "created");
    assert_eq!(str_at(&h.record(&flow_path).await?, "/status"), "started");
    h.advance(60);
    let done = h.record(&video_path(&id)).await?;
    assert_eq!(str_at(&done, "/status"), "completed");
    assert_eq!(millis(&done, "/updated") - millis(&done, "/created"), 105_000);
    assert_eq!(str_at(&h.record(&flow_path).await?, "/status"), "completed");
    Ok(())
}

#[tokio::test]
async fn the_control_endpoint_accepts_the_read_fault_fields() -> TestResult {
    let h = start().await?;
    let added = h
        .send(
            h.client.post(h.url("/_sandbox/jobs")).bearer_auth(TOKEN).header("content-type", "application/json").body(
                r#"{"kind":"dreamina-video","rate_limited":1,"retry_after":"-5","hang_reads":1,
                    "stale_reads":1,"record_lag":"10s"}"#,
            ),
        )
        .await?;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.json);
    let path = video_path(str_at(&added.json, "/id"));
    let limited = h.get(&path).await?;
    assert_eq!((limited.status, limited.json["retryAfter"].as_i64()), (StatusCode::TOO_MANY_REQUESTS, Some(-5)));
    let hung = h.client.get(h.url(&path)).bearer_auth(TOKEN).timeout(Duration::from_millis(200)).send().await;
    assert!(hung.is_err_and(|e| e.is_timeout()));
    h.advance(106);
    assert_eq!(str_at(&h.record(&path).await?, "/status"), "created");
    h.advance(10);
    assert_eq!(str_at(&h.record(&path).await?, "/status"), "completed");
    assert_eq!(str_at(&h.record(&path).await?, "/status"), "created");
    assert_eq!(str_at(&h.record(&path).await?, "/status"), "completed");
    let stats = h.get("/_sandbox/stats").await?.json;
    assert_eq!((stats["hung_answers"].as_u64(), stats["stale_answers"].as_u64()), (Some(1), Some(1)));
    Ok(())
}
