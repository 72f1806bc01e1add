//! token360 records shaped like OpenAI's video object: every field kept, normalized sensibly.

use genjob_models::{Endpoint, ErrorCategory, JobStatus, OutputKind, ProviderRecord};
use serde_json::json;

fn record(value: serde_json::Value) -> ProviderRecord {
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    ProviderRecord::from_slice(Endpoint::Token360Videos, &bytes).unwrap_or_else(|e| panic!("{e}: {value}"))
}

#[test]
fn an_openai_style_completed_video_round_trips_and_normalizes() {
    let sent = json!({
        "id": "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5",
        "object": "video", "model": "sora-2", "status": "completed", "progress": 100,
        "created_at": 1_758_941_485, "completed_at": 1_758_941_601, "expires_at": 1_759_027_885,
        "seconds": "8", "size": "1280x720", "remixed_from_video_id": null, "error": null,
        "url": "https://cdn.example/v.mp4?sig=1",
    });
    let parsed = record(sent.clone());
    assert_eq!(parsed.to_value(), sent, "lossless, nulls included");
    let job = parsed.normalize();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.updated_at.map(|t| t.as_second()), Some(1_758_941_601), "updated_at from completed_at");
    let video = &job.outputs[0];
    assert_eq!(video.kind, OutputKind::Video);
    assert_eq!((video.width, video.height, video.duration_ms), (Some(1280), Some(720), Some(8000)));
    assert_eq!(video.expires_at.map(|t| t.as_second()), Some(1_759_027_885));
}

#[test]
fn a_record_without_a_url_has_no_output_yet() {
    // OpenAI's own object carries no URL: the file comes from `/content`, which the adapter resolves.
    let job = record(json!({"id": "video_1", "object": "video", "status": "completed", "created_at": 1})).normalize();
    assert_eq!(job.status, JobStatus::Completed);
    assert!(job.outputs.is_empty());
}

#[test]
fn openai_style_error_codes_are_classified() {
    let cases = [
        (json!({"code": "moderation_blocked", "message": "blocked"}), ErrorCategory::ContentFiltered, false),
        (json!({"code": "content_policy_violation", "message": "no"}), ErrorCategory::ContentFiltered, false),
        (json!({"code": "rate_limit_exceeded", "message": "slow down"}), ErrorCategory::Upstream, true),
        (json!({"type": "server_error", "message": "oops", "code": null}), ErrorCategory::Upstream, true),
        (json!({"code": "insufficient_balance", "message": "pay"}), ErrorCategory::Account, false),
        (json!({"code": "video_generation_timeout", "message": "slow"}), ErrorCategory::TimedOut, true),
        (json!({"code": "something_new", "message": "?"}), ErrorCategory::Unknown, false),
    ];
    for (error, category, retryable) in cases {
        let job = record(json!({"id": "video_1", "status": "failed", "error": error.clone()})).normalize();
        let e = job.error.unwrap_or_else(|| panic!("{error}: no error"));
        assert_eq!((e.category, e.retryable), (category, retryable), "{error}");
    }
}
