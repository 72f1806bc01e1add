//! The validation hook every generated fixture must pass.
//!
//! `cargo xtask fixtures` refuses to write a fixture that fails [`validate`], and
//! `cargo xtask fixtures --check` reports it (file and reason). The xtask unit tests run it over
//! every JSON file under `fixtures/` as well.
//!
//! Extension point: the integrator will make job records (`<type>-<status>.json`) and scheduler
//! bodies (`executing-<total>.json`) deserialize into their `genjob-models` types here.

use serde_json::Value;

/// Checks one fixture. `rel_path` is relative to `fixtures/` with `/` separators
/// (e.g. `dreamina/videos/error-401.json`); `value` is its parsed content.
///
/// Rules today:
/// - every fixture is a JSON object;
/// - an error body (`error-*.json`) has a string `error` field.
pub fn validate(rel_path: &str, value: &Value) -> Result<(), String> {
    let object = value.as_object().ok_or_else(|| format!("expected a JSON object, found {}", kind(value)))?;
    let file_name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    if file_name.starts_with("error-") {
        match object.get("error") {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(format!("error body: `error` must be a string, found {}", kind(other)));
            }
            None => return Err("error body: missing the string field `error`".to_owned()),
        }
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
        assert!(validate("a/b/video-created.json", &json!({"status": "created"})).is_ok());
        assert!(validate("a/b/error-401.json", &json!({"error": "Unauthorized"})).is_ok());
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
