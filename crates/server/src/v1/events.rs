//! `GET /v1/events`: the store's event log as Server-Sent Events, replayed after a cursor and then
//! followed live.
//!
//! The cursor is the `Last-Event-ID` header (what an `EventSource` sends when it reconnects), else
//! `?after=`; without either the stream starts at the newest event (live only). A cursor from before
//! the oldest kept event (pruned) or past the newest one (another database) gets a `reset` event
//! whose id is the newest one: the client re-reads `GET /v1/watches` and follows from there.

use super::AppState;
use super::error::ApiError;
use crate::db::{EventFilter, EventPage, EventRow, EventType, Store};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::json;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Events read from the store at once: a slow client holds at most one page in memory (the
/// response body is only polled as fast as the client reads).
const PAGE: u32 = 200;

/// How often a stream re-reads the log without being woken: events another process wrote.
const RESCAN: Duration = Duration::from_secs(3);

/// The keep-alive comment interval: proxies close connections that stay silent.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What a stream was asked for.
#[derive(Debug)]
struct Params {
    after: Option<i64>,
    filter: EventFilter,
}

fn cursor(value: &str, field: &str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::invalid(field, "an event id: a whole number from 0 (the `id:` of an event received)"))
}

/// Reads `Last-Event-ID` and `?after=&job_id=&label=key:value`; anything else is refused.
fn parse(headers: &HeaderMap, query: Option<&str>) -> Result<Params, ApiError> {
    let mut params = Params { after: None, filter: EventFilter::default() };
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "after" => params.after = Some(cursor(&value, "after")?),
            "job_id" => {
                if value.is_empty() || value.len() > 512 || value.chars().any(char::is_control) {
                    return Err(ApiError::invalid("job_id", "a job id is 1-512 bytes without control characters"));
                }
                params.filter.job_id = Some(value.into_owned());
            }
            "label" => {
                let (key, value) = value
                    .split_once(':')
                    .filter(|(k, v)| !k.is_empty() && !format!("{k}{v}").chars().any(char::is_control))
                    .ok_or_else(|| ApiError::invalid("label", "give label=key:value (a non-empty key)"))?;
                params.filter.label = Some((key.to_owned(), value.to_owned()));
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown parameter; the event stream takes after, job_id and label",
                ));
            }
        }
    }
    // The header wins: an EventSource reconnecting sends it with the URL it first opened.
    if let Some(header) = headers.get("last-event-id") {
        let text = header.to_str().map_err(|_| ApiError::invalid("Last-Event-ID", "not text"))?;
        params.after = Some(cursor(text, "Last-Event-ID")?);
    }
    Ok(params)
}

pub(super) async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let params = parse(&headers, query.as_deref())?;
    // Subscribe before the first read: a write between the read and the wait still wakes us.
    let wake = state.store.subscribe_events();
    let after = match params.after {
        Some(after) => after,
        None => state.store.event_bounds().await.map_err(ApiError::store)?.latest,
    };
    let follow = Follow {
        store: state.store.clone(),
        filter: params.filter,
        after,
        pending: VecDeque::new(),
        wake,
        shutdown: state.shutdown.clone(),
    };
    Ok(Sse::new(follow.into_stream()).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One client's position in the log.
struct Follow {
    store: Store,
    filter: EventFilter,
    /// Every event up to here was sent (or did not pass the filter).
    after: i64,
    /// At most one page read but not sent yet.
    pending: VecDeque<Event>,
    wake: watch::Receiver<i64>,
    shutdown: CancellationToken,
}

impl Follow {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> {
        futures::stream::unfold(self, |mut follow| async move {
            let event = follow.next().await?;
            Some((Ok(event), follow))
        })
    }

    /// The next event to send; `None` when the server shuts down (the response then ends).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.shutdown.is_cancelled() {
                return None;
            }
            // Marks the current value seen: a write after this read changes it again.
            self.wake.borrow_and_update();
            match self.store.events_page(self.after, self.filter.clone(), PAGE).await {
                Ok(page) => {
                    let more = self.take(page);
                    if more || !self.pending.is_empty() {
                        continue;
                    }
                }
                Err(e) => tracing::error!("event stream: {e}"),
            }
            tokio::select! {
                changed = self.wake.changed() => {
                    if changed.is_err() {
                        // The store is gone (shutting down): fall back to re-reading now and then.
                        tokio::select! {
                            () = tokio::time::sleep(RESCAN) => {}
                            () = self.shutdown.cancelled() => return None,
                        }
                    }
                }
                () = tokio::time::sleep(RESCAN) => {}
                () = self.shutdown.cancelled() => return None,
            }
        }
    }

    /// Queues a page's events (or a reset); true when the log has more to examine at once.
    fn take(&mut self, page: EventPage) -> bool {
        // A cursor from before what was pruned (events were lost to it), or past the newest event
        // (another database's): say so rather than skip silently, and go on from the newest.
        if self.after < page.pruned_through || self.after > page.latest {
            let reason = if self.after > page.latest { "unknown_cursor" } else { "pruned" };
            let data = json!({
                "reason": reason,
                "after": self.after,
                "oldest_kept_id": page.pruned_through.saturating_add(1),
                "latest_id": page.latest,
                "message": "events after this cursor are not all kept; re-read GET /v1/watches, then follow from this event's id",
            });
            self.pending.push_back(Event::default().event("reset").id(page.latest.to_string()).data(data.to_string()));
            self.after = page.latest;
            return false;
        }
        self.pending.extend(page.events.iter().map(sse_event));
        self.after = page.scanned_through;
        page.scanned_through < page.latest
    }
}

/// An event as sent: `id:` the event id, `event:` its type, `data:` `{id, type, timestamp, data}`.
fn sse_event(row: &EventRow) -> Event {
    // Only known names reach `event:` (a stored oddity must not break the framing).
    let name =
        EventType::ALL.into_iter().map(EventType::as_str).find(|t| *t == row.event_type).unwrap_or("watch.unknown");
    let timestamp = jiff::Timestamp::from_millisecond(row.created_at).map(|t| t.to_string()).ok();
    let data = json!({ "id": row.id, "type": name, "timestamp": timestamp, "data": row.payload });
    Event::default().id(row.id.to_string()).event(name).data(data.to_string())
}
