//! Control endpoints under `/_sandbox/`: add jobs, set listing faults, forge callbacks, read the counts (not counted themselves).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Shared;
use super::answers::{json_response, unauthorized};
use crate::SandboxError;
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
            let id = shared.add_job(spec);
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

/// The body of `POST /_sandbox/callbacks`: `{"id": ..., "status": ...}`, optionally `"to": <url>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ForgedCallbackRequest {
    id: String,
    status: String,
    #[serde(default)]
    to: Option<String>,
}

/// `POST /_sandbox/callbacks`: posts a forged callback now; 204 once the receiver answered 2xx.
///
/// 404 for an unknown job, 400 for a job without `reply_url` (and no `to`) or an unusable URL,
/// 502 when the receiver answered otherwise or not at all.
pub(super) async fn control_forged_callback(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    request: Result<Json<ForgedCallbackRequest>, JsonRejection>,
) -> Response {
    if !shared.authorized(&headers) {
        return unauthorized(&shared, false);
    }
    let ForgedCallbackRequest { id, status, to } = match request {
        Ok(Json(request)) => request,
        Err(rejection) => {
            let hint = r#"send JSON like {"id":"<job id>","status":"completed"}, optionally with "to":"http://127.0.0.1:8080/hook""#;
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": format!("invalid forged callback: {}; {hint}", rejection.body_text()) }),
            );
        }
    };
    let error = match shared.send_forged_callback(&id, &status, to.as_deref()).await {
        Ok(()) => return StatusCode::NO_CONTENT.into_response(),
        Err(error) => error,
    };
    let status = match error {
        SandboxError::UnknownJob { .. } => StatusCode::NOT_FOUND,
        SandboxError::NoCallbackUrl { .. } | SandboxError::InvalidCallbackUrl { .. } => StatusCode::BAD_REQUEST,
        SandboxError::CallbackNotDelivered { .. } => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_response(status, &json!({ "error": error.to_string() }))
}

/// `GET /_sandbox/stats`: the request counts so far.
pub(super) async fn control_stats(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !shared.authorized(&headers) {
        return unauthorized(&shared, false);
    }
    (StatusCode::OK, Json(shared.counters.snapshot())).into_response()
}
