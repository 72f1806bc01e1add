//! Control endpoints under `/_sandbox/`: add jobs, set listing faults, read the counts (not counted themselves).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Shared;
use super::answers::{json_response, unauthorized};
use crate::listing::ListingFault;
use crate::spec::JobSpec;

/// `POST /_sandbox/jobs`: adds the job a [`JobSpec`] in the body describes and answers its id.
pub(super) async fn control_add_job(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    spec: Result<Json<JobSpec>, JsonRejection>,
) -> Response {
    if !shared.authorized(&headers) {
        return unauthorized(&shared, false);
    }
    match spec {
        Ok(Json(spec)) => {
            let now_ms = shared.clock.now_ms();
            let id = shared.store().add(spec, now_ms);
            json_response(StatusCode::CREATED, &json!({ "id": id }))
        }
        Err(rejection) => json_response(
            StatusCode::BAD_REQUEST,
            &json!({ "error": format!(
                "invalid job spec: {}; send JSON like {{\"kind\":\"dreamina-video\",\"duration\":105}}",
                rejection.body_text()
            ) }),
        ),
    }
}

/// The body of `POST /_sandbox/listing`: `{"fault": <ListingFault>}`, optionally `"listing": "videos"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListingFaultRequest {
    fault: ListingFault,
    #[serde(default)]
    listing: ListingName,
}

/// Which listing a fault is for.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ListingName {
    /// Dreamina's `/v1/dreamina/scheduler`.
    #[default]
    Scheduler,
    /// token360's `/v1/videos`.
    Videos,
}

/// `POST /_sandbox/listing`: sets the scheduler's or the video list's [`ListingFault`].
pub(super) async fn control_listing(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    request: Result<Json<ListingFaultRequest>, JsonRejection>,
) -> Response {
    if !shared.authorized(&headers) {
        return unauthorized(&shared, false);
    }
    let hint = r#"send JSON like {"fault":"frozen"}, {"fault":{"lagging":"30s"}} or {"fault":{"failing":{"status":503,"count":5}},"listing":"videos"}"#;
    let problem = match request {
        Ok(Json(ListingFaultRequest { fault, listing })) => {
            let set = match listing {
                ListingName::Scheduler => shared.set_listing_fault(fault),
                ListingName::Videos => shared.set_video_list_fault(fault),
            };
            match set {
                Ok(()) => return StatusCode::NO_CONTENT.into_response(),
                Err(error) => error.to_string(),
            }
        }
        Err(rejection) => rejection.body_text(),
    };
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": format!("invalid listing fault: {problem}; {hint}") }))
}

/// `GET /_sandbox/stats`: the request counts so far.
pub(super) async fn control_stats(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !shared.authorized(&headers) {
        return unauthorized(&shared, false);
    }
    (StatusCode::OK, Json(shared.counters.snapshot())).into_response()
}
