//! Lossless records by example: absent stays absent, `null` stays `null`, odd values stay as sent.

use genjob_models::{DreaminaVideoJob, Endpoint, ErrorBody, ExecutingJobs, Field, ProviderRecord, decode_executing};
use serde_json::{Value, json};

const JOBID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";

fn round_trip(endpoint: Endpoint, value: &Value) -> Value {
    ProviderRecord::from_slice(endpoint, value.to_string().as_bytes()).unwrap().to_value()
}

#[test]
fn an_explicit_null_is_written_back_and_an_absent_field_is_not() {
    let sent =
        json!({"jobid": JOBID, "status": "created", "model": null, "request": {"prompt": "a cat", "ratio": null}});
    let job: DreaminaVideoJob = serde_json::from_value(sent.clone()).unwrap();
    assert_eq!(job.model, Field::Null);
    assert_eq!(job.created, Field::Absent);
    let request = job.request.as_option().unwrap();
    assert_eq!((request.prompt.as_deref(), request.ratio.is_null()), (Some("a cat"), true));
    assert_eq!(serde_json::to_value(&job).unwrap(), sent);
    // Readers that do not care see "no model" either way.
    assert_eq!(job.normalize().model, None);
}

#[test]
fn unknown_keys_with_null_values_are_kept_at_every_depth() {
    let sent = json!({
        "jobid": "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow",
        "status": "completed",
        "nextField": null,
        "response": {"media": [{"video": {"dimensions": {"length": "8s", "fps": null}}, "labels": [null, {}]}]},
    });
    assert_eq!(round_trip(Endpoint::GoogleFlowJobs, &sent), sent);
}

#[test]
fn token360_nulls_survive() {
    let sent = json!({
        "id": "video_1",
        "status": "failed",
        "url": null,
        "content": null,
        "error": {"code": null, "message": "x"},
    });
    assert_eq!(round_trip(Endpoint::Token360Videos, &sent), sent);
}

#[test]
fn an_empty_scheduler_listing_stays_empty() {
    // `total` and `executing` used to come back as `0` and `{}` when the service left them out.
    for sent in [json!({}), json!({"total": null}), json!({"executing": null, "total": 0})] {
        let listing: ExecutingJobs = decode_executing(sent.to_string().as_bytes()).unwrap();
        assert_eq!(listing.jobs().count(), 0);
        assert_eq!(serde_json::to_value(&listing).unwrap(), sent);
    }
}

#[test]
fn error_bodies_keep_their_nulls() {
    let openai =
        json!({"error": {"message": "Invalid API key", "type": null, "param": null, "code": "invalid_api_key"}});
    let useapi = json!({"error": "Too many requests", "retryAfter": null, "code": {"upstream": 429}});
    for sent in [openai, useapi] {
        let body = ErrorBody::parse(sent.to_string().as_bytes()).unwrap();
        assert_eq!(serde_json::to_value(&body).unwrap(), sent);
    }
}

#[test]
fn known_fields_typed_as_raw_json_take_any_shape() {
    let sent = json!({"error": "Bad", "code": [1, "two", null]});
    let body = ErrorBody::parse(sent.to_string().as_bytes()).unwrap();
    assert_eq!((body.message(), body.code()), (Some("Bad"), None));
    assert_eq!(serde_json::to_value(&body).unwrap(), sent);
}
