//! The two job listings: Dreamina's scheduler and token360's video list, each with its own fault.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::Shared;
use super::answers::{failing_listing, hold_open, json_response, openai_error, unauthorized};
use crate::listing::ListingAnswer;
use crate::stats::bump;
use crate::token360::{self, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, UnknownAfter};

/// Dreamina's scheduler: the executing video jobs by account, misbehaving as its [`ListingFault`](crate::ListingFault) says.
pub(super) async fn scheduler(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    bump(&shared.counters.total);
    bump(&shared.counters.scheduler);
    if !shared.authorized(&headers) {
        return unauthorized(&shared, false);
    }
    let answer = shared.listing().next_answer();
    let body = match answer {
        ListingAnswer::Live { lag_ms, ahead_ms } => shared.listing_body(lag_ms, ahead_ms),
        ListingAnswer::Snapshot(body) => body,
        ListingAnswer::Fail(status) => return failing_listing(&shared, status, false),
        ListingAnswer::Hang => {
            tracing::debug!("scheduler: held open");
            return hold_open(&shared, false).await;
        }
    };
    json_response(StatusCode::OK, &body)
}

/// The query of `GET /v1/videos`; other parameters (OpenAI's `order`, ...) are ignored.
#[derive(Debug, Deserialize)]
pub(super) struct VideoListQuery {
    /// Page size: 20 when absent, at most 100 (larger values are clamped), at least 1.
    limit: Option<i64>,
    /// The id of the last video of the previous page.
    after: Option<String>,
}

/// token360's video list: the account's videos newest first, in OpenAI's list envelope, paged by
/// `limit` and `after`, misbehaving as the video list's [`ListingFault`](crate::ListingFault) says.
pub(super) async fn video_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    query: Result<Query<VideoListQuery>, QueryRejection>,
) -> Response {
    bump(&shared.counters.total);
    bump(&shared.counters.token360_list);
    if !shared.authorized(&headers) {
        return unauthorized(&shared, true);
    }
    let invalid = |message: &str, param: Option<&str>| {
        openai_error(StatusCode::BAD_REQUEST, message, "invalid_request_error", param, None)
    };
    let VideoListQuery { limit, after } = match query {
        Ok(Query(query)) => query,
        Err(rejection) => {
            return invalid(
                &format!("Invalid query: {}; use e.g. ?limit=20&after=video_...", rejection.body_text()),
                None,
            );
        }
    };
    let limit = match limit {
        None => DEFAULT_LIST_LIMIT,
        Some(n) if n < 1 => {
            return invalid(&format!("Invalid 'limit': {n}; give a number from 1 to 100."), Some("limit"));
        }
        Some(n) => usize::try_from(n).unwrap_or(MAX_LIST_LIMIT).min(MAX_LIST_LIMIT),
    };
    let after = after.as_deref();
    // Bound first so the fault's lock is released before the store's is taken (and before any wait).
    let answer = shared.video_list().next_answer();
    let page = match answer {
        // No `elapsedSeconds` in a video object: an overstated age has nothing to change here.
        ListingAnswer::Live { lag_ms, ahead_ms: _ } => {
            shared.video_list_page(lag_ms, &shared.base_url_for(&headers), after, limit)
        }
        ListingAnswer::Snapshot(videos) => token360::page(&videos, token360::video_id, after, limit)
            .map(|page| token360::list_body(page.items.to_vec(), page.has_more)),
        ListingAnswer::Fail(status) => return failing_listing(&shared, status, true),
        ListingAnswer::Hang => {
            tracing::debug!("video list: held open");
            return hold_open(&shared, true).await;
        }
    };
    match page {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(UnknownAfter) => invalid(
            &format!(
                "No video with id '{}' in the list to continue after; pass the last_id of the previous page.",
                after.unwrap_or_default()
            ),
            Some("after"),
        ),
    }
}
