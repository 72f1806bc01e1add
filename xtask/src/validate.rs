//! The validation hook every generated fixture must pass.
//!
//! `cargo xtask fixtures` refuses to write a fixture that fails [`validate`], and
//! `cargo xtask fixtures --check` reports it (file and reason). The xtask unit tests run it over
//! every JSON file under `fixtures/` as well.
//!
//! A fixture that no longer parses into its `genjob-models` type fails here, so a change to the
//! documents (or to the models) that breaks decoding is caught by `--check`.

use genjob_models::{Endpoint, ErrorBody, ProviderRecord, decode_executing};
use serde_json::Value;

/// Checks one fixture. `rel_path` is relative to `fixtures/` with `/` separators
/// (e.g. `dreamina/videos/error-401.json`); `value` is its parsed content.
///
/// Rules:
/// - every fixture is a JSON object;
/// - an error body (`error-*.json`) has a string `error` field and parses as a documented error body;
/// - a scheduler body parses as `ExecutingJobs`, a job record as its endpoint's record type,
///   and both serialize back to the same JSON (the models are lossless).
pub fn validate(rel_path: &str, value: &Value) -> Result<(), String> {
    let object = value.as_object().ok_or_else(|| format!("expected a JSON object, found {}", kind(value)))?;
    let file_name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let bytes = value.to_string();
    if file_name.starts_with("error-") {
        match object.get("error") {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(format!("error body: `error` must be a string, found {}", kind(other)));
            }
            None => return Err("error body: missing the string field `error`".to_owned()),
        }
        return ErrorBody::parse(bytes.as_bytes()).map(drop).ok_or_else(|| "not a documented error body".to_owned());
    }
    let endpoint = match rel_path.rsplit_once('/').map(|(dir, _)| dir) {
        Some("dreamina/videos") => Endpoint::DreaminaVideos,
        Some("dreamina/images") => Endpoint::DreaminaImages,
        Some("dreamina/scheduler") => Endpoint::DreaminaScheduler,
        Some("google-flow/jobs") => Endpoint::GoogleFlowJobs,
        Some("token360/videos") => Endpoint::Token360Videos,
        _ => return Err("not under a known <provider>/<endpoint>/ folder".to_owned()),
    };
    let round_trip = if endpoint == Endpoint::DreaminaScheduler {
        let listing = decode_executing(bytes.as_bytes()).map_err(|e| e.to_string())?;
        serde_json::to_value(listing).map_err(|e| e.to_string())?
    } else {
        ProviderRecord::from_slice(endpoint, bytes.as_bytes()).map_err(|e| e.to_string())?.to_value()
    };
    if &round_trip != value {
        return Err("genjob-models does not serialize it back to the same JSON (a field is lost)".to_owned());
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::validate;
    use serde_json::json;

    #[test]
    fn accepts_objects_and_error_bodies() {
        let record = json!({"jobid": "j0223140530123456789v-u1-US:a@b.c-bot:dreamina", "status": "created", "x": 1});
        assert!(validate("dreamina/videos/video-created.json", &record).is_ok());
        assert!(validate("a/b/error-401.json", &json!({"error": "Unauthorized"})).is_ok());
    }

    #[test]
    fn rejects_records_the_models_cannot_read() {
        let err = validate("token360/videos/video-completed.json", &json!({"status": "completed"})).unwrap_err();
        assert!(err.contains("token360 video object"), "{err}");
    }

    #[test]
    fn rejects_non_objects() {
        let err = validate("a/b/video-created.json", &json!([1, 2])).unwrap_err();
        assert!(err.contains("an array"), "{err}");
    }

    #[test]
    fn rejects_error_bodies_without_string_error() {
        assert!(validate("a/b/error-401.json", &json!({"message": "x"})).is_err());
        assert!(validate("a/b/error-401.json", &json!({"error": {"code": 1}})).is_err());
    }
}
