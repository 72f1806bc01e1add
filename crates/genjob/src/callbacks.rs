//! Receiving pushed callbacks: an axum router that turns each accepted POST into a wake-up of the
//! job it names. A callback is a hint: the watcher reads the job's record before believing anything.
//!
//! ```no_run
//! # async fn demo(watcher: genjob::Watcher, targets: Vec<genjob::WatchTarget>) -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use genjob::callbacks;
//!
//! // Give providers `https://<your host>/hooks/<secret>` as the replyUrl / callback_url.
//! let (receiver, wakes) = callbacks::channel(callbacks::ReceiverOptions::new().with_secret("s3cr3t-random-path"));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! tokio::spawn(async move { axum::serve(listener, receiver.router()).await });
//! let mut watch = watcher.watch(targets).with_callbacks(wakes);
//! while let Some(event) = watch.next().await {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::StatusCode;
use axum::routing::post;
use genjob_models::{JobId, JobStatus, decode_callback};
use std::sync::Arc;
use tokio::sync::mpsc;

/// The largest callback body accepted: job records are a few KiB.
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;

/// How the receiver answers and what it accepts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceiverOptions {
    /// When set, only paths with a segment equal to this secret are accepted (404 otherwise).
    pub secret: Option<String>,
    /// The largest body accepted (413 beyond it).
    pub max_body: usize,
    /// Wake-ups that may wait for the watcher before the receiver answers 503 (the sender retries).
    pub capacity: usize,
}

impl ReceiverOptions {
    /// No secret, 256 KiB bodies, 1,024 pending wake-ups.
    pub fn new() -> Self {
        Self { secret: None, max_body: DEFAULT_MAX_BODY, capacity: 1024 }
    }

    /// Accepts only paths that carry `secret` as one of their segments (`/hooks/<secret>`): for a
    /// receiver reachable from the internet, since callbacks are not signed.
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into()).filter(|s| !s.is_empty());
        self
    }

    /// Sets the largest body accepted.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// One accepted callback: the job it names and what it claims (untrusted).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wake {
    /// The job the callback names.
    pub id: JobId,
    /// The status the callback claims; only the job's record decides.
    pub claimed: JobStatus,
}

/// The accepting side: mount [`CallbackReceiver::router`] in any axum (tower) server.
#[derive(Debug, Clone)]
pub struct CallbackReceiver {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sender: mpsc::Sender<Wake>,
    options: ReceiverOptions,
}

/// The watching side: hand it to [`Watch::with_callbacks`](crate::Watch::with_callbacks).
#[derive(Debug)]
pub struct Wakes {
    pub(crate) receiver: mpsc::Receiver<Wake>,
}

impl Wakes {
    /// The next wake-up, or `None` once every receiver is gone.
    pub async fn recv(&mut self) -> Option<Wake> {
        self.receiver.recv().await
    }
}

/// A receiver and the wake-ups it produces.
pub fn channel(options: ReceiverOptions) -> (CallbackReceiver, Wakes) {
    let (sender, receiver) = mpsc::channel(options.capacity.max(1));
    (CallbackReceiver { inner: Arc::new(Inner { sender, options }) }, Wakes { receiver })
}

impl CallbackReceiver {
    /// A router answering `POST` on any path: 202 once a callback is accepted, 400 for a body that
    /// is no provider's job record, 404 without the secret, 413 beyond the size limit, 503 when the
    /// watcher is behind. It never waits for the watcher.
    pub fn router(&self) -> Router {
        let max_body = self.inner.options.max_body;
        Router::new()
            .route("/", post(accept))
            .route("/{*path}", post(accept))
            .layer(DefaultBodyLimit::max(max_body))
            .with_state(Arc::clone(&self.inner))
    }
}

async fn accept(State(inner): State<Arc<Inner>>, OriginalUri(uri): OriginalUri, body: Bytes) -> StatusCode {
    if let Some(secret) = &inner.options.secret
        && !uri.path().split('/').any(|segment| segment == secret)
    {
        return StatusCode::NOT_FOUND;
    }
    let claim = match decode_callback(&body) {
        Ok(claim) => claim,
        Err(error) => {
            tracing::info!(%error, "callback refused: not a job record");
            return StatusCode::BAD_REQUEST;
        }
    };
    let Some(id) = claim.job_id() else {
        tracing::info!("callback refused: no usable job id");
        return StatusCode::BAD_REQUEST;
    };
    match inner.sender.try_send(Wake { id, claimed: claim.claimed.status }) {
        Ok(()) => StatusCode::ACCEPTED,
        // The watcher is behind (or gone): the sender retries later, and polling still covers the job.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
