//! The HTTP server: shared state, routes, job reads and output files (listings, answers, control and callbacks in submodules).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::access::{self, Refusal};
use crate::callbacks::{self, Planned};
use crate::files::{self, FileName, OutputKind};
use crate::listing::{ListingFault, ListingState};
use crate::render::{self, RenderContext};
use crate::spec::{JobKind, JobSpec, Provider};
use crate::stats::{Counters, RequestStats, bump};
use crate::store::{Stage, Store, duration_ms};
use crate::token360::{self, UnknownAfter};
use crate::{Pace, SandboxError, SimClock, clock};

mod answers;
mod callback_sender;
mod content;
mod control;
mod listings;

use answers::{hold_open, json_response, openai_error, rate_limited, server_error, unauthorized};
use callback_sender::spawn_sender;
use content::{ContentRequest, content_answer};
use control::{control_add_job, control_forged_callback, control_listing, control_stats};
use listings::{scheduler, video_list};

/// How the sandbox behaves; `Default` gives real time, no token and the documented defaults.
#[derive(Clone)]
pub struct SandboxConfig {
    /// How many times faster than real time the sandbox runs; `pace` says what runs faster.
    pub speed: f64,
    /// Whether `speed` speeds up the whole clock (the default) or only the jobs' durations.
    pub pace: Pace,
    /// Bearer token every API request must carry; `None` accepts any request.
    pub token: Option<String>,
    /// A clock to share with clients; when `None`, a new one at `speed` (or real time with [`Pace::RealClock`]).
    pub clock: Option<SimClock>,
    /// Seconds announced in `Retry-After` and `retryAfter` of 429 answers (unless a job sets its `retry_after`).
    pub retry_after_secs: u64,
    /// How long after the 1-hour mark the server's sweep fails a stuck Dreamina job.
    pub timeout_lag: Duration,
    /// Default simulated lifetime of output URLs, counted from the record read.
    pub url_lifetime: Duration,
    /// Size of each downloadable video file, in bytes.
    pub video_file_size: usize,
    /// Size of each downloadable image (and cover/thumbnail) file, in bytes.
    pub image_file_size: usize,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            speed: 1.0,
            pace: Pace::SimulatedClock,
            token: None,
            clock: None,
            retry_after_secs: 2,
            timeout_lag: Duration::from_secs(120),
            // Google Flow's signed URLs last about 6–24 h (PROVIDER_FACTS.md): take the short end.
            url_lifetime: Duration::from_secs(6 * 60 * 60),
            video_file_size: 64 * 1024,
            image_file_size: 16 * 1024,
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("speed", &self.speed)
            .field("pace", &self.pace)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("clock", &self.clock)
            .field("retry_after_secs", &self.retry_after_secs)
            .field("timeout_lag", &self.timeout_lag)
            .field("url_lifetime", &self.url_lifetime)
            .field("video_file_size", &self.video_file_size)
            .field("image_file_size", &self.image_file_size)
            .finish()
    }
}

/// A bearer token that never shows itself in Debug output.
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// State shared by every request handler.
#[derive(Debug)]
struct Shared {
    store: Mutex<Store>,
    /// The scheduler's fault. Never held together with `store`, so the two locks cannot deadlock.
    listing: Mutex<ListingState>,
    /// The video list's fault, frozen as its whole newest-first list; never held with `store` either.
    video_list: Mutex<ListingState<Arc<[Value]>>>,
    /// Turns `true` when the server begins to shut down, releasing held-open requests.
    stopping: watch::Sender<bool>,
    clock: SimClock,
    /// What job durations are divided by: the speed with [`Pace::RealClock`], else 1.
    job_speedup: f64,
    token: Option<Token>,
    counters: Counters,
    /// Hands each added job's planned callbacks to the sender task.
    planned_callbacks: mpsc::UnboundedSender<Planned>,
    /// Sends callbacks; no token, no redirects (a webhook sender posts where it was told).
    callback_client: reqwest::Client,
    base_url: String,
    retry_after_secs: u64,
    timeout_lag_ms: i64,
    url_lifetime_ms: i64,
    video_file_size: usize,
    image_file_size: usize,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A handler that panicked mid-update leaves no half-written job (all updates are
        // single assignments), so the data behind a poisoned lock is still sound.
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn listing(&self) -> MutexGuard<'_, ListingState> {
        // Listing updates are single assignments too.
        self.listing.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn video_list(&self) -> MutexGuard<'_, ListingState<Arc<[Value]>>> {
        // As for the scheduler's fault: updates are single assignments.
        self.video_list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a job created now (minus its age) and plans its callbacks; answers its id.
    fn add_job(&self, mut spec: JobSpec) -> String {
        if self.job_speedup != 1.0 {
            let duration = spec.duration.unwrap_or_else(|| spec.kind.default_duration());
            spec.duration =
                Some(Duration::try_from_secs_f64(duration.as_secs_f64() / self.job_speedup).unwrap_or(Duration::MAX));
        }
        let now_ms = self.clock.now_ms();
        let mut store = self.store();
        let id = store.add(spec, now_ms);
        for planned in store.get(&id).map(|job| callbacks::plan(job, self.timeout_lag_ms, now_ms)).unwrap_or_default() {
            // Only fails once the sender has stopped with the sandbox: nothing is left to call back.
            let _ = self.planned_callbacks.send(planned);
        }
        id
    }

    fn render_context<'a>(&self, now_ms: i64, base_url: &'a str) -> RenderContext<'a> {
        RenderContext { now_ms, base_url, timeout_lag_ms: self.timeout_lag_ms, url_lifetime_ms: self.url_lifetime_ms }
    }

    /// One page of the token360 video list as of `lag_ms` ago; only that page's videos are rendered.
    fn video_list_page(
        &self,
        lag_ms: i64,
        base_url: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Value, UnknownAfter> {
        let at_ms = self.clock.now_ms().saturating_sub(lag_ms);
        let store = self.store();
        let listed = token360::newest_first(store.jobs(), at_ms);
        let page = token360::page(&listed, |job| job.id.as_str(), after, limit)?;
        let cx = self.render_context(at_ms, base_url);
        let data = page.items.iter().map(|job| token360::record(job, &cx)).collect();
        Ok(token360::list_body(data, page.has_more))
    }

    /// The whole token360 video list now, newest first: what a frozen list keeps answering.
    fn video_list_snapshot(&self) -> Arc<[Value]> {
        let now_ms = self.clock.now_ms();
        let store = self.store();
        let cx = self.render_context(now_ms, &self.base_url);
        token360::newest_first(store.jobs(), now_ms).into_iter().map(|job| token360::record(job, &cx)).collect()
    }

    /// The scheduler listing `lag_ms` ago, with every age overstated by `ahead_ms`.
    fn listing_body(&self, lag_ms: i64, ahead_ms: i64) -> Value {
        let at_ms = self.clock.now_ms().saturating_sub(lag_ms);
        render::scheduler_listing(self.store().jobs(), at_ms, self.timeout_lag_ms, ahead_ms)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(Token(expected)) = &self.token else {
            return true;
        };
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_credentials)
            .is_some_and(|given| given == expected)
    }

    fn set_listing_fault(&self, fault: ListingFault) -> Result<(), SandboxError> {
        let state = ListingState::new(fault, || self.listing_body(0, 0))?;
        *self.listing() = state;
        Ok(())
    }

    fn set_video_list_fault(&self, fault: ListingFault) -> Result<(), SandboxError> {
        let state = ListingState::new(fault, || self.video_list_snapshot())?;
        *self.video_list() = state;
        Ok(())
    }

    /// The base URL clients reached us at (so links work through `0.0.0.0` and port maps).
    fn base_url_for(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)));
        match host {
            Some(host) => format!("http://{host}"),
            None => self.base_url.clone(),
        }
    }
}

/// The credentials of a `Bearer` Authorization value: the scheme is case-insensitive (RFC 9110
/// §11.1), so `bearer` and `BEARER` are accepted as well.
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credentials.trim())
}

/// A running sandbox server; dropping it stops the server too.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
    /// The callback sender, aborted when the sandbox stops (its sends in flight with it).
    callback_sender: JoinHandle<()>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("clock", &self.shared.clock)
            .field("token", &self.shared.token)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Binds `addr` (e.g. `127.0.0.1:0`) and starts serving in the background.
    pub async fn start(addr: SocketAddr, config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let job_speedup = match config.pace {
            Pace::SimulatedClock => 1.0,
            Pace::RealClock => clock::checked_speed(config.speed)?,
        };
        let clock = match (config.clock, config.pace) {
            (Some(clock), _) => clock,
            (None, Pace::SimulatedClock) => SimClock::new(config.speed)?,
            (None, Pace::RealClock) => SimClock::new(1.0)?,
        };
        let callback_client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("genjob-sandbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| SandboxError::CallbackClient { reason: error.to_string() })?;
        let listener = TcpListener::bind(addr).await.map_err(|source| SandboxError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| SandboxError::Bind { addr, source })?;
        let (planned_callbacks, planned) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            listing: Mutex::new(ListingState::default()),
            video_list: Mutex::new(ListingState::default()),
            stopping: watch::Sender::new(false),
            clock,
            job_speedup,
            token: config.token.map(Token),
            counters: Counters::default(),
            planned_callbacks,
            callback_client,
            base_url: base_url(local),
            retry_after_secs: config.retry_after_secs,
            timeout_lag_ms: duration_ms(config.timeout_lag),
            url_lifetime_ms: duration_ms(config.url_lifetime),
            video_file_size: config.video_file_size,
            image_file_size: config.image_file_size,
        });
        let (shutdown, stop) = oneshot::channel::<()>();
        let app = router(Arc::clone(&shared));
        let on_stop = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // A dropped sender means the Sandbox was dropped: stop as well.
                    let _ = stop.await;
                    // Graceful shutdown waits for requests in flight, so held-open ones must end now.
                    on_stop.stopping.send_replace(true);
                })
                .await
        });
        let callback_sender = spawn_sender(Arc::clone(&shared), planned);
        tracing::debug!(addr = %local, clock_speed = shared.clock.speed(), job_speedup, "sandbox listening");
        Ok(Sandbox { addr: local, shared, shutdown: Some(shutdown), task: Some(task), callback_sender })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ip:port` of the server, with a loopback ip when listening on all interfaces.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The sandbox's clock; share it with clients so they run on the same simulated time.
    pub fn clock(&self) -> SimClock {
        self.shared.clock.clone()
    }

    /// Adds a job created now (minus `spec.age`, in simulated time) and returns its id.
    ///
    /// At [`Pace::RealClock`] its duration (given or the kind's typical one) is divided by the speed.
    ///
    /// A job with a `reply_url` gets its callbacks POSTed there as its status changes.
    pub fn add_job(&self, spec: JobSpec) -> String {
        self.shared.add_job(spec)
    }

    /// POSTs, now, a callback for job `id` claiming `status`, whatever the job's true state, to its `reply_url`.
    ///
    /// The body is shaped like the job's provider's record: `completed` with outputs whose URLs
    /// point at `http://forged.invalid/...`, `failed` with the job's failure (or a plain one),
    /// `started`/`in_progress` running, any other word waiting; `status` says the word verbatim.
    /// Counted in [`RequestStats::callbacks_forged`]; `Err` when the job is unknown, has no
    /// `reply_url`, or the receiver does not answer 2xx within 30 s of simulated time.
    pub async fn send_forged_callback(&self, id: &str, status: &str) -> Result<(), SandboxError> {
        self.shared.send_forged_callback(id, status, None).await
    }

    /// Like [`Sandbox::send_forged_callback`], but POSTs to `url` instead of the job's `reply_url`.
    pub async fn send_forged_callback_to(&self, id: &str, status: &str, url: &str) -> Result<(), SandboxError> {
        self.shared.send_forged_callback(id, status, Some(url)).await
    }

    /// Makes `/v1/dreamina/scheduler` misbehave as `fault` says from now on ([`ListingFault::None`] heals it).
    ///
    /// A [`ListingFault::Frozen`] listing is captured now; setting it again captures a new one.
    pub fn set_listing_fault(&self, fault: ListingFault) -> Result<(), SandboxError> {
        self.shared.set_listing_fault(fault)
    }

    /// Makes token360's video list (`/v1/videos`) misbehave as `fault` says from now on.
    ///
    /// Independent of the scheduler's fault. A [`ListingFault::Frozen`] list is captured now, all
    /// pages of it; [`ListingFault::ElapsedAhead`] changes nothing here (the list shows no ages).
    pub fn set_video_list_fault(&self, fault: ListingFault) -> Result<(), SandboxError> {
        self.shared.set_video_list_fault(fault)
    }

    /// Request counts so far.
    pub fn stats(&self) -> RequestStats {
        self.shared.counters.snapshot()
    }

    /// Serves until `signal` completes (e.g. `tokio::signal::ctrl_c()`), then shuts down.
    pub async fn serve_until<F>(mut self, signal: F) -> Result<(), SandboxError>
    where
        F: Future<Output = ()>,
    {
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        tokio::select! {
            () = signal => {
                self.task = Some(task);
                self.shutdown().await;
                Ok(())
            }
            ended = &mut task => Err(SandboxError::Server(match ended {
                Ok(Ok(())) => io::Error::other("the server task ended without being asked to"),
                Ok(Err(error)) => error,
                Err(join) => io::Error::other(join.to_string()),
            })),
        }
    }

    /// Stops sending callbacks (abandoning attempts in flight), stops accepting requests, and
    /// waits (up to 5 s) for requests in flight to finish.
    pub async fn shutdown(mut self) {
        self.callback_sender.abort();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut task) = self.task.take() {
            // A client holding a slow request open must not hang the caller forever.
            if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.callback_sender.abort();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Starts a sandbox on `addr`, adds `jobs`, and serves until Ctrl-C.
pub async fn serve_forever(addr: SocketAddr, config: SandboxConfig, jobs: Vec<JobSpec>) -> Result<(), SandboxError> {
    let sandbox = Sandbox::start(addr, config).await?;
    for spec in jobs {
        let kind = spec.kind;
        let id = sandbox.add_job(spec);
        tracing::info!(%kind, %id, "sandbox job added");
    }
    tracing::info!(base_url = %sandbox.base_url(), "sandbox serving; press Ctrl-C to stop");
    sandbox
        .serve_until(async {
            // If the signal handler cannot be installed, keep serving rather than exit at once.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
}

fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/v1/dreamina/videos/{jobid}",
            get(|s: State<Arc<Shared>>, h: HeaderMap, p: Path<String>| read_job(s, h, p, Endpoint::DreaminaVideos)),
        )
        .route(
            "/v1/dreamina/images/{jobid}",
            get(|s: State<Arc<Shared>>, h: HeaderMap, p: Path<String>| read_job(s, h, p, Endpoint::DreaminaImages)),
        )
        .route("/v1/dreamina/scheduler", get(scheduler))
        .route(
            "/v1/google-flow/jobs/{job_id}",
            get(|s: State<Arc<Shared>>, h: HeaderMap, p: Path<String>| read_job(s, h, p, Endpoint::GoogleFlow)),
        )
        .route("/v1/videos", get(video_list))
        .route(
            "/v1/videos/{video_id}",
            get(|s: State<Arc<Shared>>, h: HeaderMap, p: Path<String>| read_job(s, h, p, Endpoint::Token360)),
        )
        .route(
            "/v1/videos/{video_id}/content",
            get(|s: State<Arc<Shared>>, h: HeaderMap, p: Path<String>, RawQuery(q): RawQuery| {
                let request = ContentRequest::new(&h, q.as_deref());
                read_job(s, h, p, Endpoint::Token360Content(request))
            }),
        )
        .route("/files/{name}", get(file))
        .route("/_sandbox/jobs", post(control_add_job))
        .route("/_sandbox/stats", get(control_stats))
        .route("/_sandbox/listing", post(control_listing))
        .route("/_sandbox/callbacks", post(control_forged_callback))
        .fallback(unknown_path)
        .with_state(shared)
}

/// The per-job endpoints; each serves only its own kinds of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    DreaminaVideos,
    DreaminaImages,
    GoogleFlow,
    Token360,
    /// token360's `/content`; a read of the job like the record, with the same faults.
    Token360Content(ContentRequest),
}

impl Endpoint {
    fn serves(self, kind: JobKind) -> bool {
        match self {
            Endpoint::DreaminaVideos => kind.provider() == Provider::Dreamina && kind.is_video(),
            Endpoint::DreaminaImages => kind.provider() == Provider::Dreamina && !kind.is_video(),
            Endpoint::GoogleFlow => kind.provider() == Provider::GoogleFlow,
            Endpoint::Token360 | Endpoint::Token360Content(_) => kind.provider() == Provider::Token360,
        }
    }

    fn counter(self, counters: &Counters) -> &AtomicU64 {
        match self {
            Endpoint::DreaminaVideos => &counters.dreamina_videos,
            Endpoint::DreaminaImages => &counters.dreamina_images,
            Endpoint::GoogleFlow => &counters.google_flow,
            Endpoint::Token360 => &counters.token360,
            Endpoint::Token360Content(_) => &counters.token360_content,
        }
    }

    fn is_openai_style(self) -> bool {
        matches!(self, Endpoint::Token360 | Endpoint::Token360Content(_))
    }

    /// The answer to a read that met no fault, as of the moment in `cx`.
    fn answer(self, job: &crate::store::Job, cx: &RenderContext<'_>, shared: &Shared) -> Reply {
        match self {
            Endpoint::DreaminaVideos | Endpoint::DreaminaImages => {
                Reply::Answer(StatusCode::OK, render::dreamina_record(job, cx))
            }
            Endpoint::GoogleFlow => Reply::Answer(StatusCode::OK, render::google_flow_record(job, cx)),
            Endpoint::Token360 => Reply::Answer(StatusCode::OK, token360::record(job, cx)),
            Endpoint::Token360Content(request) => {
                content_answer(job, cx, request, (shared.video_file_size, shared.image_file_size))
            }
        }
    }

    /// What this endpoint answers for a job the token may not read.
    fn refused(self, refusal: Refusal, id: &str) -> Response {
        match refusal {
            Refusal::NotFound => self.not_found(id),
            Refusal::Forbidden => json_response(
                StatusCode::FORBIDDEN,
                &json!({ "error": "Access denied - job belongs to different user" }),
            ),
            Refusal::Gone => json_response(StatusCode::GONE, &json!({ "error": "Job has expired" })),
        }
    }

    /// The 404 of an id this endpoint does not know, in its provider's envelope.
    fn not_found(self, id: &str) -> Response {
        if self.is_openai_style() {
            openai_error(
                StatusCode::NOT_FOUND,
                &format!("No video task found with id '{id}'. Check the id returned when the task was created."),
                "invalid_request_error",
                Some("video_id"),
                Some("not_found"),
            )
        } else {
            json_response(StatusCode::NOT_FOUND, &json!({ "error": "Job not found" }))
        }
    }
}

/// What a job read answers, decided under the lock and sent after it is released.
enum Reply {
    /// The endpoint's answer with its status: a record, a `/content` link or why there is none.
    Answer(StatusCode, Value),
    /// A file's bytes (an OpenAI-style `/content`), cut half-way when the job truncates downloads.
    File {
        content_type: &'static str,
        body: Bytes,
        truncate: bool,
    },
    /// The job exists, but the token may not read it (now).
    Refused(Refusal),
    /// 429, with the job's raw `Retry-After` when it has one.
    RateLimited(Option<String>),
    ServerError,
    Hang,
}

async fn read_job(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    endpoint: Endpoint,
) -> Response {
    bump(&shared.counters.total);
    bump(endpoint.counter(&shared.counters));
    let openai = endpoint.is_openai_style();
    if !shared.authorized(&headers) {
        return unauthorized(&shared, openai);
    }
    // Google Flow refuses an id of the wrong form before looking it up (seed 003); Dreamina documents no such answer.
    if endpoint == Endpoint::GoogleFlow && !access::is_google_flow_id(&id) {
        return json_response(StatusCode::BAD_REQUEST, &json!({ "error": "Invalid job ID format" }));
    }
    if let Endpoint::Token360Content(ContentRequest { variant: None, .. }) = endpoint {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "Invalid value for 'variant': expected one of 'video', 'thumbnail' or 'spritesheet'.",
            "invalid_request_error",
            Some("variant"),
            Some("invalid_value"),
        );
    }
    let base_url = shared.base_url_for(&headers);
    let found = {
        let mut store = shared.store();
        match store.get_mut(&id).filter(|job| endpoint.serves(job.kind)) {
            None => None,
            Some(job) => {
                let reply = if let Some(refusal) = access::refusal(job, shared.clock.now_ms()) {
                    Reply::Refused(refusal)
                } else if job.rate_limited_left > 0 {
                    job.rate_limited_left -= 1;
                    Reply::RateLimited(job.retry_after.clone())
                } else if job.server_errors_left > 0 {
                    job.server_errors_left -= 1;
                    Reply::ServerError
                } else if job.take_hang() {
                    Reply::Hang
                } else {
                    let moment = job.read_moment(shared.clock.now_ms(), shared.timeout_lag_ms);
                    if moment.stale {
                        bump(&shared.counters.stale_answers);
                    }
                    endpoint.answer(job, &shared.render_context(moment.at_ms, &base_url), &shared)
                };
                Some((reply, job.slow))
            }
        }
    };
    let Some((reply, slow)) = found else {
        tracing::debug!(?endpoint, "job read: not found");
        return endpoint.not_found(&id);
    };
    // A held-open read never answers, so delaying it first would change nothing.
    if let Some(delay) = slow.filter(|_| !matches!(reply, Reply::Hang)) {
        tokio::time::sleep(delay).await;
    }
    match reply {
        Reply::Answer(status, body) => {
            tracing::debug!(?endpoint, %status, record_status = ?body.get("status"), "job read");
            json_response(status, &body)
        }
        Reply::File { content_type, body, truncate } => file_response(body, content_type, truncate),
        Reply::Refused(refusal) => {
            tracing::debug!(?endpoint, ?refusal, "job read: refused");
            endpoint.refused(refusal, &id)
        }
        Reply::RateLimited(raw) => rate_limited(&shared, openai, raw.as_deref()),
        Reply::ServerError => server_error(&shared, openai),
        Reply::Hang => {
            tracing::debug!(?endpoint, "job read: held open");
            hold_open(&shared, openai).await
        }
    }
}

/// The `Expires=<unix secs>` value of a query string.
fn expires_param(query: Option<&str>) -> Option<i64> {
    query?.split('&').find_map(|pair| pair.strip_prefix("Expires=")).and_then(|value| value.parse().ok())
}

fn text_response(status: StatusCode, text: String) -> Response {
    (status, text).into_response()
}

async fn file(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    bump(&shared.counters.total);
    bump(&shared.counters.files);
    if headers.contains_key(header::AUTHORIZATION) {
        bump(&shared.counters.files_with_authorization);
    }
    let Some(file) = FileName::parse(&name) else {
        return text_response(StatusCode::NOT_FOUND, format!("no such file: {name}\n"));
    };
    let Some(expires) = expires_param(query.as_deref()) else {
        return text_response(
            StatusCode::FORBIDDEN,
            "the URL is not signed (no Expires parameter): use the URL from the job record\n".to_owned(),
        );
    };
    let now_ms = shared.clock.now_ms();
    if now_ms.div_euclid(1000) > expires {
        bump(&shared.counters.expired_url_answers);
        return text_response(
            StatusCode::FORBIDDEN,
            "the URL has expired: read the job record again for a fresh URL\n".to_owned(),
        );
    }
    let truncate = {
        let store = shared.store();
        let Some(job) = store.by_serial(file.serial) else {
            return text_response(StatusCode::NOT_FOUND, format!("no such file: {name}\n"));
        };
        let completed = matches!(job.stage(now_ms, shared.timeout_lag_ms), Stage::Completed { .. });
        if !completed || file.index >= job.outputs || !offers(job.kind, file.output) {
            return text_response(StatusCode::NOT_FOUND, format!("no such file: {name}\n"));
        }
        job.truncate_download
    };
    let len = if file.output.is_video() { shared.video_file_size } else { shared.image_file_size };
    file_response(files::contents(&file, len), file.output.content_type(), truncate)
}

/// A file's bytes with their type and length; with `truncate`, the body breaks off half-way.
fn file_response(body: Bytes, content_type: &'static str, truncate: bool) -> Response {
    let len = body.len();
    let mut response = if truncate {
        // hyper drops the connection when a body stream fails, so the client sees a short
        // body under a full Content-Length, like a download cut off by the network. The pause
        // lets hyper flush the headers and first half before the failure aborts the connection.
        let half = body.slice(..len / 2);
        let cut = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Err(io::Error::new(io::ErrorKind::ConnectionAborted, "sandbox fault: download truncated"))
        };
        let chunks = futures::stream::iter([Ok::<Bytes, io::Error>(half)]).chain(futures::stream::once(cut));
        Response::new(Body::from_stream(chunks))
    } else {
        Response::new(Body::from(body))
    };
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Whether records of `kind` link to files of `output`.
fn offers(kind: JobKind, output: OutputKind) -> bool {
    match output {
        OutputKind::Video => kind.is_video(),
        OutputKind::Cover => kind.provider() == Provider::Dreamina && kind.is_video(),
        OutputKind::Thumbnail => kind == JobKind::GoogleFlowVideo,
        OutputKind::Image => !kind.is_video(),
    }
}

async fn unknown_path(State(shared): State<Arc<Shared>>) -> Response {
    bump(&shared.counters.total);
    json_response(StatusCode::NOT_FOUND, &json!({ "error": "Not found" }))
}
