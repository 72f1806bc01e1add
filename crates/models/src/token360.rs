//! token360 records: the OpenAI-style video object (`GET /v1/videos/{video_id}`).

use crate::field::Field;
use crate::job::{Job, JobError, JobKind, JobStatus, Output, OutputKind, Provider};
use crate::open_enum::open_enum;
use crate::time::from_unix_seconds;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use serde_with::apply;

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
        /// Stopped before it finished (OpenAI-style): final, without outputs.
        Cancelled = "cancelled",
    }
}

/// A token360 video task.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360Video {
    /// Task id.
    pub id: String,
    /// Always `video`.
    pub object: Field<String>,
    /// Where the task stands.
    pub status: Token360Status,
    /// Model.
    pub model: Field<String>,
    /// Prompt.
    pub prompt: Field<String>,
    /// Creation time, Unix seconds.
    pub created_at: Field<i64>,
    /// Last update, Unix seconds.
    pub updated_at: Field<i64>,
    /// Completion time, Unix seconds (OpenAI-style records).
    pub completed_at: Field<i64>,
    /// When the generated file stops being downloadable, Unix seconds (OpenAI-style records).
    pub expires_at: Field<i64>,
    /// Clip length in seconds: a string in OpenAI's shape (`"8"`), a number accepted too.
    pub seconds: Field<Value>,
    /// Frame size (`"1280x720"`; OpenAI-style records); kept whatever its JSON type.
    pub size: Field<Value>,
    /// The video this one remixes, if any.
    pub remixed_from_video_id: Field<String>,
    /// Progress in percent.
    pub progress: Field<Number>,
    /// Echo of the generation parameters.
    pub parameters: Field<Token360Parameters>,
    /// Presigned video URL when completed.
    pub url: Field<String>,
    /// Video URL when available.
    pub video_url: Field<String>,
    /// Final duration in seconds.
    pub duration: Field<Number>,
    /// Provider-specific resolution echo (`720p`).
    pub resolution: Field<String>,
    /// Additional assets.
    pub content: Field<Token360Content>,
    /// Error details when failed.
    pub error: Field<Token360TaskError>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Echo of the generation parameters.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360Parameters {
    /// Requested duration in seconds.
    pub duration: Field<Number>,
    /// Requested resolution.
    pub resolution: Field<String>,
    /// Requested aspect ratio.
    pub aspect_ratio: Field<String>,
    /// Seed.
    pub seed: Field<i64>,
    /// Whether audio was requested.
    pub audio: Field<bool>,
    /// Whether a watermark was requested.
    pub watermark: Field<bool>,
    /// Generation mode (`i2v_first_frame` …).
    pub video_mode: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Additional generated assets.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360Content {
    /// Last-frame image URL (when `return_last_frame=true`).
    pub last_frame_url: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The error of a failed task.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360TaskError {
    /// Provider or platform error code.
    pub code: Field<Value>,
    /// Human-readable message.
    pub message: Field<String>,
    /// OpenAI-style error type (`invalid_request_error`, `server_error` …).
    #[serde(rename = "type")]
    pub error_type: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of the account's videos, newest first (`GET /v1/videos?limit=&after=`).
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360VideoList {
    /// Always `list`.
    pub object: Field<String>,
    /// The videos of this page.
    #[serde(default)]
    pub data: Vec<Token360Video>,
    /// Whether older videos follow.
    pub has_more: Field<bool>,
    /// Id of the first video of the page.
    pub first_id: Field<String>,
    /// Id of the last video of the page (the `after` of the next page).
    pub last_id: Field<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where a finished video's file can be downloaded (`GET /v1/videos/{video_id}/content`).
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token360ContentUrl {
    /// A signed download URL.
    pub url: Field<String>,
    /// The video it belongs to.
    pub video_id: Field<String>,
    /// Seconds until the URL stops working.
    pub expires_in: Field<Number>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// A key given twice counts once, the last, whether the bytes or a JSON value are decoded.

/// A JSON code that may arrive as a string or a number, as a string.
pub(crate) fn code_string(code: &Value) -> Option<String> {
    match code {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `"1280x720"` as width and height.
fn frame_size(size: &str) -> Option<(u32, u32)> {
    let (w, h) = size.trim().split_once(['x', 'X', '×'])?;
    Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
}

impl Token360Video {
    /// The normalized view of this record.
    pub fn normalize(&self) -> Job {
        let status = match &self.status {
            Token360Status::Queued => JobStatus::Queued,
            Token360Status::InProgress => JobStatus::Running,
            Token360Status::Completed => JobStatus::Completed,
            // A cancelled task will not finish: it ends the wait as a failure, not as "still running".
            Token360Status::Failed | Token360Status::Cancelled => JobStatus::Failed,
            // The American spelling, which OpenAI-compatible servers also send.
            Token360Status::Unknown(raw) if raw == "canceled" => JobStatus::Failed,
            Token360Status::Unknown(_) => JobStatus::Unknown,
        };
        let mut outputs = Vec::new();
        let expires_at = self.expires_at.into_option().and_then(from_unix_seconds);
        if status == JobStatus::Completed {
            if let Some(url) = self.url.as_option().or(self.video_url.as_option()) {
                let seconds =
                    self.duration.as_option().and_then(Number::as_f64).or_else(|| match self.seconds.as_option() {
                        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                        Some(Value::Number(n)) => n.as_f64(),
                        _ => None,
                    });
                let duration_ms = seconds.filter(|s| s.is_finite() && *s >= 0.0).map(|s| (s * 1000.0).round() as u64);
                let (width, height) = self.size.as_option().and_then(Value::as_str).and_then(frame_size).unzip();
                outputs.push(Output { duration_ms, width, height, expires_at, ..Output::new(OutputKind::Video, url) });
            }
            if let Some(url) = self.content.as_option().and_then(|c| c.last_frame_url.as_option()) {
                outputs.push(Output { expires_at, ..Output::new(OutputKind::LastFrame, url) });
            }
        }
        let error = (status == JobStatus::Failed).then(|| {
            let e = self.error.as_option();
            let code = e.and_then(|e| e.code.as_option()).and_then(code_string);
            let given = e.and_then(|e| e.message.as_deref());
            let message = match (self.status == Token360Status::Failed, given) {
                (true, Some(m)) => m.to_owned(),
                (true, None) => "the task failed without an error message".to_owned(),
                // Cancelled: the reason says so, whatever message comes with it.
                (false, Some(m)) => format!("the task was cancelled: {m}"),
                (false, None) => format!("the task was cancelled before it finished (status `{}`)", self.status),
            };
            let error_type = e.and_then(|e| e.error_type.as_deref());
            JobError::from_openai(code, error_type, message)
        });
        Job {
            provider: Provider::Token360,
            id: self.id.clone(),
            kind: Some(JobKind::Video),
            status,
            provider_status: self.status.to_string(),
            model: self.model.as_option().cloned(),
            created_at: self.created_at.into_option().and_then(from_unix_seconds),
            // OpenAI-style records carry `completed_at` instead of `updated_at`.
            updated_at: self.updated_at.into_option().or(self.completed_at.into_option()).and_then(from_unix_seconds),
            progress: self
                .progress
                .as_option()
                .and_then(Number::as_f64)
                .filter(|p| p.is_finite())
                .map(|p| p.clamp(0.0, 100.0) as u8),
            outputs,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Endpoint;
    use crate::record::ProviderRecord;

    fn from_bytes(body: &str) -> Result<Token360Video, serde_json::Error> {
        serde_json::from_str(body)
    }

    #[test]
    fn a_cancelled_task_is_failed_with_a_reason() -> Result<(), serde_json::Error> {
        for status in ["cancelled", "canceled"] {
            let job =
                from_bytes(&format!(r#"{{"id": "video_1", "object": "video", "status": "{status}"}}"#))?.normalize();
            assert_eq!((job.status, job.provider_status.as_str()), (JobStatus::Failed, status));
            let error = job.error.map(|e| e.message).unwrap_or_default();
            assert_eq!(error, format!("the task was cancelled before it finished (status `{status}`)"));
        }
        let said = r#"{"id": "video_1", "status": "cancelled", "error": {"message": "cancelled by the user"}}"#;
        let job = from_bytes(said)?.normalize();
        assert_eq!(job.error.map(|e| e.message).as_deref(), Some("the task was cancelled: cancelled by the user"));
        // Still lossless: the value is kept as sent.
        assert_eq!(serde_json::to_value(from_bytes(said)?)?["status"], "cancelled");
        Ok(())
    }

    #[test]
    fn a_key_given_twice_has_one_verdict_from_bytes_and_from_a_value() -> Result<(), Box<dyn std::error::Error>> {
        let body = r#"{"id": "video_1", "object": "video", "status": "in_progress", "status": "completed",
                       "url": "https://cdn.example/a.mp4", "error": {"message": "a", "message": "b"}, "x": 1, "x": 2}"#;
        let from_bytes = ProviderRecord::from_slice(Endpoint::Token360Videos, body.as_bytes())?;
        let value: serde_json::Value = serde_json::from_str(body)?;
        let from_value = ProviderRecord::from_value(Endpoint::Token360Videos, value)?;
        assert_eq!(from_bytes, from_value);
        let job = from_bytes.normalize();
        assert_eq!(job.status, JobStatus::Completed, "the last `status` wins");
        assert_eq!(from_bytes.to_value()["x"], 2);
        let page: Token360VideoList = crate::record::decode_last_key_wins(
            br#"{"object": "list", "data": [], "has_more": true, "has_more": false}"#,
        )?;
        assert_eq!(page.has_more.into_option(), Some(false));
        Ok(())
    }

    #[test]
    fn a_bad_record_is_still_refused_with_the_reason() {
        let error = ProviderRecord::from_slice(Endpoint::Token360Videos, br#"{"id": 5, "status": "queued"}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("not a valid token360 video object: invalid type: integer `5`"), "{error}");
    }
}
