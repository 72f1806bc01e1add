//! token360 OpenAI-style video objects (seed 002): queued → in_progress → completed/failed.

use genjob_sandbox::{Failure, JobSpec};
use reqwest::StatusCode;

use crate::support::{TestResult, keys, start, str_at};

const COMPLETED: [&str; 13] = [
    "id",
    "object",
    "status",
    "model",
    "prompt",
    "created_at",
    "updated_at",
    "duration",
    "resolution",
    "progress",
    "parameters",
    "url",
    "video_url",
];

fn path(id: &str) -> String {
    format!("/v1/videos/{id}")
}

#[tokio::test]
async fn video_is_queued_then_progresses_then_completes_with_urls() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video());
    assert!(id.starts_with("video_") && id.len() > 20, "{id}");

    let queued = h.record(&path(&id)).await?;
    assert_eq!(str_at(&queued, "/status"), "queued");
    assert_eq!(queued["progress"], 0);
    assert_eq!(str_at(&queued, "/object"), "video");
    assert!(queued.get("url").is_none() && queued.get("duration").is_none());

    // 90 s job: in_progress from 9 s, progress linear over the remaining 81 s.
    h.advance(9);
    let running = h.record(&path(&id)).await?;
    assert_eq!(str_at(&running, "/status"), "in_progress");
    assert_eq!(running["progress"], 0);
    h.advance(41);
    let running = h.record(&path(&id)).await?;
    assert_eq!(running["progress"], 50);
    assert!(running["updated_at"].as_i64() > running["created_at"].as_i64());

    h.advance(40);
    let done = h.record(&path(&id)).await?;
    assert_eq!(keys(&done), COMPLETED);
    assert_eq!(str_at(&done, "/status"), "completed");
    assert_eq!(done["progress"], 100);
    assert_eq!(done["updated_at"].as_i64().zip(done["created_at"].as_i64()).map(|(u, c)| u - c), Some(90));
    assert_eq!(done["url"], done["video_url"]);
    assert_eq!(keys(&done["parameters"]), ["duration", "resolution", "aspect_ratio"]);
    let file = h.client.get(str_at(&done, "/url")).send().await?;
    assert_eq!(file.headers()["content-type"], "video/mp4");
    assert_eq!(file.bytes().await?.len(), 64 * 1024);
    Ok(())
}

#[tokio::test]
async fn failed_task_reports_error_code_and_message() -> TestResult {
    let h = start().await?;
    let id =
        h.sandbox.add_job(JobSpec::token360_video().failing(Failure::new(400, "The video did not pass moderation.")));
    h.advance(91);
    let failed = h.record(&path(&id)).await?;
    assert_eq!(str_at(&failed, "/status"), "failed");
    assert_eq!(failed["error"], serde_json::json!({ "code": "400", "message": "The video did not pass moderation." }));
    assert!(failed.get("url").is_none());
    Ok(())
}

#[tokio::test]
async fn stuck_task_stays_queued_and_unknown_ids_get_the_openai_envelope() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().stuck());
    h.advance(10 * 3600);
    assert_eq!(str_at(&h.record(&path(&id)).await?, "/status"), "queued");

    let unknown = h.get(&path("video_nope")).await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(keys(&unknown.json["error"]), ["message", "type", "param", "code"]);
    assert_eq!(str_at(&unknown.json, "/error/type"), "invalid_request_error");
    assert_eq!(str_at(&unknown.json, "/error/code"), "not_found");
    Ok(())
}
