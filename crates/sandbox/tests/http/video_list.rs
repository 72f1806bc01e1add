//! token360's video list (`GET /v1/videos`): newest first, cursor pages, and its listing faults.

use std::collections::HashSet;
use std::time::Duration;

use genjob_sandbox::{Failure, JobSpec, ListingFault};
use reqwest::StatusCode;
use serde_json::Value;

use crate::listing::wait_for_hung;
use crate::support::{Answer, Harness, TOKEN, TestResult, keys, start_still, str_at};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The ids of a list page, in order.
fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().into_iter().flatten().map(|video| str_at(video, "/id").to_owned()).collect()
}

/// GET a list page and insist on 200 and the envelope's shape.
async fn list(h: &Harness, query: &str) -> Result<Value, Error> {
    let page = h.record(&format!("/v1/videos{query}")).await?;
    assert_eq!(keys(&page), ["object", "data", "has_more", "first_id", "last_id"]);
    assert_eq!(page["object"], "list");
    let listed = ids(&page);
    assert_eq!(page["first_id"], listed.first().map_or(Value::Null, |id| Value::from(id.as_str())));
    assert_eq!(page["last_id"], listed.last().map_or(Value::Null, |id| Value::from(id.as_str())));
    Ok(page)
}

/// Checks `answer` is a 400 `invalid_request_error` about `param`.
fn assert_invalid(answer: &Answer, param: &str) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:?}", answer.json);
    assert_eq!(keys(&answer.json["error"]), ["message", "type", "param", "code"]);
    assert_eq!(str_at(&answer.json, "/error/type"), "invalid_request_error");
    assert_eq!(str_at(&answer.json, "/error/param"), param);
}

#[tokio::test]
async fn lists_only_token360_videos_newest_first_exactly_as_their_records() -> TestResult {
    let h = start_still().await?;
    // Added out of creation order: the list sorts by creation, not by addition.
    let middle = h.sandbox.add_job(JobSpec::token360_video().with_age(Duration::from_secs(50)));
    let oldest = h.sandbox.add_job(
        JobSpec::token360_video()
            .with_openai_style()
            .with_age(Duration::from_secs(80))
            .failing(Failure::new(500, "boom")),
    );
    let newest = h.sandbox.add_job(JobSpec::token360_video().with_openai_style());
    h.sandbox.add_job(JobSpec::dreamina_video());
    h.sandbox.add_job(JobSpec::google_flow_image());

    for step in [0, 20, 30, 10] {
        h.advance(step);
        let page = list(&h, "").await?;
        assert_eq!(ids(&page), [newest.as_str(), middle.as_str(), oldest.as_str()]);
        assert_eq!(page["has_more"], false);
        // The clock stands still between requests, so each entry must equal its record whole.
        for video in page["data"].as_array().into_iter().flatten() {
            let record = h.record(&format!("/v1/videos/{}", str_at(video, "/id"))).await?;
            assert_eq!(video, &record, "after {step} s");
        }
    }
    // 60 s on: the newest is running, the middle one done, the oldest failed at its 90 s.
    let page = list(&h, "").await?;
    let statuses: Vec<&str> = page["data"].as_array().into_iter().flatten().map(|v| str_at(v, "/status")).collect();
    assert_eq!(statuses, ["in_progress", "completed", "failed"]);
    Ok(())
}

#[tokio::test]
async fn pages_of_a_hundred_walk_250_videos_exactly_once() -> TestResult {
    let h = start_still().await?;
    // Same creation millisecond for all: ties are broken by addition, newest added first.
    let added: Vec<String> = (0..250).map(|_| h.sandbox.add_job(JobSpec::token360_video())).collect();
    let mut seen = Vec::new();
    let mut more = Vec::new();
    let mut query = "?limit=100".to_owned();
    for _ in 0..4 {
        let page = list(&h, &query).await?;
        let page_ids = ids(&page);
        more.push((page_ids.len(), page["has_more"].as_bool()));
        seen.extend(page_ids);
        if page["has_more"] != true {
            break;
        }
        query = format!("?limit=100&after={}", str_at(&page, "/last_id"));
    }
    assert_eq!(more, [(100, Some(true)), (100, Some(true)), (50, Some(false))]);
    let newest_first: Vec<String> = added.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 250);

    // After the very last video there is nothing more, and nothing is wrong.
    let end = list(&h, &format!("?after={}", added[0])).await?;
    assert_eq!((ids(&end).len(), &end["has_more"]), (0, &Value::Bool(false)));
    assert!(end["first_id"].is_null() && end["last_id"].is_null());

    let stats = h.sandbox.stats();
    assert_eq!((stats.token360_list, stats.token360, stats.total), (4, 0, 4));
    Ok(())
}

#[tokio::test]
async fn limit_defaults_to_20_is_clamped_to_100_and_bad_values_are_refused() -> TestResult {
    let h = start_still().await?;
    for _ in 0..130 {
        h.sandbox.add_job(JobSpec::token360_video());
    }
    assert_eq!(ids(&list(&h, "").await?).len(), 20);
    let clamped = list(&h, "?limit=1000").await?;
    assert_eq!((ids(&clamped).len(), &clamped["has_more"]), (100, &Value::Bool(true)));
    assert_eq!(ids(&list(&h, "?limit=7").await?).len(), 7);
    // Unknown parameters are ignored, as real servers do.
    assert_eq!(ids(&list(&h, "?limit=3&order=desc").await?).len(), 3);

    for bad in ["?limit=0", "?limit=-5"] {
        assert_invalid(&h.get(&format!("/v1/videos{bad}")).await?, "limit");
    }
    let garbled = h.get("/v1/videos?limit=lots").await?;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST);
    assert_eq!(str_at(&garbled.json, "/error/type"), "invalid_request_error");
    Ok(())
}

#[tokio::test]
async fn an_unknown_after_is_a_400_in_the_openai_envelope() -> TestResult {
    let h = start_still().await?;
    h.sandbox.add_job(JobSpec::token360_video());
    let dreamina = h.sandbox.add_job(JobSpec::dreamina_video());
    for after in ["video_nope", dreamina.as_str()] {
        let answer = h.send(h.client.get(h.url("/v1/videos")).query(&[("after", after)]).bearer_auth(TOKEN)).await?;
        assert_invalid(&answer, "after");
        assert!(str_at(&answer.json, "/error/message").contains(after), "{:?}", answer.json);
    }
    let anonymous = h.send(h.client.get(h.url("/v1/videos"))).await?;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(str_at(&anonymous.json, "/error/code"), "invalid_api_key");
    assert_eq!(h.sandbox.stats().token360_list, 3);
    Ok(())
}

#[tokio::test]
async fn a_frozen_video_list_pages_through_its_snapshot_while_the_scheduler_stays_live() -> TestResult {
    let h = start_still().await?;
    let first: Vec<String> = (0..3).map(|_| h.sandbox.add_job(JobSpec::token360_video())).collect();
    h.sandbox.add_job(JobSpec::dreamina_video());
    h.sandbox.set_video_list_fault(ListingFault::Frozen)?;
    let frozen = list(&h, "").await?;

    h.advance(200);
    h.sandbox.add_job(JobSpec::token360_video());
    assert_eq!(list(&h, "").await?, frozen);
    assert!(frozen["data"].as_array().into_iter().flatten().all(|video| video["status"] == "queued"));
    let second = list(&h, &format!("?limit=1&after={}", first[2])).await?;
    assert_eq!(ids(&second), [first[1].as_str()]);
    // The scheduler has its own fault: it shows the Dreamina job finished long ago.
    assert_eq!(h.record("/v1/dreamina/scheduler").await?["total"], 0);
    assert_eq!(str_at(&h.record(&format!("/v1/videos/{}", first[0])).await?, "/status"), "completed");

    h.sandbox.set_video_list_fault(ListingFault::None)?;
    let live = list(&h, "").await?;
    assert_eq!(ids(&live).len(), 4);
    assert!(live["data"].as_array().into_iter().flatten().skip(1).all(|video| video["status"] == "completed"));
    Ok(())
}

#[tokio::test]
async fn a_lagging_failing_or_hanging_video_list_misbehaves_in_the_openai_envelope() -> TestResult {
    let h = start_still().await?;
    let old = h.sandbox.add_job(JobSpec::token360_video());
    h.advance(100);
    let fresh = h.sandbox.add_job(JobSpec::token360_video());

    h.sandbox.set_video_list_fault(ListingFault::Lagging(Duration::from_secs(60)))?;
    let lagging = list(&h, "").await?;
    // As of 60 s ago: the fresh video did not exist and the old one was still in progress.
    assert_eq!(ids(&lagging), [old.as_str()]);
    assert_eq!(str_at(&lagging, "/data/0/status"), "in_progress");
    assert_eq!(str_at(&h.record(&format!("/v1/videos/{old}")).await?, "/status"), "completed");

    h.sandbox.set_video_list_fault(ListingFault::Failing { status: 503, count: Some(2) })?;
    for _ in 0..2 {
        let answer = h.get("/v1/videos").await?;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(str_at(&answer.json, "/error/type"), "server_error");
    }
    assert_eq!(ids(&list(&h, "").await?), [fresh.as_str(), old.as_str()]);
    h.sandbox.set_video_list_fault(ListingFault::Failing { status: 502, count: Some(1) })?;
    let bad_gateway = h.get("/v1/videos").await?;
    assert_eq!(bad_gateway.status, StatusCode::BAD_GATEWAY);
    assert_eq!(keys(&bad_gateway.json["error"]), ["message", "type", "param", "code"]);
    assert_eq!(str_at(&bad_gateway.json, "/error/message"), "Bad Gateway");
    h.sandbox.set_video_list_fault(ListingFault::Failing { status: 429, count: Some(1) })?;
    let limited = h.get("/v1/videos").await?;
    assert_eq!(
        (limited.status, str_at(&limited.json, "/error/type")),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error")
    );
    // The scheduler was never touched by any of it.
    assert_eq!(h.get("/v1/dreamina/scheduler").await?.status, StatusCode::OK);

    h.sandbox.set_video_list_fault(ListingFault::Hang)?;
    let hung = h.client.get(h.url("/v1/videos")).bearer_auth(TOKEN).timeout(Duration::from_millis(200)).send().await;
    assert!(hung.is_err_and(|e| e.is_timeout()));
    wait_for_hung(&h, 1).await;
    assert_eq!(h.get(&format!("/v1/videos/{old}/content")).await?.status, StatusCode::OK);

    // ElapsedAhead has nothing to overstate in a video object.
    h.sandbox.set_video_list_fault(ListingFault::ElapsedAhead(Duration::from_secs(3600)))?;
    assert_eq!(ids(&list(&h, "").await?), [fresh.as_str(), old.as_str()]);
    let stats = h.sandbox.stats();
    assert_eq!((stats.token360_list, stats.token360_content, stats.scheduler), (8, 1, 1));
    Ok(())
}

#[tokio::test]
async fn the_control_endpoint_sets_the_video_lists_fault_apart_from_the_schedulers() -> TestResult {
    let h = start_still().await?;
    h.sandbox.add_job(JobSpec::token360_video());
    let post = |body: &'static str| {
        h.send(
            h.client
                .post(h.url("/_sandbox/listing"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let set = post(r#"{"listing":"videos","fault":{"failing":{"status":503}}}"#).await?;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get("/v1/videos").await?.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h.get("/v1/dreamina/scheduler").await?.status, StatusCode::OK);

    // Without `listing`, a fault is the scheduler's, as before.
    assert_eq!(post(r#"{"fault":"hang"}"#).await?.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get("/v1/videos").await?.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(post(r#"{"fault":"none"}"#).await?.status, StatusCode::NO_CONTENT);
    assert_eq!(post(r#"{"fault":"none","listing":"videos"}"#).await?.status, StatusCode::NO_CONTENT);
    assert_eq!(ids(&list(&h, "").await?).len(), 1);

    let unknown = post(r#"{"fault":"none","listing":"jobs"}"#).await?;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(str_at(&unknown.json, "/error").contains("unknown variant"), "{:?}", unknown.json);
    Ok(())
}
