//! The HTTP API, version 1: one module per resource, the Bearer-token guard, JSON errors.

pub mod error;
mod events;
mod hooks;
mod metrics;
mod watches;

use crate::cfg::{CallbackSecret, ServerToken};
use crate::db::Store;
use crate::web;
use crate::worker::Worker;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use axum::{Json, Router};
use error::ApiError;
use genjob::Watcher;
use genjob::models::webhook::WebhookSecret;
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

/// The OpenAPI 3.1 document of the API, served at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// What every handler reads.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) worker: Worker,
    pub(crate) watcher: Watcher,
    pub(crate) token: ServerToken,
    pub(crate) secret: Arc<WebhookSecret>,
    pub(crate) callback_secret: Arc<CallbackSecret>,
    /// Where kept files are (the only directory the dashboard serves files from).
    pub(crate) outputs: Arc<std::path::PathBuf>,
    /// Ends the event streams when the server stops (they would hold its graceful shutdown).
    pub(crate) shutdown: CancellationToken,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, the OpenAPI document).
    Open,
    /// Only with `Authorization: Bearer <GENJOB_SERVER_TOKEN>`.
    Token,
    /// Only with the callback secret as a path segment (providers cannot send a token).
    CallbackSecret,
    /// The dashboard's pages: only with the session cookie `POST /login` sets (browsers cannot
    /// send a Bearer header when following a link); refused with the sign-in page (401).
    Session,
}

/// One method on one path the server serves.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `GET`, `POST`, `DELETE`.
    pub method: &'static str,
    /// The path, with `{name}` parameters as OpenAPI writes them.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    handler: fn() -> MethodRouter<AppState>,
}

/// Every route of the server: the router is built from this list, and the test of the OpenAPI
/// document reads it, so nothing is served undocumented.
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/healthz", access: Access::Open, handler: || get(healthz) },
    Route { method: "GET", path: "/v1/openapi.json", access: Access::Open, handler: || get(openapi) },
    Route { method: "GET", path: "/metrics", access: Access::Token, handler: || get(metrics::metrics) },
    Route { method: "GET", path: "/v1/watches", access: Access::Token, handler: || get(watches::list) },
    Route { method: "POST", path: "/v1/watches", access: Access::Token, handler: || post(watches::create) },
    Route { method: "GET", path: "/v1/watches/{job_id}", access: Access::Token, handler: || get(watches::get_one) },
    Route {
        method: "DELETE",
        path: "/v1/watches/{job_id}",
        access: Access::Token,
        handler: || delete(watches::delete),
    },
    Route { method: "GET", path: "/v1/events", access: Access::Token, handler: || get(events::stream) },
    Route { method: "GET", path: "/v1/webhook-secret", access: Access::Token, handler: || get(webhook_secret) },
    Route { method: "GET", path: "/v1/callback-secret", access: Access::Token, handler: || get(callback_secret) },
    Route { method: "GET", path: "/", access: Access::Session, handler: || get(web::overview) },
    Route { method: "GET", path: "/jobs/{job_id}", access: Access::Session, handler: || get(web::job) },
    Route {
        method: "GET",
        path: "/jobs/{job_id}/files/{position}",
        access: Access::Session,
        handler: || get(web::file),
    },
    Route { method: "GET", path: "/login", access: Access::Open, handler: || get(web::login_form) },
    Route { method: "POST", path: "/login", access: Access::Open, handler: || post(web::login) },
    Route { method: "POST", path: "/logout", access: Access::Open, handler: || post(web::logout) },
    Route { method: "GET", path: "/assets/app.js", access: Access::Open, handler: || get(web::app_js) },
    Route { method: "GET", path: "/assets/app.css", access: Access::Open, handler: || get(web::app_css) },
    Route { method: "POST", path: "/hooks/{secret}", access: Access::CallbackSecret, handler: hooks::route },
    Route { method: "POST", path: "/hooks/{secret}/{rest}", access: Access::CallbackSecret, handler: hooks::route },
];

/// The whole router, from [`ROUTES`]: open routes, the rest behind the token, JSON errors for
/// anything else.
pub(crate) fn router(state: AppState, body_limit: usize) -> Router {
    let (mut open, mut guarded, mut pages) = (Router::new(), Router::new(), Router::new());
    for route in ROUTES {
        // Routing a path twice merges its methods.
        match route.access {
            Access::Open | Access::CallbackSecret => open = open.route(&axum_path(route.path), (route.handler)()),
            Access::Token => guarded = guarded.route(route.path, (route.handler)()),
            Access::Session => pages = pages.route(route.path, (route.handler)()),
        }
    }
    let guarded = guarded.route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let pages = pages.route_layer(middleware::from_fn_with_state(state.clone(), crate::web::require_session));
    open.merge(guarded)
        .merge(pages)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// The path as axum routes it: OpenAPI's `{rest}` at the end of a hook path is a catch-all there.
fn axum_path(path: &str) -> String {
    match path.strip_suffix("/{rest}") {
        Some(head) => format!("{head}/{{*rest}}"),
        None => path.to_owned(),
    }
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

/// The callback path to give providers (`/hooks/<secret>`, under this server's public address).
async fn callback_secret(State(state): State<AppState>) -> Json<serde_json::Value> {
    let secret = state.callback_secret.expose();
    Json(json!({ "secret": secret, "path": format!("/hooks/{secret}") }))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such path; the API is under /v1 (see the README)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this path does not take that method")
}
