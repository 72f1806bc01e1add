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
//! // `serve` bounds slow and idle connections; `receiver.router()` mounts in your own server instead.
//! tokio::spawn(async move { receiver.serve(listener, std::future::pending()).await });
//! let mut watch = watcher.watch(targets).with_callbacks(wakes);
//! while let Some(event) = watch.next().await {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, OriginalUri, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use genjob_models::{JobId, JobStatus, decode_callback};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// The largest callback body accepted: job records are a few KiB.
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;

/// Connections [`CallbackReceiver::serve`] holds at a time: callbacks are short, rare requests, and
/// every connection is a file descriptor the watcher's own requests, downloads and files also need.
pub const DEFAULT_MAX_CONNECTIONS: usize = 128;

/// How long a connection may take to send a request head (and may sit idle between requests).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request may take to send its body once its head arrived.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long accepting pauses after a failure that is not the client's (out of file descriptors).
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

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
    /// The body of a request must arrive within this time once its head did (408 otherwise).
    pub body_read_timeout: Duration,
    /// [`CallbackReceiver::serve`]: connections held at a time; more wait in the listen backlog.
    pub max_connections: usize,
    /// [`CallbackReceiver::serve`]: a connection that does not send a whole request head within this
    /// time (from its start, or from its previous answer) is closed.
    pub header_read_timeout: Duration,
}

impl ReceiverOptions {
    /// No secret, 256 KiB bodies, 1,024 pending wake-ups, 128 connections, 10 s for a request head
    /// and 10 s for its body.
    pub fn new() -> Self {
        Self {
            secret: None,
            max_body: DEFAULT_MAX_BODY,
            capacity: 1024,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
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

    /// Sets how many connections [`CallbackReceiver::serve`] holds at a time (at least one).
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// Sets how long a connection may take to send a request head, and how long a body may take.
    pub fn with_read_timeouts(mut self, header: Duration, body: Duration) -> Self {
        self.header_read_timeout = header;
        self.body_read_timeout = body;
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

impl Wake {
    /// A wake-up for job `id`, claiming `claimed`: for a receiver of one's own (see [`wakes`]).
    pub fn new(id: JobId, claimed: JobStatus) -> Wake {
        Wake { id, claimed }
    }
}

/// The sending side of a wake-up channel without an HTTP receiver (see [`wakes`]): a server that
/// receives callbacks itself wakes the [`Watch`](crate::Watch) that watches the named job.
#[derive(Debug, Clone)]
pub struct WakeSender {
    sender: mpsc::Sender<Wake>,
}

impl WakeSender {
    /// Passes `wake` on without waiting; false when the channel is full or its [`Wakes`] is gone
    /// (the watch is behind or over: polling still covers the job, so nothing is lost).
    pub fn try_wake(&self, wake: Wake) -> bool {
        self.sender.try_send(wake).is_ok()
    }
}

/// A wake-up channel holding at most `capacity` (at least one) pending wake-ups, with no HTTP
/// receiver: hand the [`Wakes`] to [`Watch::with_callbacks`](crate::Watch::with_callbacks) and
/// send through the [`WakeSender`] from a receiver of your own. The watch still reads the job's
/// record before believing anything, at most once per `callback_min_interval`.
pub fn wakes(capacity: usize) -> (WakeSender, Wakes) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    (WakeSender { sender }, Wakes { receiver })
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

    /// Serves [`router`](Self::router) over HTTP/1.1 on `listener` until `shutdown` completes, bounded
    /// for an address anyone can reach: at most [`ReceiverOptions::max_connections`] connections at a
    /// time (further ones wait in the kernel's listen backlog, holding no file descriptor of this
    /// process), each closed when a request head takes longer than
    /// [`ReceiverOptions::header_read_timeout`]. So connections that drip bytes, or never send any,
    /// cannot take the descriptors the watcher's own requests need. Failing to accept (out of file
    /// descriptors) pauses accepting for a second, with one warning, and never ends the server.
    /// Connections still open at shutdown finish the request they are in.
    pub async fn serve(&self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let options = &self.inner.options;
        let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
        let router = self.router();
        let closing = CancellationToken::new();
        // However `serve` ends (shutdown, or its future dropped), open connections are told to close.
        let _close_connections = closing.clone().drop_guard();
        let mut shutdown = pin!(shutdown);
        let mut warned = false;
        loop {
            let slot = tokio::select! {
                () = &mut shutdown => return,
                slot = Arc::clone(&slots).acquire_owned() => slot,
            };
            // The semaphore is never closed; a closed one would mean nothing more is to be served.
            let Ok(slot) = slot else { return };
            let accepted = tokio::select! {
                () = &mut shutdown => return,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => {
                    warned = false;
                    stream
                }
                // The client gave up between its connect and our accept: nothing wrong here.
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    if !warned {
                        tracing::warn!(%error, "cannot accept callback connections; retrying every second");
                        warned = true;
                    }
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(ACCEPT_RETRY) => continue,
                    }
                }
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(options.header_read_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
            let closing = closing.clone();
            tokio::spawn(async move {
                // The slot is free again when the connection is gone.
                let _slot = slot;
                let mut connection = pin!(connection);
                tokio::select! {
                    // A connection that failed (a timed-out head, a reset) has nothing to report.
                    _ = connection.as_mut() => {}
                    () = closing.cancelled() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
            });
        }
    }
}

/// Accept errors that concern one connection only, which the next accept does not repeat.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

async fn accept(State(inner): State<Arc<Inner>>, OriginalUri(uri): OriginalUri, request: Request) -> Response {
    if let Some(secret) = &inner.options.secret
        && !uri.path().split('/').any(|segment| segment == secret)
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    // A body that drips in would hold its connection (and a descriptor) for as long as it likes.
    let body = match tokio::time::timeout(inner.options.body_read_timeout, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => body,
        // Too large (413) or cut off: the extractor's own answer.
        Ok(Err(rejection)) => return rejection.into_response(),
        Err(_) => return StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    accept_body(&inner, &body).into_response()
}

fn accept_body(inner: &Inner, body: &Bytes) -> StatusCode {
    let claim = match decode_callback(body) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const RECORD: &str = r#"{"id": "video_1", "object": "video", "status": "completed"}"#;

    /// Serves `options` on 127.0.0.1 until the returned token is cancelled.
    async fn serve(options: ReceiverOptions) -> io::Result<(std::net::SocketAddr, Wakes, CancellationToken)> {
        let (receiver, wakes) = channel(options);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let until = stop.clone();
        tokio::spawn(async move { receiver.serve(listener, until.cancelled_owned()).await });
        Ok((addr, wakes, stop))
    }

    /// Everything the server sends until it closes the connection (bounded, so a bug cannot hang the test).
    async fn until_closed(socket: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the server never closed the connection");
        String::from_utf8_lossy(&answer).into_owned()
    }

    async fn post_record(socket: &mut TcpStream) -> io::Result<()> {
        let request = format!(
            "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{RECORD}",
            RECORD.len()
        );
        socket.write_all(request.as_bytes()).await
    }

    #[tokio::test]
    async fn a_wake_sent_without_a_receiver_arrives_and_a_full_channel_refuses_more() {
        let (sender, mut wakes) = wakes(1);
        let id = JobId::parse("video_1").unwrap_or_else(|e| panic!("{e}"));
        assert!(sender.try_wake(Wake::new(id.clone(), JobStatus::Completed)));
        assert!(!sender.try_wake(Wake::new(id.clone(), JobStatus::Completed)), "one pending wake-up at most");
        assert_eq!(wakes.recv().await, Some(Wake::new(id.clone(), JobStatus::Completed)));
        drop(wakes);
        assert!(!sender.try_wake(Wake::new(id, JobStatus::Running)), "no watch to wake");
    }

    #[tokio::test]
    async fn a_head_that_does_not_arrive_in_time_closes_its_connection() -> io::Result<()> {
        let options = ReceiverOptions::new().with_read_timeouts(Duration::from_millis(200), Duration::from_secs(5));
        let (addr, _wakes, stop) = serve(options).await?;
        let mut silent = TcpStream::connect(addr).await?;
        let mut dripping = TcpStream::connect(addr).await?;
        dripping.write_all(b"POST /hooks HTTP/1.1\r\nHost: x\r\n").await?;
        for socket in [&mut silent, &mut dripping] {
            let answer = until_closed(socket).await;
            assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
        }
        stop.cancel();
        Ok(())
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_wait_for_a_free_slot() -> io::Result<()> {
        let options = ReceiverOptions::new().with_max_connections(1);
        let (addr, mut wakes, stop) = serve(options).await?;
        // The one slot, taken by a connection that sends half a head and stays.
        let mut holder = TcpStream::connect(addr).await?;
        holder.write_all(b"POST /hooks HTTP/1.1\r\n").await?;
        let mut genuine = TcpStream::connect(addr).await?;
        post_record(&mut genuine).await?;
        let mut byte = [0u8; 1];
        let early = tokio::time::timeout(Duration::from_millis(300), genuine.read(&mut byte)).await;
        assert!(early.is_err(), "a second connection was served while the only slot was taken");
        drop(holder);
        let answer = until_closed(&mut genuine).await;
        assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
        let wake = wakes.recv().await.map(|w| w.id.to_string());
        assert_eq!(wake.as_deref(), Some("video_1"));
        stop.cancel();
        Ok(())
    }

    #[tokio::test]
    async fn a_body_that_does_not_arrive_in_time_is_answered_408() -> io::Result<()> {
        let options = ReceiverOptions::new().with_read_timeouts(Duration::from_secs(5), Duration::from_millis(200));
        let (addr, _wakes, stop) = serve(options).await?;
        let mut socket = TcpStream::connect(addr).await?;
        socket
            .write_all(b"POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{")
            .await?;
        let answer = until_closed(&mut socket).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        stop.cancel();
        Ok(())
    }
}
