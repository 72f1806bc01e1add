//! `genjob serve`: watches AI media-generation jobs for other programs, durably, over HTTP, and
//! tells them by signed, retried webhooks when each job is done.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use genjob_server::{Server, cfg::{ServerConfig, ServerToken, parse_db}};
//!
//! let token = ServerToken::new(&std::env::var("GENJOB_SERVER_TOKEN")?)?;
//! let config = ServerConfig::new("127.0.0.1:8780".parse()?, parse_db("sqlite://genjob.db")?, token);
//! let server = Server::start(config, genjob::Watcher::from_env()?).await?;
//! println!("listening on {}", server.addr());
//! tokio::signal::ctrl_c().await?;
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The parts: [`cfg`] (settings), [`db`] (the SQLite store, migrations applied at start; the
//! truth of what is watched, and the event log), `v1` (the HTTP API: every route in [`ROUTES`],
//! documented by [`OPENAPI`], and the provider callback receiver under `/hooks/{secret}/…`),
//! [`webhook`] (the payloads and the outbox sender) and `worker` (the library's `Watcher` over the
//! store's watches, and the outputs kept for `download: true`).

pub mod cfg;
pub mod db;
mod v1;
mod web;
pub mod webhook;
mod worker;

pub use v1::{Access, OPENAPI, ROUTES, Route};

use cfg::{CallbackSecret, EventRetention, ServerConfig};
use db::{DbError, Store};
use genjob::Watcher;
use genjob::models::webhook::WebhookSecret;
use rand::{Rng, RngCore};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use worker::{Keeping, Leasing, Worker};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The store could not be opened.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}; pick another --listen address")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The secret kept in the database does not read back.
    #[error("the webhook secret stored in the database is malformed; set GENJOB_WEBHOOK_SECRET")]
    StoredSecret,
    /// The callback secret kept in the database does not read back.
    #[error("the callback secret stored in the database is malformed; set GENJOB_CALLBACK_SECRET")]
    StoredCallbackSecret,
    /// The output directory cannot be made absolute (the working directory is gone).
    #[error("cannot use the output directory {}: {source}; pass an absolute --outputs DIR", dir.display())]
    OutputDir {
        /// The directory given.
        dir: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// How long the API gets at shutdown to end the responses in flight.
pub const HTTP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The current time in Unix milliseconds: the store's unit of time.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The shortest lease taken: renewals every third of it must fit a database round trip.
const MIN_LEASE: std::time::Duration = std::time::Duration::from_secs(1);

/// A `genjob serve` instance: [`Server::start`] it, then [`RunningServer::shutdown`] it.
#[derive(Debug)]
pub struct Server;

/// A started server.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    secret: Arc<WebhookSecret>,
    callback_secret: Arc<CallbackSecret>,
    shutdown: CancellationToken,
    http: JoinHandle<()>,
    sender: JoinHandle<()>,
    pruner: JoinHandle<()>,
    leases: JoinHandle<()>,
    learning: Option<Learning>,
    worker: Worker,
    resumed: usize,
}

/// The learned job durations kept in the store: the watcher's estimates, and the task that merges
/// them into the store's now and then.
#[derive(Debug)]
struct Learning {
    store: Store,
    estimates: genjob::SharedEstimates,
    task: JoinHandle<()>,
}

impl Server {
    /// Opens the store (migrating it), picks up every unfinished watch, starts the webhook sender
    /// and serves the API. All requests to providers go through `watcher` (its one budget), with
    /// batch watching through listings turned off (each job is watched on its own for now).
    pub async fn start(config: ServerConfig, watcher: Watcher) -> Result<RunningServer, ServerError> {
        let store = Store::open(&config.db).await?;
        let secret = match config.webhook_secret {
            Some(secret) => secret,
            None => {
                let stored = store.setting_or_insert("webhook_secret", || {
                    let mut bytes = [0u8; 32];
                    rand::rng().fill_bytes(&mut bytes);
                    WebhookSecret::from_bytes(bytes).expose()
                });
                WebhookSecret::parse(&stored.await?).map_err(|_| ServerError::StoredSecret)?
            }
        };
        let secret = Arc::new(secret);
        let callback_secret = match config.callback_secret {
            Some(secret) => secret,
            None => {
                let stored =
                    store.setting_or_insert("callback_secret", || CallbackSecret::generate().expose().to_owned());
                CallbackSecret::new(&stored.await?).map_err(|_| ServerError::StoredCallbackSecret)?
            }
        };
        let callback_secret = Arc::new(callback_secret);
        // Paths in the store and in webhooks are absolute: the receiver need not know our working directory.
        let output_dir = std::path::absolute(&config.output_dir)
            .map_err(|source| ServerError::OutputDir { dir: config.output_dir.clone(), source })?;
        // Half-arrived files of a server killed mid-download are garbage: no watch will name them.
        let (dir, timeout) = (output_dir.clone(), config.download_timeout);
        let removed = tokio::task::spawn_blocking(move || worker::remove_stale_parts(&dir, timeout)).await;
        if let Ok(removed @ 1..) = removed {
            tracing::info!("removed {removed} unfinished downloads left by an earlier run");
        }
        let outputs = Arc::new(output_dir.clone());
        let keeping =
            Keeping { dir: output_dir, retries: config.download_retries.clone(), timeout: config.download_timeout };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServerError::Listen { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Listen { addr: config.listen, source })?;

        // Each job is its own `Watch` (a running watch takes no new jobs), so a provider listing
        // would cover one job per request: no cheaper than its record, and only a hint. Read records.
        // Every watch takes callbacks, but the server cannot know which jobs were given its
        // callback URL: polling stays as dense as without callbacks, which only make it sooner.
        let options = watcher.options().clone().with_batch(false).with_callback_fallback_factor(1.0);
        let watcher = watcher.clone().with_options(options);
        let shutdown = CancellationToken::new();
        let deliveries = Arc::new(Notify::new());
        // Replicas over one database keep the providers' pace together, and each runs the watches
        // it leases.
        let (watcher, leasing) = match store.shared_pace() {
            Some(pace) => {
                let replica: String =
                    rand::rng().sample_iter(rand::distr::Alphanumeric).take(12).map(char::from).collect();
                let leasing = Leasing { replica: format!("replica-{replica}"), lease: config.lease.max(MIN_LEASE) };
                (watcher.with_budget(genjob::RequestBudget::shared(pace)), Some(leasing))
            }
            None => (watcher, None),
        };
        // What this server (or the fleet) learned before: the watches picked up below use it at once.
        if let Some(estimates) = watcher.learning() {
            match store.learned().await {
                Ok(stored) => estimates.merge(&stored),
                Err(e) => tracing::warn!("starting without the learned job durations of the store: {e}"),
            }
        }
        let worker =
            Worker::new(store.clone(), watcher.clone(), keeping, leasing, deliveries.clone(), shutdown.clone());
        let resumed = worker.resume_all().await?;
        let leases = tokio::spawn(worker.clone().hold_leases());
        let learning = watcher.learning().cloned().map(|estimates| {
            let task =
                tokio::spawn(keep_learning(store.clone(), estimates.clone(), config.learn_every, shutdown.clone()));
            Learning { store: store.clone(), estimates, task }
        });

        let sender = webhook::Sender {
            store: store.clone(),
            secret: secret.clone(),
            schedule: config.retry_schedule.clone(),
            wake: deliveries,
            client: webhook::Sender::client(),
        };
        let sender = tokio::spawn(sender.run(shutdown.clone()));

        let pruner = tokio::spawn(prune_events(store.clone(), config.event_retention.clone(), shutdown.clone()));
        let state = v1::AppState {
            store,
            worker: worker.clone(),
            watcher,
            token: config.token,
            secret: secret.clone(),
            callback_secret: callback_secret.clone(),
            outputs,
            shutdown: shutdown.clone(),
        };
        let app = v1::router(state, config.body_limit);
        let stop = shutdown.clone();
        let http = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await;
            if let Err(e) = served {
                tracing::error!("the API server stopped: {e}");
            }
        });
        Ok(RunningServer {
            addr,
            secret,
            callback_secret,
            shutdown,
            http,
            sender,
            pruner,
            leases,
            learning,
            worker,
            resumed,
        })
    }
}

impl RunningServer {
    /// The address the API listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The secret deliveries are signed with (hand it to receivers; never log it).
    pub fn webhook_secret(&self) -> &WebhookSecret {
        &self.secret
    }

    /// The secret path segment of the provider callback receiver: give providers
    /// `http(s)://<host>/hooks/<secret>` as their callback URL (never log it).
    pub fn callback_secret(&self) -> &CallbackSecret {
        &self.callback_secret
    }

    /// How many unfinished watches (files still to be kept included) were picked up again at start.
    pub fn resumed(&self) -> usize {
        self.resumed
    }

    /// Stops serving, watching and delivering, and waits until all of it has stopped (the
    /// database is then free for another process). Nothing is lost: unfinished watches and
    /// pending deliveries stay in the store for the next start.
    ///
    /// Responses in flight get [`HTTP_GRACE`] to end: an event stream ends at once, unless its
    /// client stopped reading with the socket full; then serving is stopped without waiting for
    /// that connection (which keeps the database until it ends or the process exits).
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if tokio::time::timeout(HTTP_GRACE, &mut self.http).await.is_err() {
            tracing::warn!(
                "the API did not stop within {HTTP_GRACE:?} (a client not reading its events?); stopping it"
            );
            self.http.abort();
        }
        let _ = self.sender.await;
        let _ = self.pruner.await;
        // Joins the watches, then (shared store) gives up this replica's leases.
        let _ = self.leases.await;
        self.worker.join().await;
        // Last, when no watch learns any more: what this run learned outlives it.
        if let Some(learning) = self.learning {
            let _ = learning.task.await;
            save_learned(&learning.store, &learning.estimates).await;
        }
    }
}

/// Prunes the event log now and then, as `retention` says, until the server stops.
async fn prune_events(store: Store, retention: EventRetention, stop: CancellationToken) {
    loop {
        let max_age = i64::try_from(retention.max_age.as_millis()).unwrap_or(i64::MAX);
        match store.prune_events(now_ms().saturating_sub(max_age), retention.max_events).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("pruned {n} old events"),
            Err(e) => tracing::error!("cannot prune events: {e}"),
        }
        tokio::select! {
            // Never a busy loop, whatever the setting.
            () = tokio::time::sleep(retention.every.max(std::time::Duration::from_millis(100))) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Merges what the watcher learned into the store every `every`, and takes the merged result
/// (what other replicas learned too) back, until the server stops (its last save is at shutdown).
async fn keep_learning(
    store: Store,
    estimates: genjob::SharedEstimates,
    every: std::time::Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            // Never a busy loop, whatever the setting.
            () = tokio::time::sleep(every.max(std::time::Duration::from_millis(100))) => {}
            () = stop.cancelled() => return,
        }
        save_learned(&store, &estimates).await;
    }
}

/// One merge of the learned durations into the store, and the result taken back. Merging (not
/// replacing) keeps what the watches learned meanwhile; samples are per job, so none counts twice.
async fn save_learned(store: &Store, estimates: &genjob::SharedEstimates) {
    match store.merge_learned(estimates.snapshot(), now_ms()).await {
        Ok(merged) => estimates.merge(&merged),
        // Only learning is lost meanwhile: the next merge carries it.
        Err(e) => tracing::warn!("cannot save the learned job durations: {e}"),
    }
}
