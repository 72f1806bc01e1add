//! Job records in each provider's documented JSON shape and key order (see seeds 000–004).
//!
//! token360's video objects live in [`crate::token360`], beside its other endpoints.

use serde_json::{Map, Value, json};

use crate::files::{FileName, OutputKind};
use crate::spec::{JobKind, Provider};
use crate::store::{Failed, Job, Stage, rfc3339_ms, splitmix64, timestamp, uuid};

/// What a record depends on besides the job itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderContext<'a> {
    pub now_ms: i64,
    /// Scheme and authority output URLs point at, e.g. `http://127.0.0.1:4000`.
    pub base_url: &'a str,
    pub timeout_lag_ms: i64,
    pub url_lifetime_ms: i64,
}

impl RenderContext<'_> {
    /// A signed-looking URL for one output file, valid for the job's URL lifetime from now.
    pub fn file_url(&self, job: &Job, output: OutputKind, index: u32) -> String {
        self.signed_file_url(job, output, index, job.url_lifetime_ms.unwrap_or(self.url_lifetime_ms))
    }

    /// A signed-looking URL for one output file, valid for `lifetime_ms` from now.
    pub fn signed_file_url(&self, job: &Job, output: OutputKind, index: u32, lifetime_ms: i64) -> String {
        let expires = self.now_ms.saturating_add(lifetime_ms).div_euclid(1000);
        let name = FileName { serial: job.serial, output, index };
        format!("{}/files/{name}?Expires={expires}", self.base_url)
    }
}

/// Clip length of generated videos, in seconds (the documented requests ask for 5 s).
pub(crate) const VIDEO_SECONDS: u32 = 5;

pub(crate) fn unix_secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// The job's record in its provider's shape, as its own endpoint answers it at the context's moment.
pub(crate) fn record(job: &Job, cx: &RenderContext<'_>) -> Value {
    record_at(job, job.stage(cx.now_ms, cx.timeout_lag_ms), cx)
}

/// The job's record in its provider's shape, showing `stage` (true or not) at the context's moment.
pub(crate) fn record_at(job: &Job, stage: Stage<'_>, cx: &RenderContext<'_>) -> Value {
    match job.kind.provider() {
        Provider::Dreamina => dreamina_record_at(job, stage, cx),
        Provider::GoogleFlow => google_flow_record_at(job, stage, cx),
        Provider::Token360 => crate::token360::record_at(job, stage, cx),
    }
}

/// A Dreamina record for `/v1/dreamina/videos/{jobid}` or `/v1/dreamina/images/{jobid}`.
pub(crate) fn dreamina_record(job: &Job, cx: &RenderContext<'_>) -> Value {
    dreamina_record_at(job, job.stage(cx.now_ms, cx.timeout_lag_ms), cx)
}

fn dreamina_record_at(job: &Job, stage: Stage<'_>, cx: &RenderContext<'_>) -> Value {
    let is_video = job.kind.is_video();
    let type_name = match job.kind {
        JobKind::DreaminaVideoUpscale => "video-upscale",
        JobKind::DreaminaVideoInterpolate => "video-interpolate",
        JobKind::DreaminaImageUpscale => "upscale",
        JobKind::DreaminaImage => "image",
        _ => "video",
    };
    let status = match stage {
        Stage::Waiting | Stage::Running { .. } => "created",
        Stage::Completed { .. } => "completed",
        Stage::Failed { .. } => "failed",
    };
    let mut record = Map::new();
    record.insert("jobid".into(), json!(job.id));
    record.insert("type".into(), json!(type_name));
    record.insert("status".into(), json!(status));
    record.insert("model".into(), json!(job.model));
    record.insert("created".into(), json!(rfc3339_ms(job.created_ms)));
    if let Stage::Completed { at_ms } | Stage::Failed { at_ms, .. } = stage {
        record.insert("updated".into(), json!(rfc3339_ms(at_ms)));
    }
    record.insert("request".into(), dreamina_request(job));
    let forecast_cost = if is_video { 125 } else { 0 };
    match stage {
        Stage::Waiting | Stage::Running { .. } => {
            record.insert("response".into(), json!({ "forecastCost": forecast_cost }));
            record.insert("code".into(), json!(200));
        }
        Stage::Completed { at_ms } => {
            let response = if is_video {
                dreamina_video_response(job, cx, at_ms, forecast_cost)
            } else {
                dreamina_image_response(job, cx, at_ms)
            };
            record.insert("response".into(), response);
            record.insert("code".into(), json!(200));
        }
        Stage::Failed { failure, .. } => match failure {
            Failed::Spec(failure) => {
                record.insert("error".into(), json!(failure.error));
                if let Some(details) = &failure.details {
                    record.insert("errorDetails".into(), json!(details));
                }
                record.insert("code".into(), json!(failure.code));
            }
            Failed::TimedOut => {
                record.insert("error".into(), json!("Generation timed out"));
                record.insert("code".into(), json!(408));
            }
        },
    }
    Value::Object(record)
}

/// The id of the (imaginary) job an upscale or interpolation starts from.
fn source_job_id(job: &Job) -> String {
    let source_kind = if job.kind.is_video() { JobKind::DreaminaVideo } else { JobKind::DreaminaImage };
    crate::store::dreamina_id(
        source_kind,
        job.created_ms.saturating_sub(60_000),
        job.serial,
        job.user_id,
        &job.region,
        &job.email,
    )
}

fn dreamina_request(job: &Job) -> Value {
    let mut request = match job.kind {
        JobKind::DreaminaImage => json!({
            "prompt": job.prompt,
            "model": job.model,
            "ratio": "16:9",
            "resolution": "2k",
            "inputMode": "generate",
        }),
        JobKind::DreaminaImageUpscale => json!({
            "jobid": source_job_id(job),
            "imageIndex": 0,
            "resolution": "4k",
        }),
        JobKind::DreaminaVideoUpscale => json!({
            "jobid": source_job_id(job),
            "model": job.model,
            "resolution": "1080p",
            "inputMode": "upscale",
        }),
        JobKind::DreaminaVideoInterpolate => json!({
            "jobid": source_job_id(job),
            "model": job.model,
            "inputMode": "interpolate",
        }),
        _ => json!({
            "prompt": job.prompt,
            "model": job.model,
            "ratio": "16:9",
            "duration": VIDEO_SECONDS,
            "inputMode": "prompt",
        }),
    };
    if let (Some(url), Value::Object(map)) = (&job.reply_url, &mut request) {
        map.insert("replyUrl".into(), json!(url));
    }
    request
}

/// Dreamina's asset/video/item ids are 19-digit numbers.
fn dreamina_item_id(job: &Job, index: u32) -> u64 {
    7_341_234_567_890_000_000 + (splitmix64(job.serial ^ u64::from(index) << 40) % 1_000_000_000)
}

fn dreamina_video_response(job: &Job, cx: &RenderContext<'_>, at_ms: i64, cost: u32) -> Value {
    let video_id = dreamina_item_id(job, 0);
    let (width, height) = if job.kind == JobKind::DreaminaVideoUpscale { (1920, 1080) } else { (1280, 720) };
    json!({
        "assetId": format!("{}:{video_id}", job.dreamina_account()),
        "videoUrl": cx.file_url(job, OutputKind::Video, 0),
        "videoId": video_id.to_string(),
        "coverUrl": cx.file_url(job, OutputKind::Cover, 0),
        "width": width,
        "height": height,
        "durationMs": VIDEO_SECONDS * 1000 + 42,
        "hasAudio": false,
        "forecastCost": cost,
        "finishTime": unix_secs(at_ms),
    })
}

fn dreamina_image_response(job: &Job, cx: &RenderContext<'_>, at_ms: i64) -> Value {
    let (width, height) = if job.kind == JobKind::DreaminaImageUpscale { (4096, 4096) } else { (2560, 1440) };
    let images: Vec<Value> = (0..job.outputs)
        .map(|index| {
            let item_id = dreamina_item_id(job, index);
            let uri = format!("tos-useast5-i-wopfjsm1ax-tx/{:012x}", splitmix64(item_id) >> 16);
            let size = 900_000 + (item_id % 20) * 1000;
            json!({
                "imageUrl": cx.file_url(job, OutputKind::Image, index),
                "imageUri": uri,
                "width": width,
                "height": height,
                "format": "jpeg",
                "assetId": format!("{}:{item_id}", job.dreamina_account()),
                "assetRef": format!("{}:w{width}:h{height}:s{size}-uri:{uri}", job.dreamina_account()),
                "itemId": item_id.to_string(),
            })
        })
        .collect();
    json!({
        "images": images,
        "forecastCost": 0,
        "historyRecordId": (306_191_000_000 + job.serial).to_string(),
        "finishTime": unix_secs(at_ms),
    })
}

/// The scheduler listing (`{"executing":{account:[entries]},"total":n}`) as of sim time `at_ms`.
///
/// It lists the Dreamina video jobs that existed and were still executing at that moment;
/// `ahead_ms` is added to every entry's age, for a listing that overstates it.
pub(crate) fn scheduler_listing(jobs: &[Job], at_ms: i64, timeout_lag_ms: i64, ahead_ms: i64) -> Value {
    let mut executing = Map::new();
    let mut total = 0u64;
    for job in jobs {
        // Jobs created after `at_ms` did not exist yet in a listing of that moment.
        if job.kind.provider() != Provider::Dreamina
            || !job.kind.is_video()
            || job.created_ms > at_ms
            || job.other_user
            || !matches!(job.stage(at_ms, timeout_lag_ms), Stage::Waiting)
        {
            continue;
        }
        let entry = scheduler_entry(job, at_ms, ahead_ms);
        if let Value::Array(list) = executing.entry(job.dreamina_account()).or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(entry);
        }
        total += 1;
    }
    json!({ "executing": executing, "total": total })
}

/// The scheduler entry for a Dreamina video job that is still executing at `at_ms`.
fn scheduler_entry(job: &Job, at_ms: i64, ahead_ms: i64) -> Value {
    let elapsed = at_ms.saturating_sub(job.created_ms).max(0).saturating_add(ahead_ms) / 1000;
    let mut entry = json!({
        "jobid": job.id,
        "submitId": uuid(job.serial, 0x5b),
        "model": job.model,
        "elapsedSeconds": elapsed,
    });
    if let (Some(url), Value::Object(map)) = (&job.reply_url, &mut entry) {
        map.insert("replyUrl".into(), json!(url));
    }
    entry
}

/// Google's status names for the HTTP-like codes Google Flow reports in `response.error`.
fn google_status(code: i64) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// A Google Flow record for `/v1/google-flow/jobs/{jobId}`.
pub(crate) fn google_flow_record(job: &Job, cx: &RenderContext<'_>) -> Value {
    google_flow_record_at(job, job.stage(cx.now_ms, cx.timeout_lag_ms), cx)
}

fn google_flow_record_at(job: &Job, stage: Stage<'_>, cx: &RenderContext<'_>) -> Value {
    let is_video = job.kind.is_video();
    let status = match stage {
        Stage::Waiting => "created",
        Stage::Running { .. } => "started",
        Stage::Completed { .. } => "completed",
        Stage::Failed { .. } => "failed",
    };
    let mut record = Map::new();
    record.insert("jobid".into(), json!(job.id));
    record.insert("type".into(), json!(if is_video { "video" } else { "image" }));
    record.insert("status".into(), json!(status));
    record.insert("created".into(), json!(rfc3339_ms(job.created_ms)));
    match stage {
        Stage::Waiting => {}
        Stage::Running { since_ms: at_ms } | Stage::Completed { at_ms } | Stage::Failed { at_ms, .. } => {
            record.insert("updated".into(), json!(rfc3339_ms(at_ms)));
        }
    }
    record.insert("request".into(), google_flow_request(job));
    match stage {
        Stage::Waiting | Stage::Running { .. } => {}
        Stage::Completed { at_ms } => {
            let mut response = Map::new();
            let media: Vec<Value> = (0..job.outputs)
                .map(|index| {
                    if is_video {
                        google_flow_video_media(job, cx, index, at_ms)
                    } else {
                        google_flow_image_media(job, cx, index)
                    }
                })
                .collect();
            response.insert("media".into(), Value::Array(media));
            if is_video {
                response.insert("remainingCredits".into(), json!(14845));
            }
            response.insert("captcha".into(), captcha(job));
            record.insert("response".into(), Value::Object(response));
        }
        Stage::Failed { failure, .. } => {
            let (code, error, message) = match failure {
                Failed::Spec(failure) => (
                    failure.code,
                    failure.error.as_str(),
                    failure.details.as_deref().unwrap_or("Internal error encountered."),
                ),
                Failed::TimedOut => (408, "Generation timed out", "Generation timed out"),
            };
            record.insert("error".into(), json!(error));
            record.insert("code".into(), json!(code));
            record.insert(
                "response".into(),
                json!({ "error": { "code": code, "message": message, "status": google_status(code) } }),
            );
        }
    }
    Value::Object(record)
}

fn google_flow_request(job: &Job) -> Value {
    let mut request = Map::new();
    request.insert("email".into(), json!(crate::store::mask_email(&job.email)));
    request.insert("prompt".into(), json!(job.prompt));
    request.insert("model".into(), json!(job.model));
    request.insert("aspectRatio".into(), json!("landscape"));
    request.insert("count".into(), json!(job.outputs));
    if job.kind.is_video() {
        request.insert("seed".into(), json!(seed(job, 0)));
        request.insert("async".into(), json!(true));
    }
    if let Some(url) = &job.reply_url {
        request.insert("replyUrl".into(), json!(url));
    }
    Value::Object(request)
}

fn seed(job: &Job, index: u32) -> u64 {
    splitmix64(job.serial.wrapping_add(u64::from(index) << 32)) % 1_000_000
}

/// Google Flow encodes the account in media ids; hex of the e-mail stands in for that encoding.
fn media_generation_id(job: &Job, what: &str, name: &str) -> String {
    let hex: String = job.email.bytes().take(8).map(|b| format!("{b:02x}")).collect();
    format!("user:{}-email:{hex}-{what}:{name}", job.user_id)
}

fn google_flow_video_media(job: &Job, cx: &RenderContext<'_>, index: u32, at_ms: i64) -> Value {
    let salt = u64::from(index) << 8;
    let name = uuid(job.serial, salt | 1);
    // Google reports microseconds; the sandbox's clock has milliseconds.
    let create_time = format!("{:.6}", timestamp(at_ms));
    json!({
        "name": name,
        "projectId": uuid(job.serial, 2),
        "workflowId": uuid(job.serial, salt | 3),
        "workflowStepId": "CAE",
        "mediaMetadata": {
            "createTime": create_time,
            "mediaTitle": job.prompt,
            "requestData": {
                "videoGenerationRequestData": { "videoModelName": "veo_3_1_t2v", "seed": seed(job, index) },
                "clientPlatform": "CLIENT_PLATFORM_WEB"
            },
            "mediaStatus": { "mediaGenerationStatus": "MEDIA_GENERATION_STATUS_SUCCESSFUL" },
            "visibility": "PRIVATE"
        },
        "video": {
            "generatedVideo": {
                "seed": seed(job, index),
                "prompt": job.prompt,
                "model": "veo_3_1_t2v",
                "baseImageMediaGenerationId": "",
                "isLooped": false,
                "aspectRatio": "VIDEO_ASPECT_RATIO_LANDSCAPE"
            },
            "dimensions": { "length": "8s" },
            "operation": { "name": name }
        },
        "mediaGenerationId": media_generation_id(job, "video", &name),
        "videoUrl": cx.file_url(job, OutputKind::Video, index),
        "thumbnailUrl": cx.file_url(job, OutputKind::Thumbnail, index)
    })
}

fn google_flow_image_media(job: &Job, cx: &RenderContext<'_>, index: u32) -> Value {
    let name = uuid(job.serial, (u64::from(index) << 8) | 1);
    json!({
        "name": name,
        "image": {
            "generatedImage": {
                "seed": seed(job, index),
                "mediaGenerationId": media_generation_id(job, "image", &name),
                "fifeUrl": cx.file_url(job, OutputKind::Image, index),
                "prompt": job.prompt
            }
        }
    })
}

fn captcha(job: &Job) -> Value {
    let task_id = format!("{:016x}", splitmix64(job.serial ^ 0xca97));
    let duration_ms = 3000 + splitmix64(job.serial) % 1500;
    json!({
        "service": "CapSolver",
        "taskId": task_id,
        "durationMs": duration_ms,
        "attempts": [
            { "service": "CapSolver", "taskId": task_id, "durationMs": duration_ms, "success": true }
        ]
    })
}
