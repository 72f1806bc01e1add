//! useapi.net Dreamina records: video jobs, image jobs and the executing-jobs scheduler.

use crate::field::Field;
use crate::id::JobId;
use crate::job::{Job, JobError, JobKind, JobStatus, Output, OutputKind, Provider};
use crate::open_enum::open_enum;
use crate::time::RawTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use serde_with::apply;
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

/// A Dreamina job record: the part both endpoints share, with the endpoint's own request and response.
///
/// Read as [`DreaminaVideoJob`] from `GET /v1/dreamina/videos/{jobid}` and as [`DreaminaImageJob`]
/// from `GET /v1/dreamina/images/{jobid}`.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    // `Field` defaults to absent: the parts need no `Default` of their own.
    bound(
        serialize = "Request: Serialize, Response: Serialize",
        deserialize = "Request: Deserialize<'de>, Response: Deserialize<'de>"
    )
)]
pub struct DreaminaJob<Request, Response> {
    /// The job id.
    pub jobid: String,
    /// `video`, `video-upscale`, `video-interpolate`, `image` or `upscale`.
    #[serde(rename = "type")]
    pub job_type: Field<DreaminaJobType>,
    /// Where the job stands.
    pub status: DreaminaStatus,
    /// The model.
    pub model: Field<String>,
    /// Creation time (ISO 8601, UTC).
    pub created: Field<RawTime>,
    /// Last update time.
    pub updated: Field<RawTime>,
    /// The submitted parameters.
    pub request: Field<Request>,
    /// Results (and the cost forecast while running).
    pub response: Field<Response>,
    /// Error summary of a failed job (`"fail_code: 2043"`).
    pub error: Field<String>,
    /// Error detail (`"OutputVideoRisk"`, `"ContentFiltered"`).
    pub error_details: Field<String>,
    /// 200, or the error code of a failed job (408, 596, 2038, 2043, 2057 …).
    pub code: Field<i64>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A Dreamina video, video-upscale or video-interpolate job (`GET /v1/dreamina/videos/{jobid}`).
pub type DreaminaVideoJob = DreaminaJob<DreaminaVideoRequest, DreaminaVideoResponse>;

/// A Dreamina image or image-upscale job (`GET /v1/dreamina/images/{jobid}`).
pub type DreaminaImageJob = DreaminaJob<DreaminaImageRequest, DreaminaImageResponse>;

/// The submitted parameters of a Dreamina video job.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaVideoRequest {
    /// Text prompt.
    pub prompt: Field<String>,
    /// Model.
    pub model: Field<String>,
    /// Aspect ratio.
    pub ratio: Field<AspectRatio>,
    /// Requested duration in seconds.
    pub duration: Field<u32>,
    /// How the video was requested.
    pub input_mode: Field<VideoInputMode>,
    /// `720p` or `1080p`.
    pub resolution: Field<Resolution>,
    /// First-frame image reference.
    pub first_frame_ref: Field<String>,
    /// End-frame image reference.
    pub end_frame_ref: Field<String>,
    /// Keyframe 1 image reference (multi_frame).
    #[serde(rename = "frame_1_imageRef")]
    pub frame_1_image_ref: Field<String>,
    /// Keyframe 1 prompt.
    #[serde(rename = "frame_1_prompt")]
    pub frame_1_prompt: Field<String>,
    /// Keyframe 1 duration.
    #[serde(rename = "frame_1_duration")]
    pub frame_1_duration: Field<Number>,
    /// Keyframe 2 image reference.
    #[serde(rename = "frame_2_imageRef")]
    pub frame_2_image_ref: Field<String>,
    /// Keyframe 2 prompt.
    #[serde(rename = "frame_2_prompt")]
    pub frame_2_prompt: Field<String>,
    /// Keyframe 2 duration.
    #[serde(rename = "frame_2_duration")]
    pub frame_2_duration: Field<Number>,
    /// Source job of an upscale or interpolation.
    pub jobid: Field<String>,
    /// Webhook URL.
    pub reply_url: Field<String>,
    /// Caller's reference echoed to the webhook.
    pub reply_ref: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result part of a Dreamina video job.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaVideoResponse {
    /// Asset id (for `DELETE /assets/<assetId>`, and as a reference).
    pub asset_id: Field<String>,
    /// Direct MP4 URL.
    pub video_url: Field<String>,
    /// Dreamina video id.
    pub video_id: Field<String>,
    /// Cover/thumbnail URL.
    pub cover_url: Field<String>,
    /// Width in pixels.
    pub width: Field<u32>,
    /// Height in pixels.
    pub height: Field<u32>,
    /// Duration in milliseconds.
    pub duration_ms: Field<u64>,
    /// Whether the video has audio.
    pub has_audio: Field<bool>,
    /// Credit cost.
    pub forecast_cost: Field<Number>,
    /// Unix time of completion.
    pub finish_time: Field<i64>,
    /// Upscale job started from this video.
    pub upscale_jobid: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The submitted parameters of a Dreamina image job.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaImageRequest {
    /// Text prompt.
    pub prompt: Field<String>,
    /// Model.
    pub model: Field<String>,
    /// Aspect ratio.
    pub ratio: Field<AspectRatio>,
    /// `2k`, `4k` …
    pub resolution: Field<Resolution>,
    /// How the image was requested.
    pub input_mode: Field<ImageInputMode>,
    /// Reference image 1 (an `assetRef`).
    #[serde(rename = "imageRef_1")]
    pub image_ref_1: Field<String>,
    /// Reference image 2.
    #[serde(rename = "imageRef_2")]
    pub image_ref_2: Field<String>,
    /// Reference image 3.
    #[serde(rename = "imageRef_3")]
    pub image_ref_3: Field<String>,
    /// Source job (upscale only).
    pub jobid: Field<String>,
    /// Source image index (upscale only).
    pub image_index: Field<u32>,
    /// Webhook URL.
    pub reply_url: Field<String>,
    /// Caller's reference echoed to the webhook.
    pub reply_ref: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result part of a Dreamina image job.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaImageResponse {
    /// Generated images (up to 4).
    pub images: Field<Vec<DreaminaImage>>,
    /// Credit cost.
    pub forecast_cost: Field<Number>,
    /// Upstream history record.
    pub history_record_id: Field<String>,
    /// Unix time of completion.
    pub finish_time: Field<i64>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One generated Dreamina image.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DreaminaImage {
    /// Direct image URL.
    pub image_url: Field<String>,
    /// Native URI.
    pub image_uri: Field<String>,
    /// Width in pixels.
    pub width: Field<u32>,
    /// Height in pixels.
    pub height: Field<u32>,
    /// File format (`jpeg`).
    pub format: Field<String>,
    /// Asset identifier.
    pub asset_id: Field<String>,
    /// Reusable reference (`imageRef_N` in `POST /images`).
    pub asset_ref: Field<String>,
    /// Upstream item id.
    pub item_id: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Every executing Dreamina job, grouped by account (`GET /v1/dreamina/scheduler`).
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutingJobs {
    /// Account (`REGION:email`) → its executing jobs; see [`ExecutingJobs::accounts`].
    pub executing: Field<BTreeMap<String, Vec<ExecutingJob>>>,
    /// Total number of executing jobs, as the service counts them.
    pub total: Field<u64>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ExecutingJobs {
    /// Each account (`REGION:email`) with its executing jobs, in account order.
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &[ExecutingJob])> {
        self.executing.as_option().into_iter().flatten().map(|(account, jobs)| (account.as_str(), jobs.as_slice()))
    }

    /// Every executing job, whatever the account.
    pub fn jobs(&self) -> impl Iterator<Item = &ExecutingJob> {
        self.accounts().flat_map(|(_, jobs)| jobs)
    }

    /// True when the job with this id is executing.
    pub fn contains(&self, jobid: &str) -> bool {
        self.jobs().any(|j| j.jobid == jobid)
    }
}

/// One executing job in the scheduler listing.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutingJob {
    /// The job id.
    pub jobid: String,
    /// Upstream submission id.
    pub submit_id: Field<String>,
    /// Model.
    pub model: Field<String>,
    /// Seconds since submission.
    pub elapsed_seconds: Field<Number>,
    /// Webhook URL, if configured.
    pub reply_url: Field<String>,
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

impl<Request, Response> DreaminaJob<Request, Response> {
    /// The normalized view, given the outputs the endpoint's response lists.
    fn job_with(&self, outputs: Vec<Output>) -> Job {
        let updated_at = self.updated.as_option().and_then(RawTime::timestamp);
        let created_at = self.created.as_option().and_then(RawTime::timestamp).or_else(|| {
            // The id carries the creation time without the year; `updated` pins the year.
            JobId::parse(&self.jobid).ok()?.created_at(updated_at?)
        });
        Job {
            provider: Provider::Dreamina,
            id: self.jobid.clone(),
            kind: kind_of(self.job_type.as_option(), &self.jobid),
            status: status_of(&self.status),
            provider_status: self.status.as_str().to_owned(),
            model: self.model.as_option().cloned(),
            created_at,
            updated_at,
            progress: None,
            outputs: if self.status == DreaminaStatus::Completed { outputs } else { Vec::new() },
            error: error_of(
                &self.status,
                self.error.as_deref(),
                self.error_details.as_deref(),
                self.code.into_option(),
            ),
        }
    }
}

impl DreaminaVideoJob {
    /// The normalized view of this record.
    pub fn normalize(&self) -> Job {
        let mut outputs = Vec::new();
        if let Some(r) = self.response.as_option() {
            let (width, height) = (r.width.into_option(), r.height.into_option());
            if let Some(url) = r.video_url.as_option() {
                outputs.push(Output {
                    width,
                    height,
                    duration_ms: r.duration_ms.into_option(),
                    reference: r.asset_id.as_option().cloned(),
                    ..Output::new(OutputKind::Video, url)
                });
            }
            if let Some(url) = r.cover_url.as_option() {
                outputs.push(Output { width, height, ..Output::new(OutputKind::Thumbnail, url) });
            }
        }
        self.job_with(outputs)
    }
}

impl DreaminaImageJob {
    /// The normalized view of this record.
    pub fn normalize(&self) -> Job {
        let images = self.response.as_option().and_then(|r| r.images.as_option());
        let outputs = images
            .into_iter()
            .flatten()
            .filter_map(|img| {
                Some(Output {
                    width: img.width.into_option(),
                    height: img.height.into_option(),
                    reference: img.asset_ref.as_option().or(img.asset_id.as_option()).cloned(),
                    ..Output::new(OutputKind::Image, img.image_url.as_deref()?)
                })
            })
            .collect();
        self.job_with(outputs)
    }
}
