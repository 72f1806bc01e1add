//! Error bodies the services answer with on HTTP errors.

use crate::field::Field;
use crate::token360::code_string;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use serde_with::apply;

/// useapi.net's error body: `{"error": "Job not found"}` (429 answers may add `retryAfter`).
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UseapiError {
    /// The message.
    pub error: String,
    /// Seconds to wait before retrying, on some 429 answers.
    pub retry_after: Field<Number>,
    /// Error code, when given.
    pub code: Field<Value>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// token360's OpenAI-style error envelope: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiErrorEnvelope {
    /// The error.
    pub error: OpenAiError,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The inside of an OpenAI-style error envelope.
#[apply(Field => #[serde(default, skip_serializing_if = "Field::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiError {
    /// Human-readable message.
    pub message: Field<String>,
    /// Error type (`rate_limit_error`, `insufficient_balance` …).
    #[serde(rename = "type")]
    pub error_type: Field<String>,
    /// The offending parameter, as raw JSON (often `null`).
    pub param: Field<Value>,
    /// Error code (string or number).
    pub code: Field<Value>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Any documented error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorBody {
    /// useapi.net form.
    Useapi(UseapiError),
    /// token360 (OpenAI-style) form.
    OpenAi(OpenAiErrorEnvelope),
}

impl ErrorBody {
    /// Parses an error body, or `None` when the bytes are not one of the documented forms.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The message to show a person.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Useapi(e) => Some(&e.error),
            Self::OpenAi(e) => e.error.message.as_deref(),
        }
    }

    /// The error code, as a string, when given.
    pub fn code(&self) -> Option<String> {
        match self {
            Self::Useapi(e) => e.code.as_option().and_then(code_string),
            Self::OpenAi(e) => e.error.code.as_option().and_then(code_string),
        }
    }

    /// Seconds the server asked to wait (useapi.net's `retryAfter`), when given.
    pub fn retry_after_seconds(&self) -> Option<f64> {
        match self {
            Self::Useapi(e) => e.retry_after.as_option()?.as_f64().filter(|s| s.is_finite() && *s >= 0.0),
            Self::OpenAi(_) => None,
        }
    }
}
