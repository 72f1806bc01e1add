//! token360 records: the OpenAI-style video object (`GET /v1/videos/{video_id}`).

use crate::job::{Job, JobError, JobKind, JobStatus, Output, OutputKind, Provider};
use crate::open_enum::open_enum;
use crate::time::from_unix_seconds;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use serde_with::skip_serializing_none;

open_enum! {
    /// Status of a token360 video task.
    pub enum Token360Status {
        /// Accepted, waiting to start.
        Queued = "queued",
        /// Generating; keep polling.
        InProgress = "in_progress",
        /// Ready: read `url` or `video_url`.
        Completed = "completed",
        /// Failed: read `error.code` and `error.message`.
        Failed = "failed",
    }
}

/// A token360 video task.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360Video {
    /// Task id.
    pub id: String,
    /// Always `video`.
    pub object: Option<String>,
    /// Where the task stands.
    pub status: Token360Status,
    /// Model.
    pub model: Option<String>,
    /// Prompt.
    pub prompt: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: Option<i64>,
    /// Last update, Unix seconds.
    pub updated_at: Option<i64>,
    /// Progress in percent.
    pub progress: Option<Number>,
    /// Echo of the generation parameters.
    pub parameters: Option<Token360Parameters>,
    /// Presigned video URL when completed.
    pub url: Option<String>,
    /// Video URL when available.
    pub video_url: Option<String>,
    /// Final duration in seconds.
    pub duration: Option<Number>,
    /// Provider-specific resolution echo (`720p`).
    pub resolution: Option<String>,
    /// Additional assets.
    pub content: Option<Token360Content>,
    /// Error details when failed.
    pub error: Option<Token360TaskError>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Echo of the generation parameters.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360Parameters {
    /// Requested duration in seconds.
    pub duration: Option<Number>,
    /// Requested resolution.
    pub resolution: Option<String>,
    /// Requested aspect ratio.
    pub aspect_ratio: Option<String>,
    /// Seed.
    pub seed: Option<i64>,
    /// Whether audio was requested.
    pub audio: Option<bool>,
    /// Whether a watermark was requested.
    pub watermark: Option<bool>,
    /// Generation mode (`i2v_first_frame` …).
    pub video_mode: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Additional generated assets.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360Content {
    /// Last-frame image URL (when `return_last_frame=true`).
    pub last_frame_url: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The error of a failed task.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360TaskError {
    /// Provider or platform error code.
    pub code: Option<Value>,
    /// Human-readable message.
    pub message: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A JSON code that may arrive as a string or a number, as a string.
pub(crate) fn code_string(code: &Value) -> Option<String> {
    match code {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Token360Video {
    /// The normalized view of this record.
    pub fn normalize(&self) -> Job {
        let status = match self.status {
            Token360Status::Queued => JobStatus::Queued,
            Token360Status::InProgress => JobStatus::Running,
            Token360Status::Completed => JobStatus::Completed,
            Token360Status::Failed => JobStatus::Failed,
            Token360Status::Unknown(_) => JobStatus::Unknown,
        };
        let mut outputs = Vec::new();
        if status == JobStatus::Completed {
            if let Some(url) = self.url.as_ref().or(self.video_url.as_ref()) {
                let duration_ms = self
                    .duration
                    .as_ref()
                    .and_then(Number::as_f64)
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| (s * 1000.0).round() as u64);
                outputs.push(Output { duration_ms, ..Output::new(OutputKind::Video, url) });
            }
            if let Some(url) = self.content.as_ref().and_then(|c| c.last_frame_url.as_ref()) {
                outputs.push(Output::new(OutputKind::LastFrame, url));
            }
        }
        let error = (status == JobStatus::Failed).then(|| {
            let e = self.error.as_ref();
            let code = e.and_then(|e| e.code.as_ref()).and_then(code_string);
            let message = e
                .and_then(|e| e.message.clone())
                .unwrap_or_else(|| "the task failed without an error message".to_owned());
            JobError::from_code(code, message, None)
        });
        Job {
            provider: Provider::Token360,
            id: self.id.clone(),
            kind: Some(JobKind::Video),
            status,
            provider_status: self.status.to_string(),
            model: self.model.clone(),
            created_at: self.created_at.and_then(from_unix_seconds),
            updated_at: self.updated_at.and_then(from_unix_seconds),
            progress: self
                .progress
                .as_ref()
                .and_then(Number::as_f64)
                .filter(|p| p.is_finite())
                .map(|p| p.clamp(0.0, 100.0) as u8),
            outputs,
            error,
        }
    }
}
