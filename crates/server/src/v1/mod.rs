//! The HTTP API, version 1: one module per resource, the Bearer-token guard, JSON errors.

pub mod error;
mod events;
mod metrics;
mod watches;

use crate::cfg::ServerToken;
use crate::db::Store;
use crate::worker::Worker;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use error::ApiError;
use genjob::Watcher;
use genjob::models::webhook::WebhookSecret;
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

/// What every handler reads.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) worker: Worker,
    pub(crate) watcher: Watcher,
    pub(crate) token: ServerToken,
    pub(crate) secret: Arc<WebhookSecret>,
    /// Ends the event streams when the server stops (they would hold its graceful shutdown).
    pub(crate) shutdown: CancellationToken,
}

/// The whole router: `/healthz` open, `/v1/*` and `/metrics` behind the token, JSON errors for
/// anything else.
pub(crate) fn router(state: AppState, body_limit: usize) -> Router {
    let api = Router::new()
        .route("/v1/watches", get(watches::list).post(watches::create))
        .route("/v1/watches/{job_id}", get(watches::get_one).delete(watches::delete))
        .route("/v1/events", get(events::stream))
        .route("/metrics", get(metrics::metrics))
        .route("/v1/webhook-secret", get(webhook_secret))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().as_bytes());
    match given {
        Some(token) if bool::from(token.ct_eq(state.token.as_bytes())) => next.run(request).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the Bearer token is not this server's")
            .into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>` with the server's GENJOB_SERVER_TOKEN",
        )
        .into_response(),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(e) => ApiError::store(e).into_response(),
    }
}

/// The secret receivers verify deliveries with (`whsec_…`); behind the token like the rest.
async fn webhook_secret(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "secret": state.secret.expose() }))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such path; the API is under /v1 (see the README)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this path does not take that method")
}
