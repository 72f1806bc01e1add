//! Google Flow job records (seed 003): created → started → completed/failed.

use genjob_sandbox::{Failure, JobSpec};
use jiff::Timestamp;
use reqwest::StatusCode;

use crate::support::{NOWHERE, TestResult, encode, keys, start, str_at};

const VIDEO_REQUEST: [&str; 8] = ["email", "prompt", "model", "aspectRatio", "count", "seed", "async", "replyUrl"];
const COMPLETED: [&str; 7] = ["jobid", "type", "status", "created", "updated", "request", "response"];
const VIDEO_MEDIA: [&str; 9] = [
    "name",
    "projectId",
    "workflowId",
    "workflowStepId",
    "mediaMetadata",
    "video",
    "mediaGenerationId",
    "videoUrl",
    "thumbnailUrl",
];
const MEDIA_METADATA: [&str; 5] = ["createTime", "mediaTitle", "requestData", "mediaStatus", "visibility"];
const GENERATED_VIDEO: [&str; 6] = ["seed", "prompt", "model", "baseImageMediaGenerationId", "isLooped", "aspectRatio"];
const CAPTCHA: [&str; 4] = ["service", "taskId", "durationMs", "attempts"];
const FAILED: [&str; 9] = ["jobid", "type", "status", "created", "updated", "request", "error", "code", "response"];

fn path(id: &str) -> String {
    format!("/v1/google-flow/jobs/{}", encode(id))
}

#[tokio::test]
async fn video_goes_created_started_completed_in_the_documented_shapes() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::google_flow_video().with_email("john@gmail.com").with_reply_url(NOWHERE));

    let created = h.record(&path(&id)).await?;
    assert_eq!(keys(&created), ["jobid", "type", "status", "created", "request"]);
    assert_eq!(keys(&created["request"]), VIDEO_REQUEST);
    assert_eq!(str_at(&created, "/status"), "created");
    assert_eq!(str_at(&created, "/request/email"), "jo***@gmail.com");
    assert_eq!(str_at(&created, "/request/model"), "veo-3.1-fast");
    // j + 13-digit creation millis + type letter + masked account.
    let millis = str_at(&created, "/created").parse::<Timestamp>()?.as_millisecond();
    assert_eq!(id, format!("j{millis:013}v-u12345-email:jo***@gmail.com-bot:google-flow"));

    h.advance(13);
    let started = h.record(&path(&id)).await?;
    assert_eq!(keys(&started), ["jobid", "type", "status", "created", "updated", "request"]);
    assert_eq!(str_at(&started, "/status"), "started");

    h.advance(110);
    let done = h.record(&path(&id)).await?;
    assert_eq!(keys(&done), COMPLETED);
    assert_eq!(str_at(&done, "/status"), "completed");
    assert_eq!(keys(&done["response"]), ["media", "remainingCredits", "captcha"]);
    assert_eq!(keys(&done["response"]["captcha"]), CAPTCHA);
    let media = &done["response"]["media"][0];
    assert_eq!(keys(media), VIDEO_MEDIA);
    assert_eq!(keys(&media["mediaMetadata"]), MEDIA_METADATA);
    assert_eq!(keys(&media["video"]), ["generatedVideo", "dimensions", "operation"]);
    assert_eq!(keys(&media["video"]["generatedVideo"]), GENERATED_VIDEO);
    assert_eq!(str_at(media, "/video/dimensions/length"), "8s");
    assert_eq!(str_at(media, "/mediaMetadata/mediaStatus/mediaGenerationStatus"), "MEDIA_GENERATION_STATUS_SUCCESSFUL");
    assert_eq!(str_at(media, "/mediaMetadata/createTime").len(), "2026-05-20T23:14:02.931677Z".len());

    let video = h.client.get(str_at(media, "/videoUrl")).send().await?;
    assert_eq!(video.headers()["content-type"], "video/mp4");
    assert_eq!(video.bytes().await?.len(), 64 * 1024);
    let thumb = h.client.get(str_at(media, "/thumbnailUrl")).send().await?;
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    Ok(())
}

#[tokio::test]
async fn image_completes_with_generated_images() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::google_flow_image().with_outputs(3));
    assert!(id.contains("i-u12345-email:us***@example.com-bot:google-flow"), "{id}");
    h.advance(16);
    let done = h.record(&path(&id)).await?;
    assert_eq!(keys(&done), COMPLETED);
    assert_eq!(str_at(&done, "/type"), "image");
    assert_eq!(keys(&done["request"]), ["email", "prompt", "model", "aspectRatio", "count"]);
    assert_eq!(keys(&done["response"]), ["media", "captcha"]);
    let media = done["response"]["media"].as_array().cloned().unwrap_or_default();
    assert_eq!(media.len(), 3);
    for item in &media {
        assert_eq!(keys(item), ["name", "image"]);
        assert_eq!(keys(&item["image"]), ["generatedImage"]);
        assert_eq!(keys(&item["image"]["generatedImage"]), ["seed", "mediaGenerationId", "fifeUrl", "prompt"]);
        let file = h.client.get(str_at(item, "/image/generatedImage/fifeUrl")).send().await?;
        assert_eq!(file.status(), StatusCode::OK);
        assert_eq!(file.bytes().await?.len(), 16 * 1024);
    }
    Ok(())
}

#[tokio::test]
async fn failure_has_error_code_and_response_error() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::google_flow_image().failing(Failure::new(500, "API error: 500")));
    h.advance(16);
    let failed = h.record(&path(&id)).await?;
    assert_eq!(keys(&failed), FAILED);
    assert_eq!(str_at(&failed, "/error"), "API error: 500");
    assert_eq!(failed["code"], 500);
    assert_eq!(
        failed["response"],
        serde_json::json!({ "error": { "code": 500, "message": "Internal error encountered.", "status": "INTERNAL" } })
    );

    let unknown = h.get(&path("j1731859234567v-u1-email:no***@example.com-bot:google-flow")).await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json, serde_json::json!({ "error": "Job not found" }));
    Ok(())
}
