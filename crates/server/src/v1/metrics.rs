//! `GET /metrics`: what the server holds and has done, in the OpenMetrics text format (which
//! Prometheus scrapes), encoded by `prometheus-client`.
//!
//! Each scrape builds a fresh registry from the sources of truth (the store, the watcher's request
//! budget, its learned estimates), so nothing here has to be kept in step with them.

use super::AppState;
use super::error::ApiError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use genjob::RequestKind;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

/// The OpenMetrics content type, which Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

fn gauge(n: u64) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(to_i64(n));
    gauge
}

fn counter(n: u64) -> Counter {
    let counter = Counter::default();
    counter.inc_by(n);
    counter
}

pub(super) async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> Result<Response, ApiError> {
    let stats = state.store.stats().await.map_err(ApiError::store)?;
    let mut registry = Registry::with_prefix("genjob");

    let watches = Family::<Labels, Gauge>::default();
    for (watch_state, n) in &stats.watches {
        watches.get_or_create(&vec![("state", watch_state.as_str().to_owned())]).set(to_i64(*n));
    }
    registry.register("watches", "Watches in the store, by state", watches);

    // Every compiled-in provider and every kind, zeros included: a series that appears only after
    // its first request breaks rate() over the scrape that saw it appear.
    let requests = Family::<Labels, Counter>::default();
    let budget = state.watcher.budget();
    for provider in genjob::providers::compiled_in() {
        for kind in RequestKind::ALL {
            let labels = vec![("provider", provider.as_str().to_owned()), ("kind", kind.as_str().to_owned())];
            requests.get_or_create(&labels).inc_by(budget.sent(provider, kind));
        }
    }
    registry.register(
        "requests",
        "Requests sent to providers since the server started, by provider and kind",
        requests,
    );

    let d = stats.deliveries;
    let deliveries = Family::<Labels, Gauge>::default();
    for (outcome, n) in [("delivered", d.delivered), ("given_up", d.given_up), ("pending", d.pending)] {
        deliveries.get_or_create(&vec![("state", outcome.to_owned())]).set(to_i64(n));
    }
    // Gauges: the deliveries of a deleted watch are deleted with it.
    registry.register("webhook_deliveries", "Webhook deliveries in the store, by state", deliveries);
    registry.register(
        "webhook_failed_attempts",
        "Failed webhook delivery attempts, over the deliveries in the store",
        gauge(d.failed_attempts),
    );

    let learned = Family::<Labels, Gauge>::default();
    if let Some(learning) = state.watcher.learning() {
        let by_provider: BTreeMap<String, u64> = learning.update(|estimates| {
            let mut by_provider = BTreeMap::new();
            for key in estimates.keys() {
                *by_provider.entry(key.provider.as_str().to_owned()).or_insert(0) += 1;
            }
            by_provider
        });
        for provider in genjob::providers::compiled_in() {
            let n = by_provider.get(provider.as_str()).copied().unwrap_or(0);
            learned.get_or_create(&vec![("provider", provider.as_str().to_owned())]).set(to_i64(n));
        }
    }
    registry.register("learned_duration_keys", "Keys of learned job durations, by provider", learned);

    registry.register("events", "Events written to the event log (GET /v1/events)", counter(stats.events_written));

    let mut text = String::new();
    encode(&mut text, &registry)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "metrics", "the metrics could not be encoded"))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
