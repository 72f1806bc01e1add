//! useapi.net Dreamina records: video jobs, image jobs and the executing-jobs scheduler.

use crate::id::JobId;
use crate::job::{Job, JobError, JobKind, JobStatus, Output, OutputKind, Provider};
use crate::open_enum::open_enum;
use crate::time::RawTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use serde_with::skip_serializing_none;
use std::collections::BTreeMap;

open_enum! {
    /// Status of a Dreamina job (`GET /videos/{jobid}`, `GET /images/{jobid}`).
    pub enum DreaminaStatus {
        /// Submitted and generating; Dreamina has no separate "running" state.
        Created = "created",
        /// Finished; outputs are in `response`.
        Completed = "completed",
        /// Finished without outputs; see `error`, `errorDetails`, `code`.
        Failed = "failed",
    }
}

open_enum! {
    /// The `type` of a Dreamina job record.
    pub enum DreaminaJobType {
        /// Video generation.
        Video = "video",
        /// Video upscale (`POST /videos/upscale`).
        VideoUpscale = "video-upscale",
        /// Frame interpolation (`POST /videos/interpolate`).
        VideoInterpolate = "video-interpolate",
        /// Image generation.
        Image = "image",
        /// Image upscale (`POST /images/upscale`).
        Upscale = "upscale",
    }
}

open_enum! {
    /// How a Dreamina video was requested (`request.inputMode`).
    pub enum VideoInputMode {
        /// From a text prompt.
        Prompt = "prompt",
        /// From a first frame.
        FirstFrame = "first_frame",
        /// From an end frame.
        EndFrame = "end_frame",
        /// From several keyframes.
        MultiFrame = "multi_frame",
        /// Unified edit mode.
        UnifiedEdit = "unified_edit",
    }
}

open_enum! {
    /// How a Dreamina image was requested (`request.inputMode`, auto-detected by the service).
    pub enum ImageInputMode {
        /// Plain generation.
        Generate = "generate",
    }
}

open_enum! {
    /// An aspect ratio written as `W:H` (`request.ratio`).
    pub enum AspectRatio {
        /// 16:9 landscape.
        Landscape16x9 = "16:9",
        /// 9:16 portrait.
        Portrait9x16 = "9:16",
        /// 1:1 square.
        Square = "1:1",
        /// 4:3.
        Landscape4x3 = "4:3",
        /// 3:4.
        Portrait3x4 = "3:4",
        /// 21:9.
        Wide21x9 = "21:9",
    }
}

open_enum! {
    /// Output resolution (`request.resolution`).
    pub enum Resolution {
        /// 720p video.
        P720 = "720p",
        /// 1080p video.
        P1080 = "1080p",
        /// 2K image.
        K2 = "2k",
        /// 4K image.
        K4 = "4k",
    }
}

/// A Dreamina video, video-upscale or video-interpolate job (`GET /v1/dreamina/videos/{jobid}`).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaVideoJob {
    /// The job id.
    pub jobid: String,
    /// `video`, `video-upscale` or `video-interpolate`.
    #[serde(rename = "type")]
    pub job_type: Option<DreaminaJobType>,
    /// Where the job stands.
    pub status: DreaminaStatus,
    /// The model.
    pub model: Option<String>,
    /// Creation time (ISO 8601, UTC).
    pub created: Option<RawTime>,
    /// Last update time.
    pub updated: Option<RawTime>,
    /// The submitted parameters.
    pub request: Option<DreaminaVideoRequest>,
    /// Results (and the cost forecast while running).
    pub response: Option<DreaminaVideoResponse>,
    /// Error summary of a failed job (`"fail_code: 2043"`).
    pub error: Option<String>,
    /// Error detail (`"OutputVideoRisk"`).
    pub error_details: Option<String>,
    /// 200, or the error code of a failed job (408, 596, 2038, 2043 …).
    pub code: Option<i64>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The submitted parameters of a Dreamina video job.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaVideoRequest {
    /// Text prompt.
    pub prompt: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Aspect ratio.
    pub ratio: Option<AspectRatio>,
    /// Requested duration in seconds.
    pub duration: Option<u32>,
    /// How the video was requested.
    pub input_mode: Option<VideoInputMode>,
    /// `720p` or `1080p`.
    pub resolution: Option<Resolution>,
    /// First-frame image reference.
    pub first_frame_ref: Option<String>,
    /// End-frame image reference.
    pub end_frame_ref: Option<String>,
    /// Keyframe 1 image reference (multi_frame).
    #[serde(rename = "frame_1_imageRef")]
    pub frame_1_image_ref: Option<String>,
    /// Keyframe 1 prompt.
    #[serde(rename = "frame_1_prompt")]
    pub frame_1_prompt: Option<String>,
    /// Keyframe 1 duration.
    #[serde(rename = "frame_1_duration")]
    pub frame_1_duration: Option<Number>,
    /// Keyframe 2 image reference.
    #[serde(rename = "frame_2_imageRef")]
    pub frame_2_image_ref: Option<String>,
    /// Keyframe 2 prompt.
    #[serde(rename = "frame_2_prompt")]
    pub frame_2_prompt: Option<String>,
    /// Keyframe 2 duration.
    #[serde(rename = "frame_2_duration")]
    pub frame_2_duration: Option<Number>,
    /// Source job of an upscale or interpolation.
    pub jobid: Option<String>,
    /// Webhook URL.
    pub reply_url: Option<String>,
    /// Caller's reference echoed to the webhook.
    pub reply_ref: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result part of a Dreamina video job.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaVideoResponse {
    /// Asset id (for `DELETE /assets/<assetId>`, and as a reference).
    pub asset_id: Option<String>,
    /// Direct MP4 URL.
    pub video_url: Option<String>,
    /// Dreamina video id.
    pub video_id: Option<String>,
    /// Cover/thumbnail URL.
    pub cover_url: Option<String>,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Duration in milliseconds.
    pub duration_ms: Option<u64>,
    /// Whether the video has audio.
    pub has_audio: Option<bool>,
    /// Credit cost.
    pub forecast_cost: Option<Number>,
    /// Unix time of completion.
    pub finish_time: Option<i64>,
    /// Upscale job started from this video.
    pub upscale_jobid: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A Dreamina image or image-upscale job (`GET /v1/dreamina/images/{jobid}`).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaImageJob {
    /// The job id.
    pub jobid: String,
    /// `image` or `upscale`.
    #[serde(rename = "type")]
    pub job_type: Option<DreaminaJobType>,
    /// Where the job stands.
    pub status: DreaminaStatus,
    /// The model.
    pub model: Option<String>,
    /// Creation time.
    pub created: Option<RawTime>,
    /// Last update time.
    pub updated: Option<RawTime>,
    /// The submitted parameters.
    pub request: Option<DreaminaImageRequest>,
    /// Results.
    pub response: Option<DreaminaImageResponse>,
    /// Error summary of a failed job.
    pub error: Option<String>,
    /// Error detail (`"ContentFiltered"`).
    pub error_details: Option<String>,
    /// 200, or the error code (408, 596, 2038, 2057 …).
    pub code: Option<i64>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The submitted parameters of a Dreamina image job.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaImageRequest {
    /// Text prompt.
    pub prompt: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Aspect ratio.
    pub ratio: Option<AspectRatio>,
    /// `2k`, `4k` …
    pub resolution: Option<Resolution>,
    /// How the image was requested.
    pub input_mode: Option<ImageInputMode>,
    /// Reference image 1 (an `assetRef`).
    #[serde(rename = "imageRef_1")]
    pub image_ref_1: Option<String>,
    /// Reference image 2.
    #[serde(rename = "imageRef_2")]
    pub image_ref_2: Option<String>,
    /// Reference image 3.
    #[serde(rename = "imageRef_3")]
    pub image_ref_3: Option<String>,
    /// Source job (upscale only).
    pub jobid: Option<String>,
    /// Source image index (upscale only).
    pub image_index: Option<u32>,
    /// Webhook URL.
    pub reply_url: Option<String>,
    /// Caller's reference echoed to the webhook.
    pub reply_ref: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result part of a Dreamina image job.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaImageResponse {
    /// Generated images (up to 4).
    pub images: Option<Vec<DreaminaImage>>,
    /// Credit cost.
    pub forecast_cost: Option<Number>,
    /// Upstream history record.
    pub history_record_id: Option<String>,
    /// Unix time of completion.
    pub finish_time: Option<i64>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One generated Dreamina image.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaImage {
    /// Direct image URL.
    pub image_url: Option<String>,
    /// Native URI.
    pub image_uri: Option<String>,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// File format (`jpeg`).
    pub format: Option<String>,
    /// Asset identifier.
    pub asset_id: Option<String>,
    /// Reusable reference (`imageRef_N` in `POST /images`).
    pub asset_ref: Option<String>,
    /// Upstream item id.
    pub item_id: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Every executing Dreamina job, grouped by account (`GET /v1/dreamina/scheduler`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutingJobs {
    /// Account (`REGION:email`) → its executing jobs.
    #[serde(default)]
    pub executing: BTreeMap<String, Vec<ExecutingJob>>,
    /// Total number of executing jobs.
    #[serde(default)]
    pub total: u64,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ExecutingJobs {
    /// Every executing job, whatever the account.
    pub fn jobs(&self) -> impl Iterator<Item = &ExecutingJob> {
        self.executing.values().flatten()
    }

    /// True when the job with this id is executing.
    pub fn contains(&self, jobid: &str) -> bool {
        self.jobs().any(|j| j.jobid == jobid)
    }
}

/// One executing job in the scheduler listing.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutingJob {
    /// The job id.
    pub jobid: String,
    /// Upstream submission id.
    pub submit_id: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Seconds since submission.
    pub elapsed_seconds: Option<Number>,
    /// Webhook URL, if configured.
    pub reply_url: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn status_of(status: &DreaminaStatus) -> JobStatus {
    match status {
        DreaminaStatus::Created => JobStatus::Queued,
        DreaminaStatus::Completed => JobStatus::Completed,
        DreaminaStatus::Failed => JobStatus::Failed,
        DreaminaStatus::Unknown(_) => JobStatus::Unknown,
    }
}

fn kind_of(job_type: Option<&DreaminaJobType>, jobid: &str) -> Option<JobKind> {
    match job_type {
        Some(DreaminaJobType::Video) => Some(JobKind::Video),
        Some(DreaminaJobType::VideoUpscale) => Some(JobKind::VideoUpscale),
        Some(DreaminaJobType::VideoInterpolate) => Some(JobKind::VideoInterpolate),
        Some(DreaminaJobType::Image) => Some(JobKind::Image),
        Some(DreaminaJobType::Upscale) => Some(JobKind::ImageUpscale),
        _ => JobId::parse(jobid).ok()?.kind(),
    }
}

/// The error of a failed Dreamina record; the code falls back to the `fail_code: N` in `error`.
fn error_of(
    status: &DreaminaStatus,
    error: Option<&str>,
    details: Option<&str>,
    code: Option<i64>,
) -> Option<JobError> {
    if *status != DreaminaStatus::Failed {
        return None;
    }
    let code = code
        .filter(|c| *c != 200)
        .map(|c| c.to_string())
        .or_else(|| error?.strip_prefix("fail_code:").map(|c| c.trim().to_owned()));
    let message = error.unwrap_or("the job failed without an error message").to_owned();
    Some(JobError::from_code(code, message, details.map(str::to_owned)))
}

/// Shared part of normalizing both Dreamina record kinds.
struct Common<'a> {
    jobid: &'a str,
    job_type: Option<&'a DreaminaJobType>,
    status: &'a DreaminaStatus,
    model: Option<&'a String>,
    created: Option<&'a RawTime>,
    updated: Option<&'a RawTime>,
    error: Option<&'a str>,
    error_details: Option<&'a str>,
    code: Option<i64>,
}

impl Common<'_> {
    fn job(self, outputs: Vec<Output>) -> Job {
        let updated_at = self.updated.and_then(RawTime::timestamp);
        let created_at = self.created.and_then(RawTime::timestamp).or_else(|| {
            // The id carries the creation time without the year; `updated` pins the year.
            JobId::parse(self.jobid).ok()?.created_at(updated_at?)
        });
        Job {
            provider: Provider::Dreamina,
            id: self.jobid.to_owned(),
            kind: kind_of(self.job_type, self.jobid),
            status: status_of(self.status),
            provider_status: self.status.as_str().to_owned(),
            model: self.model.cloned(),
            created_at,
            updated_at,
            progress: None,
            outputs: if *self.status == DreaminaStatus::Completed { outputs } else { Vec::new() },
            error: error_of(self.status, self.error, self.error_details, self.code),
        }
    }
}

impl DreaminaVideoJob {
    /// The normalized view of this record.
    pub fn normalize(&self) -> Job {
        let mut outputs = Vec::new();
        if let Some(r) = &self.response {
            if let Some(url) = &r.video_url {
                outputs.push(Output {
                    width: r.width,
                    height: r.height,
                    duration_ms: r.duration_ms,
                    reference: r.asset_id.clone(),
                    ..Output::new(OutputKind::Video, url)
                });
            }
            if let Some(url) = &r.cover_url {
                outputs.push(Output { width: r.width, height: r.height, ..Output::new(OutputKind::Thumbnail, url) });
            }
        }
        Common {
            jobid: &self.jobid,
            job_type: self.job_type.as_ref(),
            status: &self.status,
            model: self.model.as_ref(),
            created: self.created.as_ref(),
            updated: self.updated.as_ref(),
            error: self.error.as_deref(),
            error_details: self.error_details.as_deref(),
            code: self.code,
        }
        .job(outputs)
    }
}

impl DreaminaImageJob {
    /// The normalized view of this record.
    pub fn normalize(&self) -> Job {
        let images = self.response.as_ref().and_then(|r| r.images.as_ref());
        let outputs = images
            .into_iter()
            .flatten()
            .filter_map(|img| {
                Some(Output {
                    width: img.width,
                    height: img.height,
                    reference: img.asset_ref.clone().or_else(|| img.asset_id.clone()),
                    ..Output::new(OutputKind::Image, img.image_url.as_deref()?)
                })
            })
            .collect();
        Common {
            jobid: &self.jobid,
            job_type: self.job_type.as_ref(),
            status: &self.status,
            model: self.model.as_ref(),
            created: self.created.as_ref(),
            updated: self.updated.as_ref(),
            error: self.error.as_deref(),
            error_details: self.error_details.as_deref(),
            code: self.code,
        }
        .job(outputs)
    }
}
