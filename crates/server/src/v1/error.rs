//! The API's one error shape: `{"error": {"code", "message", "field"}}`, never a bare status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API error: a status, a stable code, a message saying what to do, and the field at fault.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    /// A 400 naming the field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid",
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// Any other status.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None }
    }

    /// 404 for a job no watch exists for.
    pub fn no_watch(job_id: &str) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no watch for job `{}`", job_id.escape_debug()))
    }

    /// A store failure: logged in full, answered as 503 (it may pass: a full disk, a busy file).
    pub fn store(error: crate::db::DbError) -> ApiError {
        tracing::error!("store: {error}");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the store failed; try again later")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "field": self.field } });
        (self.status, axum::Json(body)).into_response()
    }
}
