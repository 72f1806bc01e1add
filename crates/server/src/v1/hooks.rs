//! The provider callback receiver: `POST /hooks/{secret}/…`. A callback is a hint, never the
//! truth: it only makes the job's watch read the job's record now. The wake is written to the
//! store (`next_check_at = now`, for whichever replica watches the job) and passed to this
//! process's running watch of the job, if there is one (the library rate-limits the reads).

use super::AppState;
use super::error::ApiError;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use genjob::callbacks::{DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MAX_BODY};
use genjob::models::decode_callback;
use serde_json::json;
use subtle::ConstantTimeEq;

/// A callback route, with its own body limit (a job record is larger than a watch request).
pub(super) fn route() -> MethodRouter<AppState> {
    post(receive).layer(DefaultBodyLimit::max(DEFAULT_MAX_BODY))
}

/// 202 for an accepted callback (also for a job no watch exists for: which jobs are watched is
/// not revealed), 400 for a body that is no job record, 404 for a wrong secret, 413 beyond the
/// size limit, 408 for a body that does not arrive in time.
async fn receive(State(state): State<AppState>, request: Request) -> Response {
    // The secret is checked before the body is read: a stranger's body costs nothing.
    let given = request.uri().path().split('/').nth(2).unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(state.callback_secret.expose().as_bytes())) {
        // The same answer as any unknown path: a wrong secret does not learn that /hooks exists.
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such path; the API is under /v1 (see the README)",
        )
        .into_response();
    }
    let body = match tokio::time::timeout(DEFAULT_BODY_READ_TIMEOUT, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => body,
        Ok(Err(rejection)) => {
            let message = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the callback body is larger than {DEFAULT_MAX_BODY} bytes; a job record is a few KiB")
            } else {
                format!("the callback body could not be read: {}", rejection.body_text())
            };
            return ApiError::new(rejection.status(), "bad_body", message).into_response();
        }
        Err(_) => {
            return ApiError::new(StatusCode::REQUEST_TIMEOUT, "timeout", "the callback body did not arrive in time")
                .into_response();
        }
    };
    let claim = match decode_callback(&body) {
        Ok(claim) => claim,
        Err(e) => {
            let message = format!("the body is no provider's job record: {e}");
            return ApiError::invalid("body", message).into_response();
        }
    };
    let Some(id) = claim.job_id() else {
        return ApiError::invalid("body", "the job record names no usable job id").into_response();
    };
    // In the store first: whichever process watches the job sees it is due now.
    if let Err(e) = state.store.wake(id.as_str(), crate::now_ms()).await {
        return ApiError::store(e).into_response();
    }
    state.worker.wake(&id, claim.claimed.status);
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "accepted" }))).into_response()
}
