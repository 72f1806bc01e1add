//! Answers in each provider's envelope: errors, and the answers of injected faults.
//!
//! useapi.net's errors are `{"error": "..."}`; token360's are OpenAI's
//! `{"error": {"message", "type", "param", "code"}}`. Every fault answer is counted here.

use axum::extract::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;
use crate::stats::bump;

/// `body` as JSON with `status`.
pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, Json(body)).into_response()
}

/// token360's OpenAI-style error envelope.
pub(super) fn openai_error_body(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({ "error": { "message": message, "type": kind, "param": param, "code": code } })
}

/// token360's OpenAI-style error envelope, answered with `status`.
pub(super) fn openai_error(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    json_response(status, &openai_error_body(message, kind, param, code))
}

/// A 401 in the provider's envelope (OpenAI's when `openai_style`).
pub(super) fn unauthorized(shared: &Shared, openai_style: bool) -> Response {
    bump(&shared.counters.unauthorized_answers);
    if openai_style {
        openai_error(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided. Pass a valid key as 'Authorization: Bearer <key>'.",
            "authentication_error",
            None,
            Some("invalid_api_key"),
        )
    } else {
        json_response(StatusCode::UNAUTHORIZED, &json!({ "error": "Unauthorized" }))
    }
}

/// A 429 in the provider's envelope, announcing `raw` verbatim as `Retry-After` if given,
/// else the configured seconds.
pub(super) fn rate_limited(shared: &Shared, openai: bool, raw: Option<&str>) -> Response {
    bump(&shared.counters.rate_limited_answers);
    let configured = shared.retry_after_secs.to_string();
    let value = raw.unwrap_or(&configured);
    let number = retry_after_number(value);
    let wait = if number.is_some() { format!("after {value} seconds") } else { format!("after {value}") };
    let mut response = if openai {
        openai_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Rate limit reached for video requests. Please retry {wait}."),
            "rate_limit_error",
            None,
            Some("rate_limit_exceeded"),
        )
    } else {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), json!(format!("Too many requests: all accounts are busy. Retry {wait}.")));
        if let Some(number) = number {
            body.insert("retryAfter".into(), Value::Number(number));
        }
        json_response(StatusCode::TOO_MANY_REQUESTS, &Value::Object(body))
    };
    response.headers_mut().insert(header::RETRY_AFTER, header_value(value));
    response
}

/// `Retry-After` text as a JSON number, if it reads as one (`"2"`, `"-5"`, `"18446744073709551615"`, `"1.5"`).
fn retry_after_number(value: &str) -> Option<serde_json::Number> {
    if let Ok(n) = value.parse::<u64>() {
        return Some(n.into());
    }
    if let Ok(n) = value.parse::<i64>() {
        return Some(n.into());
    }
    // `from_f64` refuses NaN and infinities, which Rust's parser accepts ("inf", "1e999").
    value.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
}

/// `text` as a header value; HTTP cannot carry control characters, so they are left out.
fn header_value(text: &str) -> HeaderValue {
    let kept: Vec<u8> = text.bytes().filter(|&b| b == b'\t' || (b >= b' ' && b != 0x7f)).collect();
    HeaderValue::from_bytes(&kept).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A 503 in the provider's envelope.
pub(super) fn server_error(shared: &Shared, openai: bool) -> Response {
    bump(&shared.counters.server_error_answers);
    if openai {
        openai_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is overloaded. Please retry shortly.",
            "server_error",
            None,
            Some("service_unavailable"),
        )
    } else {
        json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({ "error": "Service unavailable" }))
    }
}

/// Holds a request open until the sandbox shuts down, then answers 503 and closes the connection.
///
/// Only this request waits: no lock is held, so other requests are served meanwhile.
pub(super) async fn hold_open(shared: &Shared, openai: bool) -> Response {
    bump(&shared.counters.hung_answers);
    let mut stopping = shared.stopping.subscribe();
    // An error means the sender is gone with the server: stop holding as well.
    let _ = stopping.wait_for(|stopping| *stopping).await;
    let mut response = server_error(shared, openai);
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The answer of a failing listing: the documented envelopes for 429, 503 and 401, else the reason phrase.
pub(super) fn failing_listing(shared: &Shared, status: u16, openai: bool) -> Response {
    match StatusCode::from_u16(status) {
        Ok(StatusCode::TOO_MANY_REQUESTS) => rate_limited(shared, openai, None),
        Ok(StatusCode::SERVICE_UNAVAILABLE) => server_error(shared, openai),
        Ok(StatusCode::UNAUTHORIZED) => unauthorized(shared, openai),
        Ok(code) if openai => {
            let kind = if code.is_server_error() { "server_error" } else { "invalid_request_error" };
            openai_error(code, code.canonical_reason().unwrap_or("Error"), kind, None, None)
        }
        Ok(code) => json_response(code, &json!({ "error": code.canonical_reason().unwrap_or("Error") })),
        // ListingState only takes 400–599, which are all valid; 500 keeps the answer an error regardless.
        Err(_) => json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "error": "Internal Server Error" })),
    }
}
