//! `/v1/watches`: add a watch (idempotent on the job id), read one, list them, stop one.

use super::AppState;
use super::error::ApiError;
use crate::db::{Inserted, NewWatch, WatchFilter, WatchRow, WatchState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use genjob::{Provider, WatchTarget};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const MAX_LABELS: usize = 16;
const MAX_URL_LEN: usize = 2048;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// The body of `POST /v1/watches`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateWatch {
    job_id: String,
    provider: Option<String>,
    webhook_url: Option<String>,
    #[serde(default)]
    download: bool,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// A watch as the API shows it.
pub(crate) fn view(row: &WatchRow) -> Value {
    let time = |ms: i64| jiff::Timestamp::from_millisecond(ms).ok().map(|t| t.to_string());
    json!({
        "job_id": row.new.job_id,
        "provider": row.new.provider.as_str(),
        "status": row.state.as_str(),
        "job_status": row.job_status,
        "progress": row.progress,
        "polls": row.polls,
        "webhook_url": row.new.webhook_url,
        "download": row.new.download,
        "labels": row.new.labels,
        "job": row.job,
        "outputs": row.outputs,
        "download_state": row.download_state,
        "download_attempts": row.download_attempts,
        "download_error": row.download_error,
        "error": row.error,
        "next_check_at": row.next_check_at.and_then(time),
        "created_at": time(row.created_at),
        "updated_at": time(row.updated_at),
    })
}

fn body_error(rejection: BytesRejection) -> ApiError {
    ApiError::new(
        rejection.status(),
        "bad_body",
        format!("the request body could not be read: {}", rejection.body_text()),
    )
}

/// Reads the JSON body, naming the field at fault when it does not fit.
fn parse_create(body: &[u8]) -> Result<CreateWatch, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: Result<CreateWatch, _> = serde_path_to_error::deserialize(&mut de);
    let create = parsed.map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let at_root = path == "." || path == "?";
        // A missing or unknown field is reported at the object itself; name it from the message.
        let named = message.split('`').nth(1).filter(|_| at_root && message.contains("field"));
        let broken =
            matches!(e.inner().classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof);
        let field = match named {
            Some(name) if !broken => name.to_owned(),
            _ if broken || at_root => "body".to_owned(),
            _ => path,
        };
        ApiError::invalid(
            field,
            format!("{message}; the body is a JSON object {{job_id, provider?, webhook_url?, download?, labels?}}"),
        )
    })?;
    de.end().map_err(|e| ApiError::invalid("body", format!("trailing data after the JSON object: {e}")))?;
    Ok(create)
}

fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if labels.len() > MAX_LABELS {
        return Err(ApiError::invalid("labels", format!("at most {MAX_LABELS} labels")));
    }
    for (key, value) in labels {
        let key_ok = (1..=64).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !key_ok {
            return Err(ApiError::invalid(
                format!("labels.{}", key.escape_debug()),
                "a label key is 1-64 characters of A-Z, a-z, 0-9, `_`, `-` and `.`",
            ));
        }
        if value.len() > 256 || value.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                format!("labels.{key}"),
                "a label value is at most 256 bytes, no control characters",
            ));
        }
    }
    Ok(())
}

fn check_webhook_url(url: &str) -> Result<(), ApiError> {
    let field = "webhook_url";
    if url.len() > MAX_URL_LEN {
        return Err(ApiError::invalid(field, format!("at most {MAX_URL_LEN} bytes")));
    }
    let parsed = url::Url::parse(url).map_err(|e| ApiError::invalid(field, format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ApiError::invalid(field, "give an http:// or https:// URL with a host"));
    }
    Ok(())
}

/// Turns a request into the watch to store, checking every field.
fn validate(state: &AppState, create: CreateWatch) -> Result<NewWatch, ApiError> {
    let provider = match create.provider.as_deref() {
        None => None,
        Some(name) => Some(name.parse::<Provider>().map_err(|_| {
            // The providers this build has an adapter for, as the library lists them.
            let known: Vec<String> = genjob::providers::compiled_in().iter().map(ToString::to_string).collect();
            ApiError::invalid(
                "provider",
                format!("unknown provider `{}`; give one of {}", name.escape_debug(), known.join(", ")),
            )
        })?),
    };
    let target = WatchTarget::resolve(&create.job_id, provider).map_err(|e| {
        let field = if matches!(e, genjob::TargetError::InvalidId { .. }) { "job_id" } else { "provider" };
        ApiError::invalid(field, e.to_string())
    })?;
    if state.watcher.source(target.provider).is_none() {
        return Err(ApiError::invalid(
            "provider",
            format!(
                "this server has no {} source configured; set its API token where the server starts",
                target.provider
            ),
        ));
    }
    if let Some(url) = &create.webhook_url {
        check_webhook_url(url)?;
    }
    check_labels(&create.labels)?;
    Ok(NewWatch {
        job_id: target.id.as_str().to_owned(),
        provider: target.provider,
        webhook_url: create.webhook_url,
        download: create.download,
        labels: create.labels,
    })
}

pub(super) async fn create(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let new = validate(&state, parse_create(&body)?)?;
    match state.store.insert_watch(new.clone(), crate::now_ms()).await.map_err(ApiError::store)? {
        Inserted::Created(row) => {
            state.worker.added(&row);
            Ok((StatusCode::CREATED, Json(view(&row))).into_response())
        }
        Inserted::Existing(row) if row.new == new => Ok((StatusCode::OK, Json(view(&row))).into_response()),
        Inserted::Existing(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this job is already watched with other settings; DELETE its watch first to change them",
        )),
    }
}

fn job_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) = path.map_err(|e| ApiError::invalid("job_id", e.body_text()))?;
    if id.is_empty() || id.len() > 512 || id.chars().any(char::is_control) {
        return Err(ApiError::invalid("job_id", "a job id is 1-512 bytes without control characters"));
    }
    Ok(id)
}

pub(super) async fn get_one(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = job_id(path)?;
    let row = state.store.watch(&id).await.map_err(ApiError::store)?.ok_or_else(|| ApiError::no_watch(&id))?;
    Ok(Json(view(&row)))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = job_id(path)?;
    // Stop first, then delete: a final state written in between finds no row and writes nothing.
    state.worker.stop(&id);
    if state.store.delete_watch(&id, crate::now_ms()).await.map_err(ApiError::store)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_watch(&id))
    }
}

/// Reads `?status=&label=key:value&cursor=&limit=`; any other parameter is refused.
fn parse_list_query(query: Option<&str>) -> Result<WatchFilter, ApiError> {
    let mut filter = WatchFilter { limit: DEFAULT_PAGE, ..WatchFilter::default() };
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "status" => {
                let words = WatchState::ALL.map(WatchState::as_str).join(", ");
                filter.state = Some(
                    WatchState::parse(&value).ok_or_else(|| ApiError::invalid("status", format!("one of {words}")))?,
                );
            }
            "label" => {
                let (key, value) =
                    value.split_once(':').ok_or_else(|| ApiError::invalid("label", "give label=key:value"))?;
                filter.label = Some((key.to_owned(), value.to_owned()));
            }
            "cursor" => {
                let after = value.parse::<i64>().ok().filter(|n| *n >= 0);
                filter.after = Some(
                    after.ok_or_else(|| ApiError::invalid("cursor", "pass back a next_cursor from a previous page"))?,
                );
            }
            "limit" => {
                let limit = value.parse::<u32>().ok().filter(|n| (1..=MAX_PAGE).contains(n));
                filter.limit =
                    limit.ok_or_else(|| ApiError::invalid("limit", format!("a number from 1 to {MAX_PAGE}")))?;
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown parameter; the list takes status, label, cursor and limit",
                ));
            }
        }
    }
    Ok(filter)
}

pub(super) async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Json<Value>, ApiError> {
    let filter = parse_list_query(query.as_deref())?;
    let limit = filter.limit as usize;
    let rows = state.store.list_watches(filter).await.map_err(ApiError::store)?;
    // A full page may have a next one; the cursor is the last row's sortable id.
    let next_cursor = (rows.len() == limit).then(|| rows.last().map(|r| r.id.to_string())).flatten();
    Ok(Json(json!({ "data": rows.iter().map(view).collect::<Vec<_>>(), "next_cursor": next_cursor })))
}
