//! token360's video endpoints: the video object in its two shapes, `/content` links and the list.
//!
//! token360 documents its own video object (seed 002: `url`, `video_url`, `duration`, ...) and
//! calls itself OpenAI-style. A job made with [`JobSpec::with_openai_style`](crate::JobSpec::with_openai_style)
//! is rendered as OpenAI's own video object instead (openai-python `types/video.py`), whose file
//! comes only from `GET /v1/videos/{video_id}/content`. Records of either shape must parse, so the
//! sandbox serves both. `/content` answers as each shape's server does: token360's documented JSON
//! link for a documented-style video, the file's bytes per [`ContentVariant`] for an OpenAI-style one.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::files::{self, FileName, OutputKind};
use crate::render::{RenderContext, VIDEO_SECONDS, unix_secs};
use crate::spec::Provider;
use crate::store::{Failed, Job, Stage, splitmix64};

/// How long a `/content` link works unless the job sets its own URL lifetime
/// (PROVIDER_FACTS.md: token360's download URLs have `expires_in` 3600 s).
pub(crate) const CONTENT_URL_LIFETIME_MS: i64 = 60 * 60 * 1000;

/// How long after completion an OpenAI-style video's file stays downloadable, as its `expires_at` says.
///
/// The same hour as a `/content` link. The sandbox only reports it: `/content` keeps answering later.
const ASSET_LIFETIME_MS: i64 = 60 * 60 * 1000;

/// OpenAI's `seconds` is one of `"4"`, `"8"` or `"12"`; the sandbox's clips are all the middle one.
const OPENAI_SECONDS: &str = "8";

/// OpenAI's `size` for a landscape 720p clip, the frame of token360's `"720p"` at 16:9.
const OPENAI_SIZE: &str = "1280x720";

/// Page size of `GET /v1/videos` when the request gives no `limit` (OpenAI's list default).
pub(crate) const DEFAULT_LIST_LIMIT: usize = 20;

/// Largest page of `GET /v1/videos`; a larger `limit` is clamped to it (OpenAI's list maximum).
pub(crate) const MAX_LIST_LIMIT: usize = 100;

/// The status word token360 and OpenAI share for a stage.
fn status(stage: Stage<'_>) -> &'static str {
    match stage {
        Stage::Waiting => "queued",
        Stage::Running { .. } => "in_progress",
        Stage::Completed { .. } => "completed",
        Stage::Failed { .. } => "failed",
    }
}

/// The `error.code` (as text, like the documented record) and `error.message` of a failure.
fn failure_parts(failure: Failed<'_>) -> (String, &str) {
    match failure {
        Failed::Spec(failure) => (failure.code.to_string(), failure.error.as_str()),
        Failed::TimedOut => ("408".to_owned(), "Generation timed out"),
    }
}

/// The video object for `/v1/videos/{video_id}` and the list, in the job's chosen shape.
pub(crate) fn record(job: &Job, cx: &RenderContext<'_>) -> Value {
    record_at(job, job.stage(cx.now_ms, cx.timeout_lag_ms), cx)
}

/// The video object showing `stage` (true or not) at the context's moment.
pub(crate) fn record_at(job: &Job, stage: Stage<'_>, cx: &RenderContext<'_>) -> Value {
    if job.openai_style { openai_video(job, stage, cx) } else { documented_video(job, stage, cx) }
}

/// token360's documented video object (seed 002), with `url` and `video_url` when completed.
fn documented_video(job: &Job, stage: Stage<'_>, cx: &RenderContext<'_>) -> Value {
    let updated_ms = match stage {
        Stage::Waiting => job.created_ms,
        Stage::Running { since_ms } => {
            // Report when the current whole percent was reached, so updated_at moves with progress.
            let span = job.created_ms.saturating_add(job.duration_ms) - since_ms;
            since_ms.saturating_add(span / 100 * progress(job, since_ms, cx.now_ms))
        }
        Stage::Completed { at_ms } | Stage::Failed { at_ms, .. } => at_ms,
    };
    let mut record = Map::new();
    record.insert("id".into(), json!(job.id));
    record.insert("object".into(), json!("video"));
    record.insert("status".into(), json!(status(stage)));
    record.insert("model".into(), json!(job.model));
    record.insert("prompt".into(), json!(job.prompt));
    record.insert("created_at".into(), json!(unix_secs(job.created_ms)));
    record.insert("updated_at".into(), json!(unix_secs(updated_ms)));
    if matches!(stage, Stage::Completed { .. }) {
        record.insert("duration".into(), json!(VIDEO_SECONDS));
    }
    record.insert("resolution".into(), json!("720p"));
    match stage {
        Stage::Waiting => {
            record.insert("progress".into(), json!(0));
        }
        Stage::Running { since_ms } => {
            record.insert("progress".into(), json!(progress(job, since_ms, cx.now_ms)));
        }
        Stage::Completed { .. } => {
            record.insert("progress".into(), json!(100));
        }
        Stage::Failed { .. } => {}
    }
    let mut parameters = json!({ "duration": VIDEO_SECONDS, "resolution": "720p", "aspect_ratio": "16:9" });
    // `parameters` echoes the submit's parameters, and the callback URL is one of them.
    if let (Some(url), Value::Object(map)) = (&job.reply_url, &mut parameters) {
        map.insert("callback_url".into(), json!(url));
    }
    record.insert("parameters".into(), parameters);
    match stage {
        Stage::Completed { .. } => {
            let url = cx.file_url(job, OutputKind::Video, 0);
            record.insert("url".into(), json!(url));
            record.insert("video_url".into(), json!(url));
        }
        Stage::Failed { failure, .. } => {
            let (code, message) = failure_parts(failure);
            record.insert("error".into(), json!({ "code": code, "message": message }));
        }
        Stage::Waiting | Stage::Running { .. } => {}
    }
    Value::Object(record)
}

/// OpenAI's video object: every field always present (`null` when it does not apply yet), no URL.
fn openai_video(job: &Job, stage: Stage<'_>, cx: &RenderContext<'_>) -> Value {
    let progress = match stage {
        Stage::Waiting => 0,
        Stage::Running { since_ms } => progress(job, since_ms, cx.now_ms),
        Stage::Completed { .. } => 100,
        // OpenAI's `progress` is never absent; a failed job shows how far it got.
        Stage::Failed { at_ms, .. } => progress(job, job.running_since_ms(), at_ms),
    };
    let (completed_at, expires_at, error) = match stage {
        Stage::Waiting | Stage::Running { .. } => (Value::Null, Value::Null, Value::Null),
        Stage::Completed { at_ms } => {
            (json!(unix_secs(at_ms)), json!(unix_secs(at_ms.saturating_add(ASSET_LIFETIME_MS))), Value::Null)
        }
        // A failed job finished too (`completed_at` is "when the job completed, if finished"),
        // but has no file to expire.
        Stage::Failed { at_ms, failure } => {
            let (code, message) = failure_parts(failure);
            (json!(unix_secs(at_ms)), Value::Null, json!({ "code": code, "message": message }))
        }
    };
    json!({
        "id": job.id,
        "object": "video",
        "status": status(stage),
        "model": job.model,
        "progress": progress,
        "created_at": unix_secs(job.created_ms),
        "completed_at": completed_at,
        "expires_at": expires_at,
        "seconds": OPENAI_SECONDS,
        "size": OPENAI_SIZE,
        "remixed_from_video_id": null,
        "error": error,
    })
}

/// Linear progress over the running phase, rounded down and below 100 until completion.
fn progress(job: &Job, since_ms: i64, now_ms: i64) -> i64 {
    let span = job.created_ms.saturating_add(job.duration_ms) - since_ms;
    if span <= 0 {
        return 99;
    }
    let done = now_ms.saturating_sub(since_ms).clamp(0, span);
    // i128 because span × 100 overflows i64 for absurdly long jobs.
    let percent = i128::from(done) * 100 / i128::from(span);
    i64::try_from(percent).unwrap_or(99).clamp(0, 99)
}

/// What `GET /v1/videos/{video_id}/content` answers for a job, at the context's moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Content {
    /// Completed: `{"url", "video_id", "expires_in"}`.
    Ready(Value),
    /// Not finished yet; carries the current status (`queued` or `in_progress`).
    NotReady(&'static str),
    /// Failed: there is no file; carries the failure's message.
    Failed(String),
}

/// The `/content` answer: a signed file URL valid for `expires_in` seconds, once the video is done.
pub(crate) fn content(job: &Job, cx: &RenderContext<'_>) -> Content {
    match job.stage(cx.now_ms, cx.timeout_lag_ms) {
        Stage::Completed { .. } => {
            // A job's own URL lifetime fault applies here too, and `expires_in` tells the truth about it.
            let lifetime_ms = job.url_lifetime_ms.unwrap_or(CONTENT_URL_LIFETIME_MS);
            let url = cx.signed_file_url(job, OutputKind::Video, 0, lifetime_ms);
            Content::Ready(json!({ "url": url, "video_id": job.id, "expires_in": lifetime_ms / 1000 }))
        }
        Stage::Failed { failure, .. } => Content::Failed(failure_parts(failure).1.to_owned()),
        stage @ (Stage::Waiting | Stage::Running { .. }) => Content::NotReady(status(stage)),
    }
}

/// Which file `GET /v1/videos/{video_id}/content?variant=` asks for (OpenAI's `variant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentVariant {
    /// The MP4 video, the default.
    Video,
    /// A WebP still of the video.
    Thumbnail,
    /// A JPEG grid of frames.
    Spritesheet,
}

impl ContentVariant {
    /// The `variant` of a query string (the video without one); `None` for a value OpenAI does not offer.
    pub(crate) fn from_query(query: Option<&str>) -> Option<ContentVariant> {
        let value = query.unwrap_or_default().split('&').find_map(|pair| pair.strip_prefix("variant="));
        match value {
            None | Some("video") => Some(ContentVariant::Video),
            Some("thumbnail") => Some(ContentVariant::Thumbnail),
            Some("spritesheet") => Some(ContentVariant::Spritesheet),
            Some(_) => None,
        }
    }

    /// The `Content-Type` OpenAI answers the variant with.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            ContentVariant::Video => "video/mp4",
            ContentVariant::Thumbnail => "image/webp",
            ContentVariant::Spritesheet => "image/jpeg",
        }
    }

    /// The variant's bytes for `job`: the video is the very file a `/content` link names.
    pub(crate) fn bytes(self, job: &Job, video_len: usize, image_len: usize) -> Bytes {
        match self {
            ContentVariant::Video => {
                files::contents(&FileName { serial: job.serial, output: OutputKind::Video, index: 0 }, video_len)
            }
            ContentVariant::Thumbnail => {
                files::pseudo_random(files::WEBP_MAGIC, splitmix64(job.serial ^ 0x7b), image_len)
            }
            ContentVariant::Spritesheet => {
                files::pseudo_random(files::JPEG_MAGIC, splitmix64(job.serial ^ 0x5b5), image_len)
            }
        }
    }
}

/// The token360 jobs that exist at `at_ms`, newest first.
///
/// Creation times tie often (jobs added in one burst); the later-added job counts as newer, so
/// the order is the same on every request and `after` cursors never skip or repeat a video.
pub(crate) fn newest_first(jobs: &[Job], at_ms: i64) -> Vec<&Job> {
    let mut listed: Vec<&Job> = jobs
        .iter()
        .filter(|job| job.kind.provider() == Provider::Token360 && job.created_ms <= at_ms && !job.other_user)
        .collect();
    listed.sort_by_key(|job| std::cmp::Reverse((job.created_ms, job.serial)));
    listed
}

/// One page of a list: the items and whether more follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page<'a, T> {
    pub items: &'a [T],
    pub has_more: bool,
}

/// The `after` cursor of a list request names no listed video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnknownAfter;

/// Up to `limit` items that follow the one whose id is `after` (from the start without one).
pub(crate) fn page<'a, T>(
    items: &'a [T],
    id_of: impl Fn(&T) -> &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<'a, T>, UnknownAfter> {
    let start = match after {
        None => 0,
        Some(after) => items.iter().position(|item| id_of(item) == after).ok_or(UnknownAfter)? + 1,
    };
    let rest = items.get(start..).unwrap_or_default();
    let taken = rest.len().min(limit);
    Ok(Page { items: &rest[..taken], has_more: rest.len() > taken })
}

/// The `id` of a rendered video object.
pub(crate) fn video_id(video: &Value) -> &str {
    video.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// OpenAI's list envelope around rendered video objects.
pub(crate) fn list_body(data: Vec<Value>, has_more: bool) -> Value {
    let id_at = |entry: Option<&Value>| entry.and_then(|entry| entry.get("id")).cloned().unwrap_or(Value::Null);
    let first_id = id_at(data.first());
    let last_id = id_at(data.last());
    json!({ "object": "list", "data": data, "has_more": has_more, "first_id": first_id, "last_id": last_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Failure, JobSpec};
    use crate::store::Store;

    fn cx(now_ms: i64) -> RenderContext<'static> {
        RenderContext {
            now_ms,
            base_url: "http://sandbox",
            timeout_lag_ms: 120_000,
            url_lifetime_ms: 6 * 60 * 60 * 1000,
        }
    }

    #[test]
    fn content_is_ready_only_for_completed_videos() {
        let mut store = Store::default();
        let id = store.add(JobSpec::token360_video(), 0);
        let failed = store.add(JobSpec::token360_video().failing(Failure::new(500, "boom")), 0);
        let mut at = |id: &str, now_ms| store.get_mut(id).map(|job| content(job, &cx(now_ms)));
        assert_eq!(at(&id, 0), Some(Content::NotReady("queued")));
        assert_eq!(at(&id, 50_000), Some(Content::NotReady("in_progress")));
        assert_eq!(at(&failed, 90_000), Some(Content::Failed("boom".to_owned())));
        assert_eq!(
            at(&id, 90_000),
            Some(Content::Ready(json!({
                "url": "http://sandbox/files/0-video-0.mp4?Expires=3690",
                "video_id": id,
                "expires_in": 3600
            })))
        );
    }

    #[test]
    fn lists_newest_first_with_later_additions_first_on_ties() {
        let mut store = Store::default();
        let old = store.add(JobSpec::token360_video(), 1_000);
        store.add(JobSpec::dreamina_video(), 5_000);
        let tie_a = store.add(JobSpec::token360_video(), 5_000);
        let tie_b = store.add(JobSpec::token360_video(), 5_000);
        let future = store.add(JobSpec::token360_video(), 9_000);
        let ids = |at_ms| newest_first(store.jobs(), at_ms).iter().map(|job| job.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(9_000), [future.clone(), tie_b.clone(), tie_a.clone(), old.clone()]);
        // A list of an earlier moment does not know the videos created after it.
        assert_eq!(ids(5_000), [tie_b, tie_a, old]);
    }

    #[test]
    fn pages_follow_the_cursor_and_report_more() {
        let items: Vec<String> = (0..5).map(|n| format!("v{n}")).collect();
        let ids = |page: Page<'_, String>| (page.items.to_vec(), page.has_more);
        let first = page(&items, String::as_str, None, 2).map(ids);
        assert_eq!(first, Ok((vec!["v0".to_owned(), "v1".to_owned()], true)));
        let last = page(&items, String::as_str, Some("v2"), 2).map(ids);
        assert_eq!(last, Ok((vec!["v3".to_owned(), "v4".to_owned()], false)));
        assert_eq!(page(&items, String::as_str, Some("v4"), 2).map(ids), Ok((vec![], false)));
        assert_eq!(page(&items, String::as_str, Some("nope"), 2).map(ids), Err(UnknownAfter));
        assert_eq!(
            list_body(vec![], false),
            json!({ "object": "list", "data": [], "has_more": false, "first_id": null, "last_id": null })
        );
    }
}
