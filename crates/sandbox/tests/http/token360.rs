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

/// OpenAI's video object (openai-python `types/video.py`), strictly: an unknown key fails the parse.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct OpenAiVideo {
    id: String,
    object: String,
    status: String,
    model: String,
    progress: i64,
    created_at: i64,
    completed_at: Option<i64>,
    expires_at: Option<i64>,
    seconds: String,
    size: String,
    remixed_from_video_id: Option<String>,
    error: Option<OpenAiVideoError>,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct OpenAiVideoError {
    code: String,
    message: String,
}

/// Parses `record` as OpenAI's video object and checks that writing it back gives the same JSON.
fn openai_video(record: &serde_json::Value) -> Result<OpenAiVideo, serde_json::Error> {
    let video: OpenAiVideo = serde_json::from_value(record.clone())?;
    assert_eq!(&serde_json::to_value(&video)?, record, "not lossless");
    Ok(video)
}

const OPENAI_KEYS: [&str; 12] = [
    "id",
    "object",
    "status",
    "model",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "seconds",
    "size",
    "remixed_from_video_id",
    "error",
];

#[tokio::test]
async fn an_openai_style_video_has_openais_fields_and_no_url_at_every_stage() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().with_openai_style());

    let queued = h.record(&path(&id)).await?;
    assert_eq!(keys(&queued), OPENAI_KEYS);
    let video = openai_video(&queued)?;
    assert_eq!((video.object.as_str(), video.status.as_str(), video.progress), ("video", "queued", 0));
    assert_eq!((video.seconds.as_str(), video.size.as_str()), ("8", "1280x720"));
    assert_eq!((video.completed_at, video.expires_at), (None, None));
    assert!(video.remixed_from_video_id.is_none() && video.error.is_none());
    assert!(queued["completed_at"].is_null() && queued["error"].is_null());

    h.advance(50);
    let running_record = h.record(&path(&id)).await?;
    assert_eq!(keys(&running_record), OPENAI_KEYS);
    let running = openai_video(&running_record)?;
    assert_eq!((running.status.as_str(), running.progress, running.completed_at), ("in_progress", 50, None));

    h.advance(40);
    let done_record = h.record(&path(&id)).await?;
    assert_eq!(keys(&done_record), OPENAI_KEYS);
    assert!(done_record.get("url").is_none() && done_record.get("video_url").is_none(), "{done_record}");
    let done = openai_video(&done_record)?;
    assert_eq!((done.status.as_str(), done.progress), ("completed", 100));
    assert_eq!(done.completed_at.map(|at| at - done.created_at), Some(90));
    // The file stays downloadable for an hour after completion.
    assert_eq!(done.expires_at.zip(done.completed_at).map(|(expires, completed)| expires - completed), Some(3600));
    assert_eq!((done.id.as_str(), done.model.as_str()), (id.as_str(), "seedance-2.0"));
    Ok(())
}

#[tokio::test]
async fn a_failed_openai_style_video_has_an_error_object_and_no_expiry() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(
        JobSpec::token360_video().with_openai_style().failing(Failure::new(400, "The video did not pass moderation.")),
    );
    h.advance(91);
    let record = h.record(&path(&id)).await?;
    assert_eq!(keys(&record), OPENAI_KEYS);
    assert_eq!(record["error"], serde_json::json!({ "code": "400", "message": "The video did not pass moderation." }));
    let failed = openai_video(&record)?;
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.completed_at.map(|at| at - failed.created_at), Some(90));
    assert_eq!(failed.expires_at, None);
    assert!((0..100).contains(&failed.progress), "{record}");
    Ok(())
}

#[tokio::test]
async fn the_control_endpoint_takes_openai_style() -> TestResult {
    let h = start().await?;
    let added = h
        .send(
            h.client
                .post(h.url("/_sandbox/jobs"))
                .bearer_auth(crate::support::TOKEN)
                .header("content-type", "application/json")
                .body(r#"{"kind":"token360-video","openai_style":true}"#),
        )
        .await?;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.json);
    assert_eq!(keys(&h.record(&path(str_at(&added.json, "/id"))).await?), OPENAI_KEYS);
    Ok(())
}
