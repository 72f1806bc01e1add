//! Injected faults: auth, 429, 503, slow reads, cut-off downloads, expired URLs, and the counts.

use std::time::{Duration, Instant};

use genjob_sandbox::JobSpec;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TOKEN, TestResult, encode, expires_of, start, str_at};

#[tokio::test]
async fn requests_without_the_right_token_get_401_in_each_providers_envelope() -> TestResult {
    let h = start().await?;
    let dreamina = h.sandbox.add_job(JobSpec::dreamina_video());
    let flow = h.sandbox.add_job(JobSpec::google_flow_video());
    let video = h.sandbox.add_job(JobSpec::token360_video());
    let useapi_paths = [
        format!("/v1/dreamina/videos/{}", encode(&dreamina)),
        "/v1/dreamina/scheduler".to_owned(),
        format!("/v1/google-flow/jobs/{}", encode(&flow)),
    ];
    for path in &useapi_paths {
        for request in [h.client.get(h.url(path)), h.client.get(h.url(path)).bearer_auth("wrong-token")] {
            let answer = h.send(request).await?;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(answer.json, json!({ "error": "Unauthorized" }));
        }
    }
    let answer = h.send(h.client.get(h.url(&format!("/v1/videos/{video}")))).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(str_at(&answer.json, "/error/type"), "authentication_error");
    assert_eq!(str_at(&answer.json, "/error/code"), "invalid_api_key");
    assert!(answer.json["error"]["param"].is_null());
    assert!(!answer.json.to_string().contains(TOKEN));

    assert_eq!(h.sandbox.stats().unauthorized_answers, 7);
    // With the token, the same job reads fine.
    assert_eq!(h.get(&useapi_paths[0]).await?.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn rate_limited_reads_answer_429_with_retry_after_then_succeed() -> TestResult {
    let h = start().await?;
    let dreamina = h.sandbox.add_job(JobSpec::dreamina_image().with_rate_limited(2));
    let video = h.sandbox.add_job(JobSpec::token360_video().with_rate_limited(1));
    let path = format!("/v1/dreamina/images/{}", encode(&dreamina));
    for _ in 0..2 {
        let answer = h.get(&path).await?;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers["retry-after"], "2");
        assert_eq!(answer.json["retryAfter"], 2);
        assert!(answer.json["error"].is_string());
    }
    assert_eq!(h.get(&path).await?.status, StatusCode::OK);

    let answer = h.get(&format!("/v1/videos/{video}")).await?;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.headers["retry-after"], "2");
    assert_eq!(str_at(&answer.json, "/error/type"), "rate_limit_error");
    assert_eq!(h.get(&format!("/v1/videos/{video}")).await?.status, StatusCode::OK);

    let stats = h.sandbox.stats();
    assert_eq!(stats.rate_limited_answers, 3);
    assert_eq!((stats.dreamina_images, stats.token360), (3, 2));
    Ok(())
}

#[tokio::test]
async fn server_errors_answer_503_then_succeed() -> TestResult {
    let h = start().await?;
    let flow = h.sandbox.add_job(JobSpec::google_flow_image().with_server_errors(1));
    let video = h.sandbox.add_job(JobSpec::token360_video().with_server_errors(1));
    let path = format!("/v1/google-flow/jobs/{}", encode(&flow));
    let answer = h.get(&path).await?;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json, json!({ "error": "Service unavailable" }));
    assert_eq!(h.get(&path).await?.status, StatusCode::OK);

    let answer = h.get(&format!("/v1/videos/{video}")).await?;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.json["error"]["message"].is_string());
    assert_eq!(h.get(&format!("/v1/videos/{video}")).await?.status, StatusCode::OK);
    assert_eq!(h.sandbox.stats().server_error_answers, 2);
    Ok(())
}

#[tokio::test]
async fn slow_jobs_delay_every_read() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().with_slow(Duration::from_millis(150)));
    let started = Instant::now();
    assert_eq!(h.get(&format!("/v1/videos/{id}")).await?.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    Ok(())
}

#[tokio::test]
async fn a_truncated_download_announces_the_full_length_and_fails_on_the_client() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().with_truncated_download());
    h.advance(91);
    let record = h.record(&format!("/v1/videos/{id}")).await?;
    let response = h.client.get(str_at(&record, "/url")).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(64 * 1024));
    assert!(response.bytes().await.is_err());
    Ok(())
}

#[tokio::test]
async fn expired_urls_get_403_and_a_fresh_read_hands_out_a_working_url() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video());
    let short = h.sandbox.add_job(JobSpec::dreamina_video().with_expire_urls_after(Duration::from_secs(60)));
    h.advance(106);
    let path = format!("/v1/dreamina/videos/{}", encode(&id));
    let old = str_at(&h.record(&path).await?, "/response/videoUrl").to_owned();
    let now = h.sandbox.clock().now().as_second();
    assert!((now + 6 * 3600 - expires_of(&old)).abs() <= 1, "{old}");

    h.advance(6 * 3600 + 2);
    assert_eq!(h.client.get(&old).send().await?.status(), StatusCode::FORBIDDEN);
    let fresh = str_at(&h.record(&path).await?, "/response/videoUrl").to_owned();
    assert!(expires_of(&fresh) > expires_of(&old));
    assert_eq!(h.client.get(&fresh).send().await?.status(), StatusCode::OK);

    let short_path = format!("/v1/dreamina/videos/{}", encode(&short));
    let url = str_at(&h.record(&short_path).await?, "/response/videoUrl").to_owned();
    assert_eq!(h.client.get(&url).send().await?.status(), StatusCode::OK);
    h.advance(61);
    assert_eq!(h.client.get(&url).send().await?.status(), StatusCode::FORBIDDEN);

    // Unsigned or unfinished files are refused as well.
    let unsigned = url.split('?').next().unwrap_or_default();
    assert_eq!(h.client.get(unsigned).send().await?.status(), StatusCode::FORBIDDEN);
    assert_eq!(h.sandbox.stats().expired_url_answers, 2);
    Ok(())
}

#[tokio::test]
async fn files_of_unfinished_jobs_are_not_found() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video());
    h.advance(91);
    let url = str_at(&h.record(&format!("/v1/videos/{id}")).await?, "/url").to_owned();
    h.sandbox.add_job(JobSpec::token360_video());
    // The next job's serial is one more than the finished one's; it has no file yet.
    let (base, query) = url.split_once('?').unwrap_or_default();
    let serial: u64 =
        base.rsplit('/').next().and_then(|n| n.split('-').next()).and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
    let next = format!("{}/files/{}-video-0.mp4?{query}", h.sandbox.base_url(), serial + 1);
    assert_eq!(h.client.get(&next).send().await?.status(), StatusCode::NOT_FOUND);
    let second = format!("{}/files/{serial}-video-1.mp4?{query}", h.sandbox.base_url());
    assert_eq!(h.client.get(&second).send().await?.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn stats_count_each_endpoint_and_file_requests_that_carry_a_token() -> TestResult {
    let h = start().await?;
    let video = h.sandbox.add_job(JobSpec::dreamina_video());
    let image = h.sandbox.add_job(JobSpec::dreamina_image());
    let flow = h.sandbox.add_job(JobSpec::google_flow_image());
    let task = h.sandbox.add_job(JobSpec::token360_video());
    h.advance(200);
    h.record(&format!("/v1/dreamina/videos/{}", encode(&video))).await?;
    let record = h.record(&format!("/v1/dreamina/images/{}", encode(&image))).await?;
    h.record(&format!("/v1/dreamina/images/{}", encode(&image))).await?;
    h.record(&format!("/v1/google-flow/jobs/{}", encode(&flow))).await?;
    h.record(&format!("/v1/videos/{task}")).await?;
    h.record("/v1/dreamina/scheduler").await?;
    assert_eq!(h.get("/v1/no/such/path").await?.status, StatusCode::NOT_FOUND);

    let url = str_at(&record, "/response/images/0/imageUrl");
    assert_eq!(h.client.get(url).send().await?.status(), StatusCode::OK);
    assert_eq!(h.sandbox.stats().files_with_authorization, 0);
    // A client that sends its token to the file host is caught.
    assert_eq!(h.client.get(url).bearer_auth(TOKEN).send().await?.status(), StatusCode::OK);

    let stats = h.sandbox.stats();
    assert_eq!(
        (stats.dreamina_videos, stats.dreamina_images, stats.google_flow, stats.token360, stats.scheduler),
        (1, 2, 1, 1, 1)
    );
    assert_eq!((stats.files, stats.files_with_authorization), (2, 1));
    assert_eq!(stats.total, 9);
    assert_eq!((stats.rate_limited_answers, stats.unauthorized_answers), (0, 0));
    Ok(())
}
