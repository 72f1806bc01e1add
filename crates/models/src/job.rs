//! The normalized job view: one shape for every provider, and the JSON contract of `genjob --json`.

use crate::id::retention;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A service whose jobs genjob reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Provider {
    /// useapi.net Dreamina (`/v1/dreamina/...`).
    Dreamina,
    /// useapi.net Google Flow (`/v1/google-flow/...`).
    GoogleFlow,
    /// token360 (`/v1/videos/...`).
    Token360,
    /// A provider added outside genjob, by its own name: an adapter written against the
    /// `JobSource` trait serves it through the same watcher. Its name reads back from JSON when it
    /// has 1 to 64 bytes and no control character (see [`Provider`]'s `Deserialize`).
    Custom(&'static str),
}

impl Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Provider {
    /// Reads a built-in provider's name (in any case), or any other as [`Provider::Custom`].
    ///
    /// A custom name must have 1 to 64 bytes and no control character. It is kept once for the
    /// life of the process (so `Provider` stays `Copy`), and at most 128 distinct names are: a
    /// hostile file cannot make the process keep more than a few kilobytes of them.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.parse() {
            Ok(provider) => Ok(provider),
            Err(UnknownProvider(_)) => custom_names::intern(&name).map(Self::Custom).map_err(serde::de::Error::custom),
        }
    }
}

/// The custom provider names read back from text, each kept once for the life of the process.
mod custom_names {
    use std::sync::{Mutex, PoisonError};

    /// Distinct names kept at most: more than any real set of adapters, few enough to be harmless.
    pub(super) const MAX_NAMES: usize = 128;
    /// The longest name kept, in bytes.
    pub(super) const MAX_BYTES: usize = 64;

    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

    /// The `'static` copy of `name`, made on its first use.
    pub(super) fn intern(name: &str) -> Result<&'static str, String> {
        if name.is_empty() || name.len() > MAX_BYTES || name.chars().any(char::is_control) {
            let shown: String = name.chars().take(MAX_BYTES).flat_map(char::escape_debug).collect();
            return Err(format!(
                "`{shown}` is not a provider name: a custom provider's name has 1 to {MAX_BYTES} bytes and no control character"
            ));
        }
        // A panic elsewhere while holding the lock leaves the list whole: each push is one step.
        let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = names.iter().find(|known| **known == name) {
            return Ok(known);
        }
        if names.len() >= MAX_NAMES {
            return Err(format!(
                "too many custom provider names (more than {MAX_NAMES}) read in this process: `{name}` is refused"
            ));
        }
        // The only leak, bounded by the two limits above: MAX_NAMES × MAX_BYTES.
        let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
        names.push(kept);
        Ok(kept)
    }
}

impl Provider {
    /// Every built-in provider, in a stable order.
    pub const ALL: [Provider; 3] = [Provider::Dreamina, Provider::GoogleFlow, Provider::Token360];

    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dreamina => "dreamina",
            Self::GoogleFlow => "google-flow",
            Self::Token360 => "token360",
            Self::Custom(name) => name,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name that genjob does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider `{0}`: use one of dreamina, google-flow, token360")]
pub struct UnknownProvider(pub String);

impl std::str::FromStr for Provider {
    type Err = UnknownProvider;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

/// What a job produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum JobKind {
    /// A generated video.
    Video,
    /// An upscaled video.
    VideoUpscale,
    /// A frame-interpolated video.
    VideoInterpolate,
    /// Generated images.
    Image,
    /// An upscaled image.
    ImageUpscale,
}

impl JobKind {
    /// True for the kinds whose output is a video.
    pub fn is_video(self) -> bool {
        matches!(self, Self::Video | Self::VideoUpscale | Self::VideoInterpolate)
    }
}

/// Where a job stands, the same words for every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    /// Accepted, not started (Dreamina `created`, Google Flow `created`, token360 `queued`).
    Queued,
    /// Generating (Google Flow `started`, token360 `in_progress`).
    Running,
    /// Finished with outputs.
    Completed,
    /// Finished without outputs; see [`Job::error`].
    Failed,
    /// A status value this version does not know; the raw value is in [`Job::provider_status`].
    Unknown,
}

impl JobStatus {
    /// True for `completed` and `failed`: nothing will change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// The word used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an output file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutputKind {
    /// The generated video.
    Video,
    /// A generated image.
    Image,
    /// A cover or thumbnail image of a video.
    Thumbnail,
    /// The last frame of a video, as an image.
    LastFrame,
}

impl OutputKind {
    /// The usual file extension for the kind, used to name downloads.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Video => "mp4",
            Self::Image | Self::Thumbnail | Self::LastFrame => "jpg",
        }
    }
}

/// One downloadable result of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// What the file is.
    pub kind: OutputKind,
    /// Where to fetch it (often a signed URL that expires).
    pub url: String,
    /// Width in pixels, when known.
    pub width: Option<u32>,
    /// Height in pixels, when known.
    pub height: Option<u32>,
    /// Duration in milliseconds, for videos, when known.
    pub duration_ms: Option<u64>,
    /// An id a later request can reuse (Dreamina `assetRef`/`assetId`, Google Flow `mediaGenerationId`).
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// When the URL stops working, when the record says (token360 `expires_at`).
    pub expires_at: Option<Timestamp>,
}

impl Output {
    /// An output with only a kind and URL known.
    pub fn new(kind: OutputKind, url: impl Into<String>) -> Self {
        Self { kind, url: url.into(), width: None, height: None, duration_ms: None, reference: None, expires_at: None }
    }
}

/// Why a failed job failed, in provider-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCategory {
    /// The job did not finish in time (useapi.net code 408, or genjob's local 1-hour rule).
    TimedOut,
    /// The provider account cannot work (useapi.net 596: session expired, re-add the account).
    Account,
    /// The prompt or inputs were refused (Dreamina 2038).
    ContentFiltered,
    /// The generated output was withheld by moderation (Dreamina 2043).
    OutputModerated,
    /// The upstream service failed (Dreamina 2057, any 5xx).
    Upstream,
    /// Anything else.
    Unknown,
}

impl ErrorCategory {
    /// Classifies a provider error code as documented; the bool says whether resubmitting may help.
    pub fn classify(code: Option<&str>) -> (Self, bool) {
        let Some(code) = code.map(str::trim) else {
            return (Self::Unknown, false);
        };
        match code {
            "408" => (Self::TimedOut, true),
            "596" => (Self::Account, false),
            "2038" => (Self::ContentFiltered, false),
            "2043" => (Self::OutputModerated, false),
            "2057" => (Self::Upstream, true),
            c if c.len() == 3 && c.starts_with('5') && c.bytes().all(|b| b.is_ascii_digit()) => (Self::Upstream, true),
            c => Self::classify_words(c).unwrap_or((Self::Unknown, false)),
        }
    }

    /// Classifies an OpenAI-style error (token360): the string `code`, else the error `type`.
    ///
    /// ```
    /// use genjob_models::ErrorCategory;
    /// assert_eq!(ErrorCategory::classify_openai(Some("moderation_blocked"), None), (ErrorCategory::ContentFiltered, false));
    /// assert_eq!(ErrorCategory::classify_openai(None, Some("server_error")), (ErrorCategory::Upstream, true));
    /// ```
    pub fn classify_openai(code: Option<&str>, error_type: Option<&str>) -> (Self, bool) {
        match Self::classify(code) {
            (Self::Unknown, _) => error_type.and_then(Self::classify_words).unwrap_or((Self::Unknown, false)),
            known => known,
        }
    }

    /// Reads what a textual code or type says (`content_policy_violation`, `rate_limit_exceeded` …).
    fn classify_words(text: &str) -> Option<(Self, bool)> {
        let t = text.trim().to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
        if has(&["moderation", "content_policy", "policy_violation", "safety", "sensitive", "content_filter", "nsfw"]) {
            Some((Self::ContentFiltered, false))
        } else if has(&["timeout", "timed_out", "deadline"]) {
            Some((Self::TimedOut, true))
        } else if has(&["rate_limit", "overloaded", "server_error", "internal", "unavailable", "capacity", "busy"]) {
            Some((Self::Upstream, true))
        } else if has(&["balance", "quota", "billing", "api_key", "unauthorized", "permission", "account"]) {
            Some((Self::Account, false))
        } else {
            None
        }
    }
}

/// The error of a failed job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    /// The provider's code as a string (`"2043"`, `"408"`, token360's string codes).
    pub code: Option<String>,
    /// The provider's message (`"fail_code: 2043"`, `"Generation timed out"`).
    pub message: String,
    /// Extra detail (`"OutputVideoRisk"`, an upstream message).
    pub detail: Option<String>,
    /// The provider-neutral reason.
    pub category: ErrorCategory,
    /// Whether submitting the same job again may succeed.
    pub retryable: bool,
}

impl JobError {
    /// Builds an error whose category and retryability follow from the code.
    pub fn from_code(code: Option<String>, message: impl Into<String>, detail: Option<String>) -> Self {
        let (category, retryable) = ErrorCategory::classify(code.as_deref());
        Self { code, message: message.into(), detail, category, retryable }
    }

    /// Builds an OpenAI-style error (token360): classified by its string code, else its type.
    pub fn from_openai(code: Option<String>, error_type: Option<&str>, message: impl Into<String>) -> Self {
        let (category, retryable) = ErrorCategory::classify_openai(code.as_deref(), error_type);
        Self { code, message: message.into(), detail: error_type.map(str::to_owned), category, retryable }
    }

    /// The error genjob records when a Dreamina job is still `created` an hour after creation.
    pub fn generation_timed_out() -> Self {
        Self::from_code(
            Some("408".to_owned()),
            "Generation timed out",
            Some("still created 60 minutes after creation; failed locally by the 1-hour rule".to_owned()),
        )
    }
}

/// One job as genjob sees it, whatever the provider.
///
/// Field names are a contract: this is the line `genjob … --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The service that runs the job.
    pub provider: Provider,
    /// The job id exactly as the provider gave it.
    pub id: String,
    /// What the job produces, when known.
    pub kind: Option<JobKind>,
    /// The normalized status.
    pub status: JobStatus,
    /// The provider's own status string, verbatim.
    pub provider_status: String,
    /// The model that runs the job, when known.
    pub model: Option<String>,
    /// When the job was created.
    pub created_at: Option<Timestamp>,
    /// When the provider last changed the job.
    pub updated_at: Option<Timestamp>,
    /// Progress in percent (0–100), when the provider reports it.
    pub progress: Option<u8>,
    /// The downloadable results (empty until completed).
    pub outputs: Vec<Output>,
    /// Why the job failed, for failed jobs.
    pub error: Option<JobError>,
}

impl Job {
    /// True once the job is completed or failed.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// True when the provider no longer keeps the job at `now` (Dreamina 30 days, Google Flow 7 days).
    pub fn expired(&self, now: Timestamp) -> bool {
        match (self.created_at, retention(self.provider)) {
            (Some(created), Some(keep)) => created.checked_add(keep).is_ok_and(|end| now > end),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str) -> Result<Provider, serde_json::Error> {
        serde_json::from_value(serde_json::Value::String(name.to_owned()))
    }

    // One test, because the names it keeps are the process's: filling them must come last.
    #[test]
    fn custom_names_round_trip_once_each_and_boundedly() -> Result<(), serde_json::Error> {
        for provider in Provider::ALL.into_iter().chain([Provider::Custom("acme"), Provider::Custom("Ünïcode x")]) {
            assert_eq!(serde_json::from_str::<Provider>(&serde_json::to_string(&provider)?)?, provider);
        }
        // Read twice, kept once.
        let (Provider::Custom(a), Provider::Custom(b)) = (read("studio-7")?, read("studio-7")?) else {
            panic!("a custom name reads back as Custom");
        };
        assert!(std::ptr::eq(a, b));
        for bad in ["", "line\nbreak", &"x".repeat(custom_names::MAX_BYTES + 1)] {
            assert!(read(bad).is_err_and(|e| e.to_string().contains("not a provider name")), "{bad:?}");
        }
        for i in 0..custom_names::MAX_NAMES {
            let _ = read(&format!("filler-{i}"));
        }
        assert!(read("one-too-many").is_err_and(|e| e.to_string().contains("too many custom provider names")));
        // Names already kept still read back.
        assert_eq!(read("acme")?, Provider::Custom("acme"));
        Ok(())
    }
}
