//! useapi.net Google Flow records (`GET /v1/google-flow/jobs/{jobId}`), video and image forms.

use crate::field::Field;
use crate::id::JobId;
use crate::job::{Job, JobError, JobKind, JobStatus, Output, OutputKind, Provider};
use crate::open_enum::open_enum;
use crate::time::RawTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use serde_with::apply;

open_enum! {
    /// Status of a Google Flow job.
    pub enum FlowStatus {
        /// Accepted, not started.
        Created = "created",
        /// Generating.
        Started = "started",
        /// Finished; media are in `response.media`.
        Completed = "completed",
        /// Finished without media; see `error` and `code`.
        Failed = "failed",
    }
}

open_enum! {
    /// The `type` of a Google Flow job.
    pub enum FlowJobType {
        /// Video generation (Veo).
        Video = "video",
        /// Image generation (Imagen, Nano Banana).
        Image = "image",
    }
}

open_enum! {
    /// A Google Flow model name (`request.model`).
    pub enum FlowModel {
        /// Veo 3.1 quality.
        Veo31Quality = "veo-3.1-quality",
        /// Veo 3.1 fast.
        Veo31Fast = "veo-3.1-fast",
        /// Veo 3.1 lite.
        Veo31Lite = "veo-3.1-lite",
        /// Veo 3.1 lite, low priority.
        Veo31LiteLowPriority = "veo-3.1-lite-low-priority",
        /// Imagen 4.
        Imagen4 = "imagen-4",
        /// Nano Banana.
        NanoBanana = "nano-banana",
    }
}

open_enum! {
    /// Google Flow request aspect ratio.
    pub enum FlowAspectRatio {
        /// Landscape.
        Landscape = "landscape",
        /// Portrait.
        Portrait = "portrait",
        /// Square.
        Square = "square",
    }
}

open_enum! {
    /// The aspect ratio Google reports for a generated video.
    pub enum VideoAspectRatio {
        /// Landscape.
        Landscape = "VIDEO_ASPECT_RATIO_LANDSCAPE",
        /// Portrait.
        Portrait = "VIDEO_ASPECT_RATIO_PORTRAIT",
    }
}

open_enum! {
    /// Per-media generation status.
    pub enum MediaGenerationStatus {
        /// The media was generated.
        Successful = "MEDIA_GENERATION_STATUS_SUCCESSFUL",
        /// The media failed.
        Failed = "MEDIA_GENERATION_STATUS_FAILED",
    }
}

open_enum! {
    /// The captcha-solving service used for the job.
    pub enum CaptchaService {
        /// CapSolver.
        CapSolver = "CapSolver",
        /// AntiCaptcha.
        AntiCaptcha = "AntiCaptcha",
        /// YesCaptcha.
        YesCaptcha = "YesCaptcha",
        /// CapMonster.
        CapMonster = "CapMonster",
        /// SolveCaptcha.
        SolveCaptcha = "SolveCaptcha",
        /// 2Captcha.
        TwoCaptcha = "2Captcha",
        /// EzCaptcha.
        EzCaptcha = "EzCaptcha",
        /// A token the user provided.
        UserProvided = "UserProvided",
    }
}

/// A Google Flow job record (video or image form).
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoogleFlowJob {
    /// The job id.
    pub jobid: String,
    /// `video` or `image`.
    #[serde(rename = "type")]
    pub job_type: Field<FlowJobType>,
    /// Where the job stands.
    pub status: FlowStatus,
    /// Creation time.
    pub created: Field<RawTime>,
    /// Last update time.
    pub updated: Field<RawTime>,
    /// The submitted parameters.
    pub request: Field<FlowRequest>,
    /// Results, captcha metadata, or the upstream error.
    pub response: Field<FlowResponse>,
    /// Error message of a failed job.
    pub error: Field<String>,
    /// Error detail.
    pub error_details: Field<String>,
    /// HTTP-style status code of a failed job.
    pub code: Field<i64>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The submitted parameters of a Google Flow job.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowRequest {
    /// The account e-mail (masked).
    pub email: Field<String>,
    /// Text prompt.
    pub prompt: Field<String>,
    /// Model.
    pub model: Field<FlowModel>,
    /// Aspect ratio.
    pub aspect_ratio: Field<FlowAspectRatio>,
    /// Number of outputs (1–4).
    pub count: Field<u32>,
    /// Seed.
    pub seed: Field<u64>,
    /// Start image (I2V).
    pub start_image: Field<String>,
    /// End image (I2V-FL).
    pub end_image: Field<String>,
    /// Reference image 1 (R2V).
    #[serde(rename = "referenceImage_1")]
    pub reference_image_1: Field<String>,
    /// Reference image 2 (R2V).
    #[serde(rename = "referenceImage_2")]
    pub reference_image_2: Field<String>,
    /// Reference image 3 (R2V).
    #[serde(rename = "referenceImage_3")]
    pub reference_image_3: Field<String>,
    /// Image reference 1.
    #[serde(rename = "reference_1")]
    pub reference_1: Field<String>,
    /// Image reference 2.
    #[serde(rename = "reference_2")]
    pub reference_2: Field<String>,
    /// Image reference 3.
    #[serde(rename = "reference_3")]
    pub reference_3: Field<String>,
    /// Fire-and-forget mode.
    #[serde(rename = "async")]
    pub is_async: Field<bool>,
    /// Webhook URL.
    pub reply_url: Field<String>,
    /// Caller's reference echoed to the webhook.
    pub reply_ref: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result part of a Google Flow job.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowResponse {
    /// Generated media.
    pub media: Field<Vec<FlowMedia>>,
    /// Credits left on the account.
    pub remaining_credits: Field<Number>,
    /// Captcha metadata.
    pub captcha: Field<Captcha>,
    /// The upstream error of a failed job.
    pub error: Field<FlowUpstreamError>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One generated medium (a video or an image).
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowMedia {
    /// Media identifier.
    pub name: Field<String>,
    /// Project id.
    pub project_id: Field<String>,
    /// Workflow id.
    pub workflow_id: Field<String>,
    /// Workflow step (`CAE`).
    pub workflow_step_id: Field<String>,
    /// Metadata and per-media status.
    pub media_metadata: Field<MediaMetadata>,
    /// Video details (video jobs).
    pub video: Field<FlowVideo>,
    /// Image details (image jobs).
    pub image: Field<FlowImage>,
    /// Reference id for later requests.
    pub media_generation_id: Field<String>,
    /// Signed MP4 URL (valid about 24 h).
    pub video_url: Field<String>,
    /// Signed JPEG thumbnail URL.
    pub thumbnail_url: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Media metadata.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaMetadata {
    /// Creation time.
    pub create_time: Field<RawTime>,
    /// Title (the prompt).
    pub media_title: Field<String>,
    /// The full upstream request payload.
    pub request_data: Field<Value>,
    /// Generation status.
    pub media_status: Field<MediaStatus>,
    /// Visibility (`PRIVATE`).
    pub visibility: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Per-media generation status.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaStatus {
    /// Successful or failed.
    pub media_generation_status: Field<MediaGenerationStatus>,
    /// Why the medium failed.
    pub error: Field<FlowUpstreamError>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An upstream (Google) error: `{code, message, status}`.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowUpstreamError {
    /// Numeric code.
    pub code: Field<i64>,
    /// Message.
    pub message: Field<String>,
    /// Status word (`INTERNAL`).
    pub status: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Video details of a medium.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowVideo {
    /// Generation parameters as Google reports them.
    pub generated_video: Field<GeneratedVideo>,
    /// Dimensions (`length`: `"8s"`).
    pub dimensions: Field<VideoDimensions>,
    /// The upstream operation.
    pub operation: Field<Operation>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Generation parameters of a video.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedVideo {
    /// Seed.
    pub seed: Field<u64>,
    /// Prompt.
    pub prompt: Field<String>,
    /// Upstream model (`veo_3_1_t2v` …).
    pub model: Field<String>,
    /// Source medium for I2V/R2V (empty for T2V).
    pub base_image_media_generation_id: Field<String>,
    /// Whether the video loops.
    pub is_looped: Field<bool>,
    /// Aspect ratio.
    pub aspect_ratio: Field<VideoAspectRatio>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Video dimensions.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoDimensions {
    /// Duration as a string (`"8s"`).
    pub length: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl VideoDimensions {
    /// The length in milliseconds, when it reads as `<seconds>s`.
    pub fn duration_ms(&self) -> Option<u64> {
        let secs: f64 = self.length.as_deref()?.trim().strip_suffix('s')?.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).round() as u64)
    }
}

/// An upstream operation reference.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Operation name.
    pub name: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Image details of a medium.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowImage {
    /// The generated image.
    pub generated_image: Field<GeneratedImage>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A generated image.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedImage {
    /// Seed.
    pub seed: Field<u64>,
    /// Reference id for later requests.
    pub media_generation_id: Field<String>,
    /// Signed image URL (valid about 24 h).
    pub fife_url: Field<String>,
    /// Prompt.
    pub prompt: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Captcha metadata (for debugging).
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Captcha {
    /// Service that solved it.
    pub service: Field<CaptchaService>,
    /// Task id.
    pub task_id: Field<String>,
    /// Time spent solving.
    pub duration_ms: Field<u64>,
    /// Every attempt.
    pub attempts: Field<Vec<CaptchaAttempt>>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One captcha attempt.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptchaAttempt {
    /// Service.
    pub service: Field<CaptchaService>,
    /// Task id.
    pub task_id: Field<String>,
    /// Time spent.
    pub duration_ms: Field<u64>,
    /// Whether it succeeded.
    pub success: Field<bool>,
    /// Error of a failed attempt.
    pub error: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GoogleFlowJob {
    /// The normalized view of this record.
    pub fn normalize(&self) -> Job {
        let status = match self.status {
            FlowStatus::Created => JobStatus::Queued,
            FlowStatus::Started => JobStatus::Running,
            FlowStatus::Completed => JobStatus::Completed,
            FlowStatus::Failed => JobStatus::Failed,
            FlowStatus::Unknown(_) => JobStatus::Unknown,
        };
        let kind = match self.job_type {
            Field::Value(FlowJobType::Video) => Some(JobKind::Video),
            Field::Value(FlowJobType::Image) => Some(JobKind::Image),
            _ => JobId::parse(&self.jobid).ok().and_then(|id| id.kind()),
        };
        let model = self.request.as_option().and_then(|r| r.model.as_option()).map(|m| m.to_string());
        let media = self.response.as_option().and_then(|r| r.media.as_option());
        let outputs = if status == JobStatus::Completed {
            media.into_iter().flatten().flat_map(media_outputs).collect()
        } else {
            Vec::new()
        };
        let error = (status == JobStatus::Failed).then(|| {
            let upstream = self.response.as_option().and_then(|r| r.error.as_option());
            let detail = self.error_details.as_option().or_else(|| upstream?.message.as_option()).cloned();
            let code = self.code.into_option().or_else(|| upstream?.code.into_option()).map(|c| c.to_string());
            let message = self.error.as_deref().unwrap_or("the job failed without an error message").to_owned();
            JobError::from_code(code, message, detail)
        });
        Job {
            provider: Provider::GoogleFlow,
            id: self.jobid.clone(),
            kind,
            status,
            provider_status: self.status.to_string(),
            model,
            created_at: self.created.as_option().and_then(RawTime::timestamp).or_else(|| {
                let id = JobId::parse(&self.jobid).ok()?;
                // Google Flow ids carry the full time, so any reference works.
                id.created_at(jiff::Timestamp::MAX)
            }),
            updated_at: self.updated.as_option().and_then(RawTime::timestamp),
            progress: None,
            outputs,
            error,
        }
    }
}

fn media_outputs(m: &FlowMedia) -> Vec<Output> {
    let mut out = Vec::new();
    let duration_ms = m.video.as_option().and_then(|v| v.dimensions.as_option()).and_then(VideoDimensions::duration_ms);
    let reference = m.media_generation_id.as_option();
    if let Some(url) = m.video_url.as_option() {
        out.push(Output { duration_ms, reference: reference.cloned(), ..Output::new(OutputKind::Video, url) });
    }
    if let Some(url) = m.thumbnail_url.as_option() {
        out.push(Output { reference: reference.cloned(), ..Output::new(OutputKind::Thumbnail, url) });
    }
    if let Some(img) = m.image.as_option().and_then(|i| i.generated_image.as_option())
        && let Some(url) = img.fife_url.as_option()
    {
        let reference = img.media_generation_id.as_option().or(reference).cloned();
        out.push(Output { reference, ..Output::new(OutputKind::Image, url) });
    }
    out
}
