//! Any provider's job record, decoded from bytes by endpoint or recognised by its shape.

use crate::dreamina::{DreaminaImageJob, DreaminaVideoJob, ExecutingJobs};
use crate::google_flow::GoogleFlowJob;
use crate::id::{Endpoint, JobId};
use crate::job::{Job, JobKind, Provider};
use crate::token360::Token360Video;
use serde_json::Value;

/// A job record from any provider, typed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProviderRecord {
    /// From `GET /v1/dreamina/videos/{jobid}`.
    DreaminaVideo(DreaminaVideoJob),
    /// From `GET /v1/dreamina/images/{jobid}`.
    DreaminaImage(DreaminaImageJob),
    /// From `GET /v1/google-flow/jobs/{jobId}`.
    GoogleFlow(GoogleFlowJob),
    /// From token360 `GET /v1/videos/{video_id}`.
    Token360(Token360Video),
    /// From a provider added outside genjob: its JSON as received, and the view its adapter made.
    Custom(CustomRecord),
}

/// The record of a provider genjob does not know: kept as JSON, normalized by its own adapter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CustomRecord {
    /// The JSON the provider answered.
    pub value: Value,
    /// The normalized view the adapter made of it.
    pub job: Box<Job>,
}

impl CustomRecord {
    /// A record whose normalized view the adapter computed.
    pub fn new(value: Value, job: Job) -> Self {
        Self { value, job: Box::new(job) }
    }
}

/// Why bytes could not be read as a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not JSON, or the JSON does not have the record's shape.
    #[error("not a valid {what}: {reason}")]
    Invalid {
        /// What was expected (`Dreamina video job record`).
        what: &'static str,
        /// The JSON error (with line and column when the JSON itself is malformed).
        reason: String,
    },
    /// The endpoint answers with something other than a job record.
    #[error("{0} does not return a job record")]
    NotAJobRecord(Endpoint),
    /// The JSON's shape matches no provider's job record.
    #[error("cannot tell which provider this JSON comes from ({0}); pass --provider dreamina|google-flow|token360")]
    UnknownShape(String),
}

fn what(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::DreaminaVideos => "Dreamina video job record",
        Endpoint::DreaminaImages => "Dreamina image job record",
        Endpoint::DreaminaScheduler => "Dreamina scheduler listing",
        Endpoint::GoogleFlowJobs => "Google Flow job record",
        Endpoint::Token360Videos => "token360 video object",
    }
}

fn invalid(endpoint: Endpoint, e: serde_json::Error) -> DecodeError {
    DecodeError::Invalid { what: what(endpoint), reason: e.to_string() }
}

impl ProviderRecord {
    /// Decodes bytes read from `endpoint`.
    ///
    /// A key given twice counts once, the last ([`decode_last_key_wins`]), as everywhere.
    pub fn from_slice(endpoint: Endpoint, bytes: &[u8]) -> Result<Self, DecodeError> {
        let e = |err| invalid(endpoint, err);
        Ok(match endpoint {
            Endpoint::DreaminaVideos => Self::DreaminaVideo(decode_last_key_wins(bytes).map_err(e)?),
            Endpoint::DreaminaImages => Self::DreaminaImage(decode_last_key_wins(bytes).map_err(e)?),
            Endpoint::GoogleFlowJobs => Self::GoogleFlow(decode_last_key_wins(bytes).map_err(e)?),
            Endpoint::Token360Videos => Self::Token360(decode_last_key_wins(bytes).map_err(e)?),
            Endpoint::DreaminaScheduler => return Err(DecodeError::NotAJobRecord(endpoint)),
        })
    }

    /// Decodes a JSON value read from `endpoint`.
    pub fn from_value(endpoint: Endpoint, value: Value) -> Result<Self, DecodeError> {
        let e = |err| invalid(endpoint, err);
        Ok(match endpoint {
            Endpoint::DreaminaVideos => Self::DreaminaVideo(serde_json::from_value(value).map_err(e)?),
            Endpoint::DreaminaImages => Self::DreaminaImage(serde_json::from_value(value).map_err(e)?),
            Endpoint::GoogleFlowJobs => Self::GoogleFlow(serde_json::from_value(value).map_err(e)?),
            Endpoint::Token360Videos => Self::Token360(serde_json::from_value(value).map_err(e)?),
            Endpoint::DreaminaScheduler => return Err(DecodeError::NotAJobRecord(endpoint)),
        })
    }

    /// Recognises a record by its shape and decodes it (`genjob normalize` without `--provider`).
    pub fn detect(value: Value) -> Result<Self, DecodeError> {
        let endpoint = detect_endpoint(&value)?;
        Self::from_value(endpoint, value)
    }

    /// The normalized view.
    pub fn normalize(&self) -> Job {
        match self {
            Self::DreaminaVideo(r) => r.normalize(),
            Self::DreaminaImage(r) => r.normalize(),
            Self::GoogleFlow(r) => r.normalize(),
            Self::Token360(r) => r.normalize(),
            Self::Custom(r) => (*r.job).clone(),
        }
    }

    /// The provider the record comes from.
    pub fn provider(&self) -> Provider {
        match self {
            Self::DreaminaVideo(_) | Self::DreaminaImage(_) => Provider::Dreamina,
            Self::GoogleFlow(_) => Provider::GoogleFlow,
            Self::Token360(_) => Provider::Token360,
            Self::Custom(r) => r.job.provider,
        }
    }

    /// The documented response the record is, for a built-in provider.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Self::DreaminaVideo(_) => Some(Endpoint::DreaminaVideos),
            Self::DreaminaImage(_) => Some(Endpoint::DreaminaImages),
            Self::GoogleFlow(_) => Some(Endpoint::GoogleFlowJobs),
            Self::Token360(_) => Some(Endpoint::Token360Videos),
            Self::Custom(_) => None,
        }
    }

    /// The record as JSON, equal to what was decoded (unknown fields included).
    pub fn to_value(&self) -> Value {
        let v = match self {
            Self::DreaminaVideo(r) => serde_json::to_value(r),
            Self::DreaminaImage(r) => serde_json::to_value(r),
            Self::GoogleFlow(r) => serde_json::to_value(r),
            Self::Token360(r) => serde_json::to_value(r),
            Self::Custom(r) => Ok(r.value.clone()),
        };
        // Serializing these types cannot fail: every map key is a string and no custom serializer errors.
        v.unwrap_or(Value::Null)
    }
}

/// Decodes `bytes` as `T` with one verdict on a key given twice in the same object: the last
/// occurrence wins, at every depth, as in JavaScript's `JSON.parse`, Python's `json` and Go's
/// `encoding/json` — and as a record read through a JSON value (`genjob normalize`) gets it.
///
/// Straight from bytes, a derived struct refuses a known field given twice (`duplicate field`)
/// while a JSON value keeps the last one; so the fast typed decode is tried first, and whatever it
/// refuses is decided through a JSON value. A record the typed decode accepts has no repeated
/// field, so both ways agree on it.
pub fn decode_last_key_wins<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    // On a refusal the typed error is kept: it names the line and column.
    serde_json::from_slice(bytes).or_else(|typed| {
        let through_value = serde_json::from_slice::<Value>(bytes).ok().and_then(|v| serde_json::from_value(v).ok());
        through_value.ok_or(typed)
    })
}

/// Recognises which endpoint a JSON value was read from, by its shape.
pub fn detect_endpoint(value: &Value) -> Result<Endpoint, DecodeError> {
    let Some(obj) = value.as_object() else {
        return Err(DecodeError::UnknownShape("the JSON is not an object".to_owned()));
    };
    if obj.contains_key("executing") {
        return Ok(Endpoint::DreaminaScheduler);
    }
    if obj.get("object").and_then(Value::as_str) == Some("video")
        || (obj.contains_key("id") && !obj.contains_key("jobid"))
    {
        return Ok(Endpoint::Token360Videos);
    }
    let Some(jobid) = obj.get("jobid").and_then(Value::as_str) else {
        return Err(DecodeError::UnknownShape("it has neither `jobid` nor `id`".to_owned()));
    };
    let typ = obj.get("type").and_then(Value::as_str);
    let id = JobId::parse(jobid).ok();
    match id.as_ref().and_then(JobId::provider) {
        Some(Provider::GoogleFlow) => Ok(Endpoint::GoogleFlowJobs),
        Some(Provider::Dreamina) => Ok(match (typ, id.as_ref().and_then(JobId::kind)) {
            (Some("image" | "upscale"), _) => Endpoint::DreaminaImages,
            (Some("video" | "video-upscale" | "video-interpolate"), _) => Endpoint::DreaminaVideos,
            (_, Some(JobKind::Image | JobKind::ImageUpscale)) => Endpoint::DreaminaImages,
            _ => Endpoint::DreaminaVideos,
        }),
        _ => {
            let response = obj.get("response");
            if response.and_then(|r| r.get("media")).is_some()
                || obj.get("request").and_then(|r| r.get("email")).is_some()
            {
                Ok(Endpoint::GoogleFlowJobs)
            } else if response.and_then(|r| r.get("images")).is_some() {
                Ok(Endpoint::DreaminaImages)
            } else if response.and_then(|r| r.get("videoUrl")).is_some() {
                Ok(Endpoint::DreaminaVideos)
            } else {
                Err(DecodeError::UnknownShape(format!("the job id `{jobid}` matches no provider's format")))
            }
        }
    }
}

/// Decodes a scheduler listing.
pub fn decode_executing(bytes: &[u8]) -> Result<ExecutingJobs, DecodeError> {
    decode_last_key_wins(bytes).map_err(|e| invalid(Endpoint::DreaminaScheduler, e))
}
