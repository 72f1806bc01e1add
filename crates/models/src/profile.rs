//! What a record says about how long its job should take: the request's size, and when it finished.
//!
//! A poller that learns how long jobs take groups them by what makes them slow: the model, and the
//! request's clip length, resolution and output count. [`ProviderRecord::request_profile`] reads
//! those from any record; [`ProviderRecord::finished_at`] reads the provider's own finish time, so a
//! job's time-to-finish comes from its record, never from when someone happened to look.

use crate::dreamina::Resolution;
use crate::field::Field;
use crate::google_flow::GoogleFlowJob;
use crate::record::ProviderRecord;
use crate::time::{RawTime, from_unix_seconds};
use crate::token360::Token360Video;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use std::fmt;

/// The longest text kept from a provider's resolution field: a profile is a grouping key, not a copy.
const MAX_TEXT: usize = 32;

/// The parts of a request that change how long a job runs (clip length, resolution, outputs).
///
/// ```
/// use genjob_models::{Endpoint, ProviderRecord};
/// let body = br#"{"jobid": "j1", "status": "created", "request": {"duration": 5, "resolution": "1080p"}}"#;
/// let profile = ProviderRecord::from_slice(Endpoint::DreaminaVideos, body)?.request_profile();
/// assert_eq!(profile.to_string(), "5s 1080p");
/// # Ok::<(), genjob_models::DecodeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestProfile {
    /// The requested clip length in whole seconds (videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    /// The requested resolution as the provider writes it (`720p`, `4k`, `1280x720`), lower case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// The number of outputs requested (Google Flow `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl RequestProfile {
    /// A profile from its parts; the resolution is trimmed, lower-cased and cut to a few characters.
    pub fn new(duration_s: Option<u32>, resolution: Option<&str>, count: Option<u32>) -> Self {
        let resolution = resolution.map(clean).filter(|r| !r.is_empty());
        Self { duration_s, resolution, count }
    }

    /// True when the record said nothing about its request's size.
    pub fn is_empty(&self) -> bool {
        self.duration_s.is_none() && self.resolution.is_none() && self.count.is_none()
    }
}

impl fmt::Display for RequestProfile {
    /// `5s 1080p ×2`; empty when nothing is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(d) = self.duration_s {
            parts.push(format!("{d}s"));
        }
        if let Some(r) = &self.resolution {
            parts.push(r.clone());
        }
        if let Some(c) = self.count {
            parts.push(format!("×{c}"));
        }
        f.write_str(&parts.join(" "))
    }
}

/// Lower case, trimmed, at most [`MAX_TEXT`] characters.
fn clean(raw: &str) -> String {
    raw.trim().chars().take(MAX_TEXT).collect::<String>().to_lowercase()
}

/// A whole number of seconds from a JSON number or a numeric string (`8`, `8.0`, `"8"`).
fn whole_seconds(value: &Value) -> Option<u32> {
    let secs = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().trim_end_matches('s').parse::<f64>().ok()?,
        _ => return None,
    };
    // Anything past a day is not a clip length; rounding keeps `4.9999` from becoming 4.
    (secs.is_finite() && (0.0..=86_400.0).contains(&secs)).then(|| secs.round() as u32)
}

fn number_seconds(n: &Field<Number>) -> Option<u32> {
    n.as_option().and_then(|n| whole_seconds(&Value::Number(n.clone())))
}

fn resolution_text(r: &Resolution) -> String {
    r.as_str().to_owned()
}

impl ProviderRecord {
    /// The request's clip length, resolution and output count, where the record gives them.
    pub fn request_profile(&self) -> RequestProfile {
        match self {
            Self::DreaminaVideo(r) => {
                let request = r.request.as_option();
                RequestProfile::new(
                    request.and_then(|q| q.duration.into_option()),
                    request.and_then(|q| q.resolution.as_option()).map(resolution_text).as_deref(),
                    None,
                )
            }
            Self::DreaminaImage(r) => {
                let resolution = r.request.as_option().and_then(|q| q.resolution.as_option()).map(resolution_text);
                RequestProfile::new(None, resolution.as_deref(), None)
            }
            Self::GoogleFlow(r) => flow_profile(r),
            Self::Token360(r) => token360_profile(r),
            // Another provider's request is its adapter's business: no profile.
            Self::Custom(_) => RequestProfile::new(None, None, None),
        }
    }

    /// When the provider says the job finished: its own finish or update time, for a finished record.
    ///
    /// Dreamina: `updated` (exact to the millisecond), unless `updated` moved on more than two seconds
    /// after a `response.finishTime` that lies between `created` and `updated` (as when an upscale of
    /// the video starts later; the documented example's `finishTime` is years away from its
    /// `created`, so it must be checked); Google Flow: `updated`; token360: the
    /// OpenAI-style `completed_at`, else `updated_at`. `None` for a record that is not finished or
    /// carries no usable time.
    pub fn finished_at(&self) -> Option<Timestamp> {
        let job = self.normalize();
        if !job.status.is_terminal() {
            return None;
        }
        let dreamina = |updated: Option<&RawTime>, finish: Option<i64>| {
            let updated = updated.and_then(RawTime::timestamp);
            let finish = finish.and_then(from_unix_seconds).filter(|f| {
                // Whole seconds: a finish in the second before `created` is still plausible.
                let after_created = job.created_at.is_none_or(|c| f.as_second() >= c.as_second());
                // `finishTime` only when `updated` moved on since: it is whole seconds, `updated` is exact.
                let updated_later = updated.is_none_or(|u| u.as_second() > f.as_second().saturating_add(2));
                after_created && updated.is_none_or(|u| f.as_second() <= u.as_second()) && updated_later
            });
            finish.or(updated)
        };
        match self {
            Self::DreaminaVideo(r) => {
                dreamina(r.updated.as_option(), r.response.as_option().and_then(|x| x.finish_time.into_option()))
            }
            Self::DreaminaImage(r) => {
                dreamina(r.updated.as_option(), r.response.as_option().and_then(|x| x.finish_time.into_option()))
            }
            Self::GoogleFlow(r) => r.updated.as_option().and_then(RawTime::timestamp),
            Self::Token360(r) => r
                .completed_at
                .into_option()
                .and_then(from_unix_seconds)
                .or_else(|| r.updated_at.into_option().and_then(from_unix_seconds)),
            Self::Custom(r) => r.job.updated_at,
        }
    }
}

fn flow_profile(r: &GoogleFlowJob) -> RequestProfile {
    let count = r.request.as_option().and_then(|q| q.count.into_option());
    RequestProfile::new(None, None, count)
}

fn token360_profile(r: &Token360Video) -> RequestProfile {
    let parameters = r.parameters.as_option();
    // The documented shape echoes `parameters`; the OpenAI shape has top-level `seconds` and `size`.
    let duration =
        parameters.and_then(|p| number_seconds(&p.duration)).or_else(|| r.seconds.as_option().and_then(whole_seconds));
    let resolution = parameters
        .and_then(|p| p.resolution.as_deref())
        .or_else(|| r.size.as_option().and_then(Value::as_str))
        .or_else(|| r.resolution.as_deref());
    RequestProfile::new(duration, resolution, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Endpoint;

    fn record(endpoint: Endpoint, json: &str) -> ProviderRecord {
        match ProviderRecord::from_slice(endpoint, json.as_bytes()) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn each_provider_names_its_request_size() {
        let dreamina = record(
            Endpoint::DreaminaVideos,
            r#"{"jobid":"j","status":"created","request":{"duration":10,"resolution":"1080p"}}"#,
        );
        assert_eq!(dreamina.request_profile(), RequestProfile::new(Some(10), Some("1080p"), None));
        let image =
            record(Endpoint::DreaminaImages, r#"{"jobid":"j","status":"created","request":{"resolution":"4k"}}"#);
        assert_eq!(image.request_profile().to_string(), "4k");
        let flow = record(Endpoint::GoogleFlowJobs, r#"{"jobid":"j","status":"created","request":{"count":4}}"#);
        assert_eq!(flow.request_profile().to_string(), "×4");
        let documented = record(
            Endpoint::Token360Videos,
            r#"{"id":"v","status":"queued","parameters":{"duration":4,"resolution":"720P"}}"#,
        );
        assert_eq!(documented.request_profile().to_string(), "4s 720p");
        let openai =
            record(Endpoint::Token360Videos, r#"{"id":"v","status":"queued","seconds":"8","size":"1280x720"}"#);
        assert_eq!(openai.request_profile().to_string(), "8s 1280x720");
        let bare = record(Endpoint::Token360Videos, r#"{"id":"v","status":"queued"}"#);
        assert!(bare.request_profile().is_empty());
    }

    #[test]
    fn hostile_sizes_are_bounded_or_dropped() {
        let long = "x".repeat(10_000);
        let json = format!(r#"{{"id":"v","status":"queued","seconds":-5,"size":"{long}"}}"#);
        let profile = record(Endpoint::Token360Videos, &json).request_profile();
        assert_eq!(profile.duration_s, None);
        assert_eq!(profile.resolution.map(|r| r.len()), Some(MAX_TEXT));
        let huge = record(Endpoint::Token360Videos, r#"{"id":"v","status":"queued","seconds":1e300}"#);
        assert_eq!(huge.request_profile().duration_s, None);
    }

    #[test]
    fn finish_times_come_from_the_record_and_only_for_finished_jobs() {
        let done = record(
            Endpoint::DreaminaVideos,
            r#"{"jobid":"j","status":"completed","created":"2026-02-23T14:05:30.123Z",
                "updated":"2026-02-23T14:07:15.456Z","response":{"finishTime":1708700835}}"#,
        );
        assert_eq!(done.finished_at().map(|t| t.to_string()).as_deref(), Some("2026-02-23T14:07:15.456Z"));
        // A consistent whole-second finish time: `updated` is the exact one.
        let exact = record(
            Endpoint::DreaminaVideos,
            r#"{"jobid":"j","status":"completed","created":"2026-02-23T14:05:30.123Z",
                "updated":"2026-02-23T14:07:15.456Z","response":{"finishTime":1771855635}}"#,
        );
        assert_eq!(exact.finished_at().map(|t| t.to_string()).as_deref(), Some("2026-02-23T14:07:15.456Z"));
        let no_updated =
            record(Endpoint::DreaminaImages, r#"{"jobid":"j","status":"completed","response":{"finishTime":100}}"#);
        assert_eq!(no_updated.finished_at(), Timestamp::from_second(100).ok());
        // An upscale started later moved `updated`; the finish time inside [created, updated] wins.
        let upscaled = record(
            Endpoint::DreaminaVideos,
            r#"{"jobid":"j","status":"completed","created":"2026-02-23T14:05:30.123Z",
                "updated":"2026-02-23T18:00:00Z","response":{"finishTime":1771855635}}"#,
        );
        assert_eq!(upscaled.finished_at(), Timestamp::from_second(1_771_855_635).ok());
        let running = record(
            Endpoint::GoogleFlowJobs,
            r#"{"jobid":"j","status":"started","updated":"2026-02-23T14:07:15.456Z"}"#,
        );
        assert_eq!(running.finished_at(), None);
        let openai = record(
            Endpoint::Token360Videos,
            r#"{"id":"v","status":"completed","created_at":100,"updated_at":300,"completed_at":250}"#,
        );
        assert_eq!(openai.finished_at(), Timestamp::from_second(250).ok());
        let absurd =
            record(Endpoint::Token360Videos, r#"{"id":"v","status":"failed","updated_at":9223372036854775807}"#);
        assert_eq!(absurd.finished_at(), None);
    }
}
