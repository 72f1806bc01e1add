//! Scripted faults of the Dreamina listing: frozen, lagging, failing, hanging and implausible.

use std::time::{Duration, Instant};

use genjob_sandbox::{JobSpec, ListingFault, SandboxError};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Harness, TOKEN, TestResult, encode, start, str_at};

const LISTING: &str = "/v1/dreamina/scheduler";

/// Every listed job id with its `elapsedSeconds`, across accounts.
fn entries(listing: &Value) -> Vec<(String, i64)> {
    listing["executing"]
        .as_object()
        .into_iter()
        .flat_map(|accounts| accounts.values())
        .filter_map(Value::as_array)
        .flatten()
        .map(|entry| (str_at(entry, "/jobid").to_owned(), entry["elapsedSeconds"].as_i64().unwrap_or(-1)))
        .collect()
}

fn video_path(id: &str) -> String {
    format!("/v1/dreamina/videos/{}", encode(id))
}

/// POST `body` to the listing control endpoint.
async fn post_fault(
    h: &Harness,
    body: &str,
) -> Result<crate::support::Answer, Box<dyn std::error::Error + Send + Sync>> {
    h.send(
        h.client
            .post(h.url("/_sandbox/listing"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn a_frozen_listing_keeps_a_finished_job_and_its_age() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video());
    h.advance(30);
    h.sandbox.set_listing_fault(ListingFault::Frozen)?;
    let frozen = h.record(LISTING).await?;
    let listed = entries(&frozen);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, id);
    assert!(matches!(listed[0].1, 30 | 31), "{listed:?}");

    // The job finishes and a new one starts; the listing does not notice either.
    h.advance(100);
    assert_eq!(str_at(&h.record(&video_path(&id)).await?, "/status"), "completed");
    h.sandbox.add_job(JobSpec::dreamina_video());
    h.advance(5);
    assert_eq!(h.record(LISTING).await?, frozen);

    h.sandbox.set_listing_fault(ListingFault::None)?;
    let live = entries(&h.record(LISTING).await?);
    assert!(live.iter().all(|(listed, _)| *listed != id), "{live:?}");
    assert_eq!(live.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_lagging_listing_shows_the_earlier_state() -> TestResult {
    let h = start().await?;
    let done = h.sandbox.add_job(JobSpec::dreamina_video());
    h.advance(110);
    let fresh = h.sandbox.add_job(JobSpec::dreamina_video());
    assert_eq!(str_at(&h.record(&video_path(&done)).await?, "/status"), "completed");

    h.sandbox.set_listing_fault(ListingFault::Lagging(Duration::from_secs(60)))?;
    let lagging = entries(&h.record(LISTING).await?);
    // As of 60 s ago: the finished job was 50 s old, the fresh one did not exist yet.
    assert_eq!(lagging.len(), 1, "{lagging:?}");
    assert_eq!(lagging[0].0, done);
    assert!(matches!(lagging[0].1, 50 | 51), "{lagging:?}");

    h.sandbox.set_listing_fault(ListingFault::None)?;
    let live = entries(&h.record(LISTING).await?);
    assert_eq!(live.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), [fresh.as_str()]);
    Ok(())
}

#[tokio::test]
async fn a_failing_listing_answers_its_status_n_times_then_recovers() -> TestResult {
    let h = start().await?;
    h.sandbox.add_job(JobSpec::dreamina_video());
    h.sandbox.set_listing_fault(ListingFault::Failing { status: 503, count: Some(3) })?;
    for _ in 0..3 {
        let answer = h.get(LISTING).await?;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.json, json!({ "error": "Service unavailable" }));
    }
    assert_eq!(entries(&h.record(LISTING).await?).len(), 1);
    assert_eq!(h.get(LISTING).await?.status, StatusCode::OK);

    // Without a count it fails until told otherwise; 429 carries Retry-After like a job's.
    h.sandbox.set_listing_fault(ListingFault::Failing { status: 429, count: None })?;
    for _ in 0..5 {
        let answer = h.get(LISTING).await?;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers["retry-after"], "2");
        assert_eq!(answer.json["retryAfter"], 2);
    }
    h.sandbox.set_listing_fault(ListingFault::Failing { status: 502, count: Some(1) })?;
    let answer = h.get(LISTING).await?;
    assert_eq!((answer.status, answer.json), (StatusCode::BAD_GATEWAY, json!({ "error": "Bad Gateway" })));
    assert_eq!(h.get(LISTING).await?.status, StatusCode::OK);

    let stats = h.sandbox.stats();
    assert_eq!((stats.server_error_answers, stats.rate_limited_answers, stats.scheduler), (3, 5, 12));
    for status in [200, 302, 600] {
        let refused = h.sandbox.set_listing_fault(ListingFault::Failing { status, count: None });
        assert!(matches!(refused, Err(SandboxError::InvalidListingStatus { status: s }) if s == status));
    }
    assert_eq!(h.get(LISTING).await?.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_hanging_listing_never_answers_while_other_requests_do() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video());
    h.sandbox.set_listing_fault(ListingFault::Hang)?;
    let started = Instant::now();
    let hung = h.client.get(h.url(LISTING)).bearer_auth(TOKEN).timeout(Duration::from_millis(300)).send().await;
    assert!(hung.as_ref().is_err_and(reqwest::Error::is_timeout), "{hung:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A second hung listing request is still open while the job and the stats answer.
    let held = tokio::spawn(h.client.get(h.url(LISTING)).bearer_auth(TOKEN).send());
    wait_for_hung(&h, 2).await;
    assert_eq!(str_at(&h.record(&video_path(&id)).await?, "/status"), "created");
    assert_eq!(h.get("/_sandbox/stats").await?.status, StatusCode::OK);
    assert!(!held.is_finished());

    // Shutting down releases it at once, well before the 5 s abort.
    let Harness { sandbox, .. } = h;
    let stopping = Instant::now();
    sandbox.shutdown().await;
    assert!(stopping.elapsed() < Duration::from_secs(2), "{:?}", stopping.elapsed());
    assert_eq!(held.await??.status(), StatusCode::SERVICE_UNAVAILABLE);
    Ok(())
}

/// Waits (up to 2 s) until `count` requests are being held open.
pub async fn wait_for_hung(h: &Harness, count: u64) {
    for _ in 0..200 {
        if h.sandbox.stats().hung_answers >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.sandbox.stats().hung_answers, count);
}

#[tokio::test]
async fn an_elapsed_ahead_listing_reports_more_than_the_jobs_age() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(30)));
    h.sandbox.set_listing_fault(ListingFault::ElapsedAhead(Duration::from_secs(2 * 3600)))?;
    let listed = entries(&h.record(LISTING).await?);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, id);
    assert!(matches!(listed[0].1, 7230 | 7231), "{listed:?}");
    // The record still tells the truth: a 30-second-old job, still running.
    let record = h.record(&video_path(&id)).await?;
    assert_eq!(str_at(&record, "/status"), "created");
    let created: jiff::Timestamp = str_at(&record, "/created").parse()?;
    let age = h.sandbox.clock().now().as_second() - created.as_second();
    assert!(listed[0].1 > age, "{} vs {age}", listed[0].1);
    Ok(())
}

#[tokio::test]
async fn the_control_endpoint_sets_and_clears_listing_faults() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video());
    let answer = post_fault(&h, r#"{"fault":"frozen"}"#).await?;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let frozen = h.record(LISTING).await?;
    h.advance(200);
    assert_eq!(h.record(LISTING).await?, frozen);
    assert_eq!(entries(&frozen).first().map(|(listed, _)| listed.as_str()), Some(id.as_str()));

    assert_eq!(post_fault(&h, r#"{"fault":"none"}"#).await?.status, StatusCode::NO_CONTENT);
    assert_eq!(h.record(LISTING).await?, json!({ "executing": {}, "total": 0 }));

    assert_eq!(post_fault(&h, r#"{"fault":{"lagging":"150s"}}"#).await?.status, StatusCode::NO_CONTENT);
    assert_eq!(entries(&h.record(LISTING).await?).len(), 1);

    let failing = r#"{"fault":{"failing":{"status":503,"count":2}}}"#;
    assert_eq!(post_fault(&h, failing).await?.status, StatusCode::NO_CONTENT);
    for _ in 0..2 {
        assert_eq!(h.get(LISTING).await?.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(h.get(LISTING).await?.status, StatusCode::OK);

    assert_eq!(post_fault(&h, r#"{"fault":{"elapsed_ahead":"1h"}}"#).await?.status, StatusCode::NO_CONTENT);
    assert_eq!(post_fault(&h, r#"{"fault":"hang"}"#).await?.status, StatusCode::NO_CONTENT);
    assert_eq!(post_fault(&h, r#"{"fault":"none"}"#).await?.status, StatusCode::NO_CONTENT);

    for (bad, says) in [
        (r#"{"fault":"melted"}"#, "unknown variant"),
        (r#"{"fault":{"failing":{"status":200}}}"#, "400–599"),
        (r#"{"fault":{"lagging":"-5s"}}"#, "negative"),
        (r#"{"fault":"none","why":"x"}"#, "unknown field"),
    ] {
        let answer = post_fault(&h, bad).await?;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        let error = str_at(&answer.json, "/error");
        assert!(error.starts_with("invalid listing fault: ") && error.contains(says), "{bad}: {error}");
    }
    let unauthorized = h.send(h.client.post(h.url("/_sandbox/listing")).body(r#"{"fault":"hang"}"#)).await?;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    // The refused requests changed nothing, and control requests are not counted.
    assert_eq!(h.get(LISTING).await?.status, StatusCode::OK);
    let stats = h.sandbox.stats();
    assert_eq!((stats.scheduler, stats.total), (8, 8));
    Ok(())
}
