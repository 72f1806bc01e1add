//! The dashboard: server-rendered pages (`/`, `/jobs/{job_id}`), the kept files of a job, the
//! sign-in, and one script and one stylesheet of our own. The pages work without JavaScript; the
//! script only makes them live (it follows `GET /v1/events` and re-renders the page's live part).
//!
//! Pages are guarded by the session cookie (see [`session`]); their refusals are HTML pages, the
//! API's stay JSON.

mod pages;
pub(crate) mod session;

use crate::db::dashboard::Overview;
use crate::v1::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::Markup;
use pages::Learned;
use subtle::ConstantTimeEq;

/// The script that makes the pages live.
const APP_JS: &str = include_str!("assets/app.js");
/// The pages' stylesheet.
const APP_CSS: &str = include_str!("assets/app.css");

/// What the pages may load: only this server's script, stylesheet, files and event stream.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn now_s() -> i64 {
    crate::now_ms() / 1000
}

/// An HTML answer with the pages' security headers; never cached (it shows live state).
fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A plain HTML error page.
fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    html(status, pages::error(title, message, true))
}

/// The store failed: logged in full, shown as a 503 page (it may pass).
fn store_error(error: crate::db::DbError) -> Response {
    tracing::error!("dashboard: store: {error}");
    error_page(StatusCode::SERVICE_UNAVAILABLE, "Store unavailable", "The store failed; try again in a moment.")
}

/// Guards the pages: without a valid session, the sign-in form (401), whatever was asked.
pub(crate) async fn require_session(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let valid = session::from_headers(request.headers()).is_some_and(|v| session::is_valid(&state.token, v, now_s()));
    if valid { next.run(request).await } else { html(StatusCode::UNAUTHORIZED, pages::login(None)) }
}

/// `GET /login`: the sign-in form.
pub(crate) async fn login_form() -> Response {
    html(StatusCode::OK, pages::login(None))
}

/// `POST /login` (`token=…`, form-encoded): a session cookie and the overview, or the form again.
pub(crate) async fn login(State(state): State<AppState>, body: Bytes) -> Response {
    let token = url::form_urlencoded::parse(&body).find(|(name, _)| name == "token").map(|(_, v)| v.into_owned());
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        return html(StatusCode::BAD_REQUEST, pages::login(Some("Give the API token.")));
    };
    if !bool::from(token.trim().as_bytes().ct_eq(state.token.as_bytes())) {
        return html(StatusCode::UNAUTHORIZED, pages::login(Some("That is not this server's API token.")));
    }
    let Some(value) = session::issue(&state.token, now_s()) else {
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Cannot sign in", "No session could be made.");
    };
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::set_cookie(&value)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /logout`: the cookie removed, back to the sign-in form.
pub(crate) async fn logout() -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::clear_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    // Revalidated each time: a new server version's script must not meet an old page.
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], text).into_response()
}

/// `GET /assets/app.js`.
pub(crate) async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /assets/app.css`.
pub(crate) async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// What was learned of each provider/model: the distribution drawn in bins, its median and p90.
fn learned(state: &AppState) -> Vec<Learned> {
    let Some(learning) = state.watcher.learning() else { return Vec::new() };
    // Each key with the finished samples it holds itself.
    let keys = learning.update(|estimates| {
        estimates.keys().into_iter().map(|k| (k.clone(), estimates.samples(k).0)).collect::<Vec<_>>()
    });
    let mut out = Vec::new();
    for (key, own) in keys {
        let Some(estimate) = learning.estimate(&key) else { continue };
        // A key with too few samples is estimated from a coarser one: that one is drawn already.
        if usize::try_from(estimate.finished()).unwrap_or(usize::MAX) > own {
            continue;
        }
        let horizon = estimate.horizon().as_secs_f64();
        let width = horizon / pages::BINS as f64;
        let bins = (0..pages::BINS)
            .map(|i| (estimate.cdf(width * (i + 1) as f64) - estimate.cdf(width * i as f64)).max(0.0))
            .collect();
        let word = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_owned));
        let kind = word(key.kind.and_then(|k| serde_json::to_value(k).ok()));
        // The request's size (`duration_s=8 resolution=720p`), when the key has one.
        let profile = serde_json::to_value(&key.profile)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|p| !p.is_empty());
        let name = [Some(key.provider.as_str().to_owned()), kind, key.model.clone(), profile]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
        out.push(Learned {
            name,
            finished: estimate.finished(),
            running: estimate.censored(),
            median: estimate.quantile(0.5),
            p90: estimate.quantile(0.9),
            bins,
            horizon,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Reads what the overview shows; also what the bench times (see BENCHMARKS.md).
async fn read_overview(state: &AppState) -> Result<(Overview, i64), crate::db::DbError> {
    // The newest event first: the live script follows from it, so a change between this read
    // and the overview's is shown again rather than missed.
    let after = state.store.event_bounds().await?.latest;
    Ok((state.store.overview().await?, after))
}

/// `GET /`: the overview.
pub(crate) async fn overview(State(state): State<AppState>) -> Response {
    match read_overview(&state).await {
        Ok((overview, after)) => {
            html(StatusCode::OK, pages::overview(&overview, &learned(&state), after, crate::now_ms()))
        }
        Err(e) => store_error(e),
    }
}

/// A job id as a path gives it: 1–512 bytes, no control characters (as the API takes them).
fn job_id_ok(job_id: &str) -> bool {
    !job_id.is_empty() && job_id.len() <= 512 && !job_id.chars().any(char::is_control)
}

/// `GET /jobs/{job_id}`: a job's page.
pub(crate) async fn job(State(state): State<AppState>, Path(job_id): Path<String>) -> Response {
    if !job_id_ok(&job_id) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Not a job id",
            "A job id is 1–512 bytes without control characters.",
        );
    }
    let read = async {
        let after = state.store.event_bounds().await?.latest;
        let Some(watch) = state.store.watch(&job_id).await? else { return Ok(None) };
        let history = state.store.job_history(&job_id).await?;
        let deliveries = state.store.job_deliveries(&job_id).await?;
        Ok(Some((watch, history, deliveries, after)))
    };
    match read.await {
        Ok(Some((watch, history, deliveries, after))) => {
            html(StatusCode::OK, pages::job(&watch, &history, &deliveries, after, crate::now_ms()))
        }
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such watch", &format!("No watch for job {job_id}.")),
        Err(e) => store_error(e),
    }
}

/// The media type of a kept file, by its extension (the server named it).
fn media_type(path: &std::path::Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("mp4" | "m4v") => "video/mp4",
        Some("webm") => "video/webm",
        Some("mov") => "video/quicktime",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        _ => "application/octet-stream",
    }
}

/// `GET /jobs/{job_id}/files/{position}`: a file the server kept for the job, only from the
/// output directory (a path stored elsewhere is not served).
pub(crate) async fn file(State(state): State<AppState>, Path((job_id, position)): Path<(String, String)>) -> Response {
    let not_found = || error_page(StatusCode::NOT_FOUND, "No such file", "The server kept no such file for this job.");
    let Ok(position) = position.parse::<usize>() else { return not_found() };
    if !job_id_ok(&job_id) {
        return not_found();
    }
    let watch = match state.store.watch(&job_id).await {
        Ok(Some(watch)) => watch,
        Ok(None) => return not_found(),
        Err(e) => return store_error(e),
    };
    let Some(path) = watch.outputs.get(position).and_then(|o| o.path.clone()) else { return not_found() };
    let dir = state.outputs.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let path = std::fs::canonicalize(path).ok()?;
        let dir = std::fs::canonicalize(&*dir).ok()?;
        path.starts_with(&dir).then_some(path)
    })
    .await
    .ok()
    .flatten();
    let Some(path) = opened else { return not_found() };
    let Ok(file) = tokio::fs::File::open(&path).await else { return not_found() };
    let length = file.metadata().await.ok().map(|m| m.len());
    let mut headers = HeaderMap::new();
    let media = media_type(&path);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if media == "application/octet-stream" {
        headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    }
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    (headers, Body::from_stream(tokio_util::io::ReaderStream::new(file))).into_response()
}
