//! `GET /v1/videos/{video_id}/content`: a JSON link or the file's bytes, as each server shape answers.
//!
//! token360 documents a JSON link (`{"url", "video_id", "expires_in"}`, PROVIDER_FACTS.md); OpenAI
//! answers the file itself, picked by `variant` (openai-python's `download_content`). A
//! documented-style video always gets the link. An OpenAI-style video gets the bytes, whatever the
//! request accepts, as OpenAI answers (genjob's token360 adapter decides by the answer).

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::Reply;
use super::answers::openai_error_body;
use crate::render::RenderContext;
use crate::store::Job;
use crate::token360::{self, Content, ContentVariant};

/// What a `/content` request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ContentRequest {
    /// The asked-for file; `None` for a `variant` OpenAI does not offer (answered 400).
    pub variant: Option<ContentVariant>,
}

impl ContentRequest {
    /// Reads the `variant` query parameter (the `Accept` header changes nothing, as at OpenAI).
    pub(super) fn new(_headers: &HeaderMap, query: Option<&str>) -> ContentRequest {
        ContentRequest { variant: ContentVariant::from_query(query) }
    }
}

/// `/content` of a job: its link or bytes once completed, else a 400 that says why there is no file.
///
/// 400 `invalid_request_error` as OpenAI-style servers answer a request the job's state cannot
/// serve (PROVIDER_FACTS.md quotes the message); 409 would be as defensible, but is not what they send.
/// `sizes` are the video and image file sizes.
pub(super) fn content_answer(
    job: &Job,
    cx: &RenderContext<'_>,
    request: ContentRequest,
    (video_len, image_len): (usize, usize),
) -> Reply {
    let variant = request.variant.unwrap_or(ContentVariant::Video);
    match token360::content(job, cx) {
        Content::Ready(link) if !job.openai_style => Reply::Answer(StatusCode::OK, link),
        Content::Ready(_) => Reply::File {
            content_type: variant.content_type(),
            body: variant.bytes(job, video_len, image_len),
            truncate: job.truncate_download,
        },
        Content::NotReady(status) => {
            not_ready(format!("Video is not ready yet. Current status: {status}"), "video_not_ready")
        }
        Content::Failed(reason) => not_ready(
            format!("Video generation failed, so there is no content to download ({reason}). Current status: failed"),
            "video_failed",
        ),
    }
}

fn not_ready(message: String, code: &str) -> Reply {
    let body: Value = openai_error_body(&message, "invalid_request_error", None, Some(code));
    Reply::Answer(StatusCode::BAD_REQUEST, body)
}
