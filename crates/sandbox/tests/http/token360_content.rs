//! token360's `GET /v1/videos/{video_id}/content`: a signed link once done, OpenAI errors before.

use std::error::Error;
use std::time::Duration;

use genjob_sandbox::{Failure, JobSpec};
use reqwest::StatusCode;

use crate::support::{Answer, Harness, TOKEN, TestResult, expires_of, keys, start, str_at};

fn content(id: &str) -> String {
    format!("/v1/videos/{id}/content")
}

/// Checks `answer` is a 400 in the OpenAI envelope with `message` and `code`.
fn assert_refused(answer: &Answer, message: &str, code: &str) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:?}", answer.json);
    assert_eq!(keys(&answer.json["error"]), ["message", "type", "param", "code"]);
    assert_eq!(str_at(&answer.json, "/error/type"), "invalid_request_error");
    assert_eq!(str_at(&answer.json, "/error/code"), code);
    assert!(str_at(&answer.json, "/error/message").starts_with(message), "{:?}", answer.json);
}

/// GET `path` accepting only JSON, as genjob's token360 adapter asks for `/content`.
async fn get_json_only(h: &Harness, path: &str) -> Result<Answer, Box<dyn Error + Send + Sync>> {
    h.send(h.client.get(h.url(path)).bearer_auth(TOKEN).header("accept", "application/json")).await
}

#[tokio::test]
async fn content_is_refused_until_the_video_completes_then_links_a_signed_file() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video());

    let queued = get_json_only(&h, &content(&id)).await?;
    assert_refused(&queued, "Video is not ready yet. Current status: queued", "video_not_ready");
    h.advance(50);
    let running = get_json_only(&h, &content(&id)).await?;
    assert_refused(&running, "Video is not ready yet. Current status: in_progress", "video_not_ready");
    assert!(running.json["error"]["param"].is_null());

    h.advance(40);
    // token360 documents a JSON link (an OpenAI-style video answers its bytes: openai_content.rs).
    let link = get_json_only(&h, &content(&id)).await?;
    assert_eq!(link.status, StatusCode::OK, "{:?}", link.json);
    let link = link.json;
    assert_eq!(keys(&link), ["url", "video_id", "expires_in"]);
    assert_eq!((str_at(&link, "/video_id"), link["expires_in"].as_i64()), (id.as_str(), Some(3600)));
    let url = str_at(&link, "/url");
    assert!(url.starts_with(&format!("{}/files/", h.sandbox.base_url())), "{url}");
    let now = h.sandbox.clock().now().as_second();
    assert!((now + 3599..=now + 3600).contains(&expires_of(url)), "{url} at {now}");
    let file = h.client.get(url).send().await?;
    assert_eq!(file.headers()["content-type"], "video/mp4");
    assert_eq!(file.bytes().await?.len(), 64 * 1024);

    // The link expires with its `expires_in`; asking again gives a fresh one.
    h.advance(3601);
    assert_eq!(h.client.get(url).send().await?.status(), StatusCode::FORBIDDEN);
    let fresh = get_json_only(&h, &content(&id)).await?.json;
    assert_eq!(h.client.get(str_at(&fresh, "/url")).send().await?.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn content_of_a_failed_or_unknown_video_is_an_openai_error() -> TestResult {
    let h = start().await?;
    let failed = h.sandbox.add_job(JobSpec::token360_video().failing(Failure::new(400, "Did not pass moderation.")));
    h.advance(91);
    let answer = h.get(&content(&failed)).await?;
    assert_refused(&answer, "Video generation failed", "video_failed");
    let message = str_at(&answer.json, "/error/message");
    assert!(message.contains("Did not pass moderation.") && message.ends_with("Current status: failed"), "{message}");

    let unknown = h.get(&content("video_nope")).await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(str_at(&unknown.json, "/error/code"), "not_found");
    assert_eq!(str_at(&unknown.json, "/error/param"), "video_id");
    // A Dreamina job is no token360 video either.
    let dreamina = h.sandbox.add_job(JobSpec::dreamina_video());
    assert_eq!(h.get(&content(&dreamina)).await?.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn content_of_a_documented_style_video_links_the_same_file_as_its_record() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().with_expire_urls_after(Duration::from_secs(600)));
    h.advance(90);
    let record = h.record(&format!("/v1/videos/{id}")).await?;
    let link = h.record(&content(&id)).await?;
    // The job's URL lifetime applies to the link too, and `expires_in` says so.
    assert_eq!(link["expires_in"], 600);
    let file_of = |url: &str| url.split_once('?').map(|(file, _)| file.to_owned());
    assert_eq!(file_of(str_at(&link, "/url")), file_of(str_at(&record, "/url")));
    Ok(())
}

#[tokio::test]
async fn content_requests_meet_the_jobs_read_faults_and_are_counted_apart() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().with_rate_limited(1).with_server_errors(1).with_hang_reads(1));
    let limited = h.get(&content(&id)).await?;
    assert_eq!((limited.status, &limited.headers["retry-after"]), (StatusCode::TOO_MANY_REQUESTS, &"2".parse()?));
    assert_eq!(str_at(&limited.json, "/error/type"), "rate_limit_error");
    // The faults are the job's, not the path's: the record read takes the next one.
    let record = h.get(&format!("/v1/videos/{id}")).await?;
    assert_eq!(record.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(str_at(&record.json, "/error/type"), "server_error");
    let hung = h.client.get(h.url(&content(&id))).bearer_auth(TOKEN).timeout(Duration::from_millis(200)).send().await;
    assert!(hung.is_err_and(|e| e.is_timeout()));
    assert_eq!(h.get(&content(&id)).await?.status, StatusCode::BAD_REQUEST);

    let anonymous = h.send(h.client.get(h.url(&content(&id)))).await?;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(str_at(&anonymous.json, "/error/type"), "authentication_error");

    let stats = h.sandbox.stats();
    assert_eq!((stats.token360_content, stats.token360, stats.token360_list), (4, 1, 0));
    assert_eq!((stats.rate_limited_answers, stats.server_error_answers, stats.hung_answers), (1, 1, 1));
    assert_eq!(stats.total, 5);
    Ok(())
}

#[tokio::test]
async fn a_lagging_replica_refuses_content_it_does_not_know_is_done() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().with_record_lag(Duration::from_secs(30)));
    h.advance(100);
    assert_refused(
        &h.get(&content(&id)).await?,
        "Video is not ready yet. Current status: in_progress",
        "video_not_ready",
    );
    h.advance(30);
    assert_eq!(h.get(&content(&id)).await?.status, StatusCode::OK);
    let stats = h.sandbox.stats();
    assert_eq!((stats.token360_content, stats.token360), (2, 0));
    Ok(())
}
