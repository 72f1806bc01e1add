//! The serve section: `genjob serve` replicas watching sandbox jobs, their webhooks received and
//! verified on 127.0.0.1.
//!
//! The replicas are real processes: this binary run again with [`REPLICA_DB`] set, which starts
//! `genjob_server::Server` (the code `genjob serve` runs) with a short lease and a short webhook
//! retry schedule (the binary has no flags for either: its 30 s lease and 5 s, 5 min, … schedule
//! would make the chaos run last hours), and stops it gracefully when its stdin closes. They read
//! the sandbox through one recording proxy, so every API request of the fleet is timed per provider.
//!
//! The sandbox runs at [`Pace::RealClock`]: the jobs' durations are divided by [`SPEED`] and every
//! other clock (records, the replicas' policy, leases, the request pace) is the real one, so the
//! documented pace of 5 requests per second per provider is measured in real seconds.
//!
//! Three runs: the batch over 2 replicas on PostgreSQL, the same batch over one SQLite-backed
//! process (the same server code, one replica), and a smaller chaos batch over 2 replicas on
//! PostgreSQL in which a replica is killed (SIGKILL) every 30 simulated seconds and restarted, and
//! the webhook receiver refuses every delivery for a while.

use super::live::uniform_durations;
use super::page;
use super::{Line, SEED, goal, line, round};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use futures::StreamExt;
use genjob::Watcher;
use genjob::models::webhook::{WebhookHeaders, WebhookSecret};
use genjob_sandbox::{JobSpec, Pace, Sandbox, SandboxConfig};
use genjob_server::Server;
use genjob_server::cfg::{ServerConfig, ServerToken, parse_db};
use genjob_server::webhook::RetrySchedule;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Set in a replica's environment: its `--db`. This binary then runs a replica, not the bench.
const REPLICA_DB: &str = "GENJOB_BENCH_REPLICA_DB";
/// A replica's provider base URL (the recording proxy).
const REPLICA_BASE: &str = "GENJOB_BENCH_REPLICA_BASE";
/// A replica's webhook signing secret (the receiver verifies with it).
const REPLICA_SECRET: &str = "GENJOB_BENCH_REPLICA_SECRET";
/// A replica's output directory.
const REPLICA_OUTPUTS: &str = "GENJOB_BENCH_REPLICA_OUTPUTS";
/// The PostgreSQL server the section may use (a role that may create schemas).
const POSTGRES_VAR: &str = "GENJOB_TEST_POSTGRES_URL";
/// Overrides [`JOBS`] (a quick try of the section).
const JOBS_VAR: &str = "GENJOB_BENCH_SERVE_JOBS";

const API_TOKEN: &str = "bench-serve-api-token-0123456789";
/// The sandbox's provider token.
const PROVIDER_TOKEN: &str = "bench-token";

/// Watches of the fleet and single-process runs.
const JOBS: usize = 10_000;
/// Watches of the chaos run; every fifth one keeps its files (`download: true`).
const CHAOS_JOBS: usize = 300;
/// How much faster than documented the jobs run (durations 60–180 s become 6–18 s).
const SPEED: f64 = 10.0;
/// Replicas of the fleet and chaos runs.
const REPLICAS: usize = 2;
/// The replicas' lease: a killed replica's watches are taken over within it.
const LEASE: Duration = Duration::from_secs(3);
/// A replica is killed every 30 simulated seconds.
const KILL_EVERY_SIM_S: f64 = 30.0;
/// How long the receiver refuses every delivery, once a tenth of the chaos batch was delivered.
const RECEIVER_DOWN: Duration = Duration::from_secs(15);
/// The documented pace: API requests per second per provider (`requests_per_second`).
const PACE: usize = 5;
/// Size of every file the sandbox serves, so a kept file's completeness is its size.
const FILE_SIZE: usize = 32 * 1024;
/// A run that has not delivered every final state by then is reported as it stands.
const RUN_LIMIT: Duration = Duration::from_secs(1_800);
/// Watches posted at once.
const POST_CONCURRENCY: usize = 8;

/// The goals of issue 19.
const MAX_REQUESTS_RATIO: f64 = 1.05;
const MAX_LATENCY_RATIO: f64 = 1.10;
/// The goal of issue 20: the overview of the batch renders within a second.
const DASHBOARD_RENDER_MS: f64 = 1_000.0;

/// Runs a replica when this process was started as one, and says how it ended.
pub fn replica_from_env() -> Option<ExitCode> {
    let db = std::env::var(REPLICA_DB).ok()?;
    Some(match run_replica(&db) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench replica: {e}");
            ExitCode::FAILURE
        }
    })
}

/// A variable of a replica's environment.
fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// One replica: `Server::start` as `genjob serve` does, its address on stdout, a graceful
/// shutdown when stdin closes (SIGKILL is the other way it ends).
fn run_replica(db: &str) -> Result<(), String> {
    let base = var(REPLICA_BASE)?;
    let secret = WebhookSecret::parse(&var(REPLICA_SECRET)?).map_err(|e| format!("{REPLICA_SECRET}: {e}"))?;
    let outputs = PathBuf::from(var(REPLICA_OUTPUTS)?);
    // What a replica warns about (the fleet's pace unavailable, a delivery failing) reaches the
    // bench's stderr, as `genjob serve` would print it.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    runtime.block_on(async move {
        let lookup = move |name: &str| match name {
            "USEAPI_BASE_URL" | "TOKEN360_BASE_URL" => Some(base.clone()),
            "USEAPI_TOKEN" | "TOKEN360_API_KEY" => Some(PROVIDER_TOKEN.to_owned()),
            _ => None,
        };
        // What `genjob serve` ships: the watcher's default options and policy.
        let watcher = Watcher::from_lookup(&lookup).map_err(|e| e.to_string())?;
        let db = parse_db(db).map_err(|e| e.to_string())?;
        let token = ServerToken::new(API_TOKEN).map_err(|e| e.to_string())?;
        let mut config = ServerConfig::new(([127, 0, 0, 1], 0).into(), db, token);
        config.webhook_secret = Some(secret);
        config.retry_schedule = RetrySchedule::new([1, 2, 4, 8, 15, 30, 60, 120].map(Duration::from_secs).to_vec());
        config.output_dir = outputs;
        config.lease = LEASE;
        let server = Server::start(config, watcher).await.map_err(|e| e.to_string())?;
        println!("LISTENING {}", server.addr());
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                line.clear();
            }
        })
        .await;
        server.shutdown().await;
        Ok(())
    })
}

/// A replica process; killed when dropped, so none outlives the bench.
struct Replica {
    child: Child,
    stdin: Option<ChildStdin>,
    /// `http://ADDR` of its API.
    base: String,
}

impl Replica {
    async fn spawn(db: &str, provider_base: &str, secret: &WebhookSecret, outputs: &Path) -> Result<Replica, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let mut child = Command::new(exe)
            .arg("bench")
            .env(REPLICA_DB, db)
            .env(REPLICA_BASE, provider_base)
            .env(REPLICA_SECRET, secret.expose())
            .env(REPLICA_OUTPUTS, outputs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start a replica: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("a replica without stdout")?;
        // Owned from here: a replica that fails to start is killed too.
        let mut replica = Replica { child, stdin, base: String::new() };
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let addr = lines
                .by_ref()
                .map_while(Result::ok)
                .find_map(|line| line.strip_prefix("LISTENING ").map(|addr| addr.trim().to_owned()));
            let _ = tx.send(addr);
            // Keep draining, so the replica never blocks on a full pipe.
            for _ in lines {}
        });
        let addr = tokio::time::timeout(Duration::from_secs(60), rx).await.ok().and_then(Result::ok).flatten();
        replica.base = format!("http://{}", addr.ok_or("a replica did not start (no address within a minute)")?);
        Ok(replica)
    }

    /// SIGKILL, and the process reaped.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes its stdin (a graceful shutdown: the store is left clean) and waits up to 20 s.
    async fn stop(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A directory removed when dropped.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(name: &str) -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("genjob-bench-{name}-{}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// API requests the proxy forwarded, per provider, with their times (file downloads go to the
/// URLs the records give, the sandbox itself, not through the proxy).
#[derive(Debug, Default)]
struct Traffic {
    api: BTreeMap<&'static str, Vec<Instant>>,
}

/// The provider (its budget) an API path belongs to; `None`: a file.
fn provider_of(path: &str) -> Option<&'static str> {
    if path.starts_with("/v1/dreamina/") {
        Some("dreamina")
    } else if path.starts_with("/v1/google-flow/") {
        Some("google-flow")
    } else if path.starts_with("/v1/videos") {
        Some("token360")
    } else {
        None
    }
}

/// A proxy on 127.0.0.1 in front of `upstream` that times every request; returns its base URL.
async fn recording_proxy(
    upstream: String,
    traffic: Arc<Mutex<Traffic>>,
) -> Result<(String, tokio::task::JoinHandle<()>), String> {
    let http = reqwest::Client::new();
    let forward = move |State((upstream, traffic, http)): State<(String, Arc<Mutex<Traffic>>, reqwest::Client)>,
                        request: Request| async move {
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
        {
            let mut log = traffic.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(provider) = provider_of(request.uri().path()) {
                log.api.entry(provider).or_default().push(Instant::now());
            }
        }
        let mut outgoing = http.get(format!("{upstream}{path}"));
        if let Some(auth) = request.headers().get("authorization") {
            outgoing = outgoing.header("authorization", auth);
        }
        let Ok(answer) = outgoing.send().await else { return StatusCode::BAD_GATEWAY.into_response() };
        let status = answer.status();
        let headers = answer.headers().clone();
        let Ok(body) = answer.bytes().await else { return StatusCode::BAD_GATEWAY.into_response() };
        let mut response = (status, body).into_response();
        for name in ["content-type", "retry-after", "retry-after-ms"] {
            if let Some(value) = headers.get(name) {
                response.headers_mut().insert(name, value.clone());
            }
        }
        response
    };
    let app = axum::Router::new().fallback(forward).with_state((upstream, traffic, http));
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("cannot bind the proxy: {e}"))?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| format!("proxy address: {e}"))?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base, server))
}

/// The most requests of one provider in any window of `window`.
fn busiest(times: &[Instant], window: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let (mut best, mut start) = (0, 0);
    for end in 0..sorted.len() {
        while sorted[end].duration_since(sorted[start]) >= window {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// The shortest time in which one provider got `PACE + 1` API requests (`None`: fewer in all):
/// under a second means a second with more than the pace.
fn tightest(times: &[Instant]) -> Option<Duration> {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.windows(PACE + 1).map(|w| w[PACE].duration_since(w[0])).min()
}

/// One accepted, verified delivery.
#[derive(Debug, Clone)]
struct Delivery {
    job_id: String,
    status: String,
    at: Instant,
    files: Vec<String>,
}

/// What the webhook receiver saw.
#[derive(Debug, Default)]
struct Inbox {
    accepted: Vec<Delivery>,
    /// Jobs whose delivery was refused while the receiver was down.
    refused: BTreeSet<String>,
    /// Deliveries whose signature did not verify.
    forged: u64,
}

#[derive(Debug)]
struct ReceiverState {
    secret: WebhookSecret,
    down: AtomicBool,
    inbox: Mutex<Inbox>,
}

/// The webhook receiver: verifies the signature, then accepts (or, while down, refuses) the delivery.
async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: axum::body::Bytes) -> StatusCode {
    let at = Instant::now();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let signed = WebhookHeaders {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    };
    let verified = state.secret.verify(&signed, &body, jiff::Timestamp::now()).is_ok();
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let job_id = text(&payload["data"]["job_id"]);
    let mut inbox = state.inbox.lock().unwrap_or_else(|p| p.into_inner());
    if !verified {
        inbox.forged += 1;
        return StatusCode::BAD_REQUEST;
    }
    if state.down.load(Ordering::SeqCst) {
        inbox.refused.insert(job_id);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let files = payload["data"]["files"].as_array().map(|f| f.iter().map(text).collect()).unwrap_or_default();
    inbox.accepted.push(Delivery { job_id, status: text(&payload["data"]["status"]), at, files });
    StatusCode::OK
}

/// The store of a run.
enum Db {
    /// A schema of its own on the PostgreSQL server at `base`.
    Postgres { base: String, schema: String, url: String },
    /// A SQLite file.
    Sqlite(PathBuf),
}

impl Db {
    async fn postgres(base: &str, name: &str) -> Result<Db, String> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let schema = format!("bench_{name}_{}_{nanos:x}", std::process::id());
        with_postgres(base, |client| {
            let schema = schema.clone();
            async move { client.batch_execute(&format!("CREATE SCHEMA {schema}")).await }
        })
        .await?;
        // Every connection of the replicas then works in that schema only.
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        Ok(Db::Postgres { base: base.to_owned(), schema, url })
    }

    fn url(&self) -> String {
        match self {
            Db::Postgres { url, .. } => url.clone(),
            Db::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }

    /// Bytes the store takes: the tables of the schema (indexes and TOAST included), or the
    /// SQLite file with its write-ahead log.
    async fn bytes(&self) -> Result<u64, String> {
        match self {
            Db::Postgres { base, schema, .. } => {
                let schema = schema.clone();
                let size = with_postgres(base, |client| async move {
                    client
                        .query_one(
                            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                            &[&schema],
                        )
                        .await
                        .and_then(|row| row.try_get::<_, i64>(0))
                })
                .await?;
                Ok(u64::try_from(size).unwrap_or(0))
            }
            Db::Sqlite(path) => {
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
                Ok(len(path) + len(Path::new(&wal)))
            }
        }
    }

    /// Drops the schema (a SQLite file goes with its directory).
    async fn remove(&self) {
        if let Db::Postgres { base, schema, .. } = self {
            let schema = schema.clone();
            let dropped = with_postgres(base, |client| async move {
                client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await
            })
            .await;
            if let Err(e) = dropped {
                eprintln!("bench: serve: cannot drop a schema of the run: {e}");
            }
        }
    }
}

/// Runs `work` on a fresh connection to `base`.
async fn with_postgres<T, F, Fut>(base: &str, work: F) -> Result<T, String>
where
    F: FnOnce(Arc<tokio_postgres::Client>) -> Fut,
    Fut: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
{
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("{POSTGRES_VAR} is set but PostgreSQL does not answer: {e}"))?;
    let connection = tokio::spawn(connection);
    let client = Arc::new(client);
    let result = work(client.clone()).await.map_err(|e| format!("PostgreSQL: {e}"));
    drop(client);
    let _ = connection.await;
    result
}

/// What one run is.
#[derive(Debug, Clone, Copy)]
struct RunSpec {
    name: &'static str,
    jobs: usize,
    replicas: usize,
    /// Replicas killed every 30 simulated seconds, the receiver down for a while, some downloads,
    /// and the dashboard's requests made all along; without chaos, the overview's render time is
    /// measured once half the batch was delivered.
    chaos: bool,
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
struct RunResult {
    jobs: usize,
    /// API requests of every replica (records; no listing: the server reads each job on its own).
    requests: u64,
    /// Per provider, the most API requests in any 1 s, and in any 10 s divided by 10.
    busiest_1s: BTreeMap<&'static str, usize>,
    busiest_10s: BTreeMap<&'static str, f64>,
    /// Per provider, the shortest time that held `PACE + 1` requests.
    tightest: BTreeMap<&'static str, Duration>,
    /// Mean real seconds from a job's end to its first accepted delivery.
    mean_latency_s: f64,
    /// Watches not final at the end.
    jobs_lost: usize,
    /// Jobs whose final state was never delivered.
    webhooks_lost: usize,
    /// Accepted deliveries beyond the first per job.
    duplicates: usize,
    /// Jobs a delivery of which was refused while the receiver was down, and of those, never delivered after.
    refused: usize,
    refused_not_delivered_after: usize,
    /// Kept files missing or incomplete, plus temporary download files left behind.
    half_kept: usize,
    /// `download: true` watches whose delivery lists no file.
    downloads_not_kept: usize,
    forged: u64,
    killed: usize,
    store_bytes: u64,
    post_per_s: f64,
    real: Duration,
    /// The overview's load times in headless Chromium (ms), or why they were not measured.
    dashboard_loads: Option<Result<Vec<f64>, String>>,
    /// What the dashboard's requests got under chaos.
    page_visits: Option<page::PageVisits>,
}

impl RunResult {
    fn requests_per_job(&self) -> f64 {
        self.requests as f64 / self.jobs.max(1) as f64
    }

    fn max_1s(&self) -> usize {
        self.busiest_1s.values().copied().max().unwrap_or(0)
    }

    /// The shortest time any provider took `PACE + 1` requests in, in ms.
    fn tightest_ms(&self) -> f64 {
        self.tightest.values().min().map_or(f64::INFINITY, |d| d.as_secs_f64() * 1e3)
    }

    fn max_10s(&self) -> f64 {
        self.busiest_10s.values().copied().fold(0.0, f64::max)
    }
}

/// The `i`th job of a batch: its spec, and the `provider` field its watch needs (token360 ids say none).
fn job_spec(i: usize) -> (JobSpec, Option<&'static str>) {
    match i % 3 {
        0 => (JobSpec::token360_video(), Some("token360")),
        1 => (JobSpec::dreamina_video(), None),
        _ => (JobSpec::google_flow_video(), None),
    }
}

/// One run on a sandbox, proxy and receiver of its own; everything it started is stopped.
async fn run(spec: RunSpec, postgres: Option<&str>) -> Result<RunResult, String> {
    let started = Instant::now();
    let config = SandboxConfig {
        speed: SPEED,
        pace: Pace::RealClock,
        token: Some(PROVIDER_TOKEN.to_owned()),
        video_file_size: FILE_SIZE,
        image_file_size: FILE_SIZE,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(([127, 0, 0, 1], 0).into(), config)
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    let traffic = Arc::new(Mutex::new(Traffic::default()));
    let (proxy_base, proxy) = recording_proxy(sandbox.base_url(), traffic.clone()).await?;

    let secret = WebhookSecret::from_bytes(rand::random::<[u8; 32]>().to_vec());
    let state =
        Arc::new(ReceiverState { secret: secret.clone(), down: AtomicBool::new(false), inbox: Mutex::default() });
    let receiver_app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state.clone());
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("cannot bind the receiver: {e}"))?;
    let hook_url = format!("http://{}/hook", listener.local_addr().map_err(|e| format!("receiver address: {e}"))?);
    let receiver = tokio::spawn(async move {
        let _ = axum::serve(listener, receiver_app).await;
    });

    let work = TempDir::new(spec.name)?;
    let outputs = work.0.join("outputs");
    let db = match postgres {
        Some(base) => Db::postgres(base, spec.name).await?,
        None => Db::Sqlite(work.0.join("genjob.db")),
    };
    let measured = drive(spec, &db, &sandbox, &proxy_base, &secret, &state, &hook_url, &outputs, traffic).await;
    db.remove().await;
    proxy.abort();
    receiver.abort();
    sandbox.shutdown().await;
    let mut result = measured?;
    result.real = started.elapsed();
    Ok(result)
}

/// The run proper: replicas up, jobs created and watched, chaos if asked, until every final state
/// was delivered; then the counts.
#[allow(clippy::too_many_arguments)]
async fn drive(
    spec: RunSpec,
    db: &Db,
    sandbox: &Sandbox,
    proxy_base: &str,
    secret: &WebhookSecret,
    state: &Arc<ReceiverState>,
    hook_url: &str,
    outputs: &Path,
    traffic: Arc<Mutex<Traffic>>,
) -> Result<RunResult, String> {
    let db_url = db.url();
    let mut replicas = Vec::with_capacity(spec.replicas);
    for _ in 0..spec.replicas {
        replicas.push(Replica::spawn(&db_url, proxy_base, secret, outputs).await?);
    }
    let durations = uniform_durations(spec.jobs, 60.0, 180.0, SEED ^ 0x5e7e);
    let http = reqwest::Client::new();
    let api = replicas.first().map(|r| r.base.clone()).ok_or("no replica")?;
    let posting = Instant::now();
    // Each job is created just before its watch is posted, so a slower API does not age the
    // batch before it is watched.
    let posted: Vec<Result<(String, Instant, bool), String>> = futures::stream::iter(durations.into_iter().enumerate())
        .map(|(i, d)| {
            let (http, api) = (http.clone(), api.clone());
            let (job, provider) = job_spec(i);
            let download = spec.chaos && i % 5 == 0;
            async move {
                let added = Instant::now();
                let id = sandbox.add_job(job.with_duration(d));
                // At `Pace::RealClock` the sandbox divides the duration by the speed.
                let end = added + d.div_f64(SPEED);
                let mut body = json!({"job_id": id, "webhook_url": hook_url, "download": download});
                if let Some(provider) = provider {
                    body["provider"] = json!(provider);
                }
                let answer = http
                    .post(format!("{api}/v1/watches"))
                    .bearer_auth(API_TOKEN)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .map_err(|e| format!("POST /v1/watches: {e}"))?;
                match answer.status().as_u16() {
                    201 => Ok((id, end, download)),
                    status => {
                        Err(format!("POST /v1/watches answered {status}: {}", answer.text().await.unwrap_or_default()))
                    }
                }
            }
        })
        .buffer_unordered(POST_CONCURRENCY)
        .collect()
        .await;
    let post_per_s = spec.jobs as f64 / posting.elapsed().as_secs_f64().max(1e-9);
    let (mut ends, mut downloads) = (BTreeMap::new(), BTreeSet::new());
    for watch in posted {
        let (id, end, download) = watch?;
        if download {
            downloads.insert(id.clone());
        }
        ends.insert(id, end);
    }

    let kill_every = Duration::from_secs_f64(KILL_EVERY_SIM_S / SPEED);
    let mut next_kill = Instant::now() + kill_every;
    let (mut killed, mut down_since, mut up_at) = (0usize, None::<Instant>, None::<Instant>);
    let deadline = Instant::now() + RUN_LIMIT;
    // The dashboard: under chaos its requests are made to every replica all along (a killed one's
    // successor taking its place in the list); otherwise its render time is measured mid-batch.
    let bases = Arc::new(Mutex::new(replicas.iter().map(|r| r.base.clone()).collect::<Vec<_>>()));
    let stop_visits = Arc::new(AtomicBool::new(false));
    let visitor = spec.chaos.then(|| {
        let jobs: Vec<String> = downloads.iter().chain(ends.keys()).cloned().collect();
        tokio::spawn(page::visit(bases.clone(), jobs, API_TOKEN.to_owned(), stop_visits.clone()))
    });
    let mut render = None;
    loop {
        let delivered: BTreeSet<String> = {
            let inbox = state.inbox.lock().unwrap_or_else(|p| p.into_inner());
            inbox.accepted.iter().map(|d| d.job_id.clone()).collect()
        };
        if delivered.len() >= spec.jobs || Instant::now() >= deadline {
            break;
        }
        if !spec.chaos && render.is_none() && delivered.len() * 2 >= spec.jobs {
            let base = replicas.first().map(|r| r.base.clone()).unwrap_or_default();
            render = Some(tokio::spawn(async move { page::render_ms(&base, API_TOKEN).await }));
        }
        if spec.chaos {
            if Instant::now() >= next_kill {
                let victim = killed % replicas.len();
                replicas[victim].kill();
                killed += 1;
                replicas[victim] = Replica::spawn(&db_url, proxy_base, secret, outputs).await?;
                bases.lock().unwrap_or_else(|p| p.into_inner())[victim] = replicas[victim].base.clone();
                next_kill += kill_every;
            }
            match (down_since, up_at) {
                (None, _) if delivered.len() * 10 >= spec.jobs => {
                    state.down.store(true, Ordering::SeqCst);
                    down_since = Some(Instant::now());
                }
                (Some(since), None) if since.elapsed() >= RECEIVER_DOWN => {
                    state.down.store(false, Ordering::SeqCst);
                    up_at = Some(Instant::now());
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Late duplicates (a delivery retried because its answer was lost with a killed replica).
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop_visits.store(true, Ordering::SeqCst);
    let page_visits = match visitor {
        Some(visits) => Some(visits.await.map_err(|e| format!("the dashboard's visitor: {e}"))?),
        None => None,
    };
    let dashboard_loads = match render {
        Some(loads) => Some(loads.await.map_err(|e| format!("the dashboard's render measurement: {e}"))?),
        None => None,
    };

    // Watches not final, read from a replica that is up.
    let statuses: Vec<Result<String, String>> = futures::stream::iter(ends.keys().cloned())
        .map(|id| {
            let (http, api) = (http.clone(), replicas.last().map(|r| r.base.clone()).unwrap_or_default());
            async move {
                let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
                let answer = http
                    .get(format!("{api}/v1/watches/{}", encoded.replace('+', "%20")))
                    .bearer_auth(API_TOKEN)
                    .send()
                    .await
                    .map_err(|e| format!("GET a watch: {e}"))?;
                let bytes = answer.bytes().await.map_err(|e| format!("GET a watch: {e}"))?;
                let watch: Value = serde_json::from_slice(&bytes).map_err(|e| format!("GET a watch: {e}"))?;
                Ok(watch["status"].as_str().unwrap_or_default().to_owned())
            }
        })
        .buffer_unordered(POST_CONCURRENCY)
        .collect()
        .await;
    let mut jobs_lost = 0;
    for status in statuses {
        if !matches!(status?.as_str(), "completed" | "failed" | "expired") {
            jobs_lost += 1;
        }
    }
    for replica in replicas {
        replica.stop().await;
    }
    let store_bytes = db.bytes().await?;

    let inbox = std::mem::take(&mut *state.inbox.lock().unwrap_or_else(|p| p.into_inner()));
    let mut first: BTreeMap<&str, &Delivery> = BTreeMap::new();
    for delivery in &inbox.accepted {
        first.entry(delivery.job_id.as_str()).or_insert(delivery);
    }
    let latencies: Vec<f64> = first
        .iter()
        .filter_map(|(id, d)| ends.get(*id).map(|end| d.at.saturating_duration_since(*end).as_secs_f64()))
        .collect();
    let mean_latency_s = latencies.iter().sum::<f64>() / latencies.len().max(1) as f64;
    let webhooks_lost = ends.keys().filter(|id| !first.contains_key(id.as_str())).count();
    let refused_not_delivered_after = inbox
        .refused
        .iter()
        .filter(|id| !inbox.accepted.iter().any(|d| &d.job_id == *id && up_at.is_some_and(|up| d.at >= up)))
        .count();

    // Half-kept outputs: a listed file missing or short, or a temporary file left behind.
    let mut half_kept = 0;
    let mut downloads_not_kept = 0;
    for id in &downloads {
        let Some(delivery) = first.get(id.as_str()) else { continue };
        if delivery.status == "completed" && delivery.files.is_empty() {
            downloads_not_kept += 1;
        }
        for file in &delivery.files {
            let complete = std::fs::metadata(file).is_ok_and(|m| m.len() == FILE_SIZE as u64);
            if !complete {
                half_kept += 1;
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(outputs) {
        half_kept += entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".part")))
            .count();
    }

    let traffic = std::mem::take(&mut *traffic.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(RunResult {
        jobs: spec.jobs,
        requests: traffic.api.values().map(|t| t.len() as u64).sum(),
        busiest_1s: traffic.api.iter().map(|(p, t)| (*p, busiest(t, Duration::from_secs(1)))).collect(),
        busiest_10s: traffic.api.iter().map(|(p, t)| (*p, busiest(t, Duration::from_secs(10)) as f64 / 10.0)).collect(),
        tightest: traffic.api.iter().filter_map(|(p, t)| Some((*p, tightest(t)?))).collect(),
        mean_latency_s,
        jobs_lost,
        webhooks_lost,
        duplicates: inbox.accepted.len() - first.len(),
        refused: inbox.refused.len(),
        refused_not_delivered_after,
        half_kept,
        downloads_not_kept,
        forged: inbox.forged,
        killed,
        store_bytes,
        post_per_s,
        real: Duration::ZERO,
        dashboard_loads,
        page_visits,
    })
}

/// One run in a line of the progress log.
fn describe(run: &RunResult) -> String {
    format!(
        "{} API requests, {:.3} req/job, latency mean {:.2} s, busiest 1 s {} req ({:.1} s real)",
        run.requests,
        run.requests_per_job(),
        run.mean_latency_s,
        run.max_1s(),
        run.real.as_secs_f64()
    )
}

/// Runs the section, or says why it was skipped (no PostgreSQL server named).
pub async fn section() -> Result<(Vec<Line>, Value), String> {
    let Ok(postgres) = std::env::var(POSTGRES_VAR) else {
        let reason = format!("{POSTGRES_VAR} is not set (a PostgreSQL server whose role may create schemas)");
        eprintln!("bench: serve skipped: {reason}");
        return Ok((vec![line("serve", "skipped", reason.clone())], json!({"skipped": reason})));
    };
    let jobs = match std::env::var(JOBS_VAR) {
        Ok(n) => n.parse().map_err(|_| format!("{JOBS_VAR}: a number of watches, not `{n}`"))?,
        Err(_) => JOBS,
    };
    let chaos_jobs = CHAOS_JOBS.min(jobs);
    eprintln!(
        "bench: serve: {jobs} watches over {REPLICAS} replicas on PostgreSQL and, at the same time against a \
         sandbox of its own, the same batch over one SQLite-backed process…"
    );
    // Side by side: each has its own sandbox and so its own providers' pace, and both share the
    // machine's load alike (run one after the other, they would take twice as long).
    let (fleet, single) = tokio::join!(
        run(RunSpec { name: "fleet", jobs, replicas: REPLICAS, chaos: false }, Some(&postgres)),
        run(RunSpec { name: "single", jobs, replicas: 1, chaos: false }, None),
    );
    let (fleet, single) = (fleet?, single?);
    eprintln!("bench: serve: fleet: {}", describe(&fleet));
    eprintln!("bench: serve: one process: {}", describe(&single));
    eprintln!(
        "bench: serve: chaos: {chaos_jobs} watches over {REPLICAS} replicas, one killed every {KILL_EVERY_SIM_S} simulated s…"
    );
    let chaos =
        run(RunSpec { name: "chaos", jobs: chaos_jobs, replicas: REPLICAS, chaos: true }, Some(&postgres)).await?;
    eprintln!("bench: serve: chaos: {}", describe(&chaos));

    let render = |run: &RunResult| match &run.dashboard_loads {
        Some(Ok(loads)) => Ok(page::median(loads)),
        Some(Err(why)) => Err(why.clone()),
        None => Err("the batch never reached half delivered".to_owned()),
    };
    let (render_fleet, render_single) = (render(&fleet), render(&single));
    let loads = |run: &RunResult| match &run.dashboard_loads {
        Some(Ok(loads)) => loads.iter().map(|ms| format!("{ms:.0}")).collect::<Vec<_>>().join(", "),
        _ => "none".to_owned(),
    };
    let visits = chaos.page_visits.clone().unwrap_or_default();
    let rpj_ratio = fleet.requests_per_job() / single.requests_per_job().max(1e-9);
    let latency_ratio = fleet.mean_latency_s / single.mean_latency_s.max(1e-9);
    let unfinished = |run: &RunResult| run.jobs_lost + run.webhooks_lost;
    let lines = vec![
        goal(
            line(
                "serve",
                format!("{jobs} watches, {REPLICAS} replicas on PostgreSQL: requests"),
                format!(
                    "{:.3} req/job vs one SQLite process {:.3} (ratio {rpj_ratio:.3})",
                    fleet.requests_per_job(),
                    single.requests_per_job()
                ),
            ),
            format!("≤ {MAX_REQUESTS_RATIO}× one process"),
            rpj_ratio <= MAX_REQUESTS_RATIO,
        ),
        goal(
            line(
                "serve",
                format!("{jobs} watches, {REPLICAS} replicas: fleet pace"),
                format!(
                    "busiest second {} req/provider ({}); {} requests in {:.0} ms at the tightest; \
                     busiest 10 s {:.1}/s (one process: busiest second {})",
                    fleet.max_1s(),
                    fleet.busiest_1s.iter().map(|(p, n)| format!("{p} {n}")).collect::<Vec<_>>().join(", "),
                    PACE + 1,
                    fleet.tightest_ms(),
                    fleet.max_10s(),
                    single.max_1s()
                ),
            ),
            format!("≤ {PACE}/s per provider"),
            fleet.max_1s() <= PACE,
        ),
        goal(
            line(
                "serve",
                format!("{jobs} watches, {REPLICAS} replicas: latency"),
                format!(
                    "mean {:.2} s vs one process {:.2} s (ratio {latency_ratio:.3}; real s, jobs at {SPEED}× speed)",
                    fleet.mean_latency_s, single.mean_latency_s
                ),
            ),
            format!("≤ {MAX_LATENCY_RATIO}× one process"),
            latency_ratio <= MAX_LATENCY_RATIO,
        ),
        goal(
            line(
                "serve",
                format!("chaos: {} watches, {} replicas killed", chaos.jobs, chaos.killed),
                format!(
                    "{} jobs lost, {} webhooks lost, {} duplicates, {} outputs half-kept ({} downloads not kept, {} forged)",
                    chaos.jobs_lost,
                    chaos.webhooks_lost,
                    chaos.duplicates,
                    chaos.half_kept,
                    chaos.downloads_not_kept,
                    chaos.forged
                ),
            ),
            "0 lost, 0 half-kept",
            unfinished(&chaos) == 0 && chaos.half_kept == 0,
        ),
        goal(
            line(
                "serve",
                format!("chaos: receiver down {} s", RECEIVER_DOWN.as_secs()),
                format!(
                    "{} jobs' deliveries refused, {} not delivered after it returned",
                    chaos.refused, chaos.refused_not_delivered_after
                ),
            ),
            "all delivered after",
            chaos.refused > 0 && chaos.refused_not_delivered_after == 0,
        ),
        goal(
            line(
                "serve",
                format!("dashboard: overview of {jobs} watches in headless Chromium"),
                match (&render_fleet, &render_single) {
                    (Ok(fleet_ms), single_ms) => format!(
                        "median {fleet_ms:.0} ms of {} loads on the PostgreSQL fleet (loads {} ms); one SQLite process {}",
                        fleet.dashboard_loads.as_ref().and_then(|l| l.as_ref().ok()).map_or(0, Vec::len),
                        loads(&fleet),
                        single_ms
                            .as_ref()
                            .map_or_else(|why| format!("not measured: {why}"), |ms| format!("{ms:.0} ms"))
                    ),
                    (Err(why), _) => format!("not measured: {why}"),
                },
            ),
            format!("< {DASHBOARD_RENDER_MS} ms"),
            render_fleet.as_ref().is_ok_and(|ms| *ms < DASHBOARD_RENDER_MS)
                && render_single.as_ref().is_ok_and(|ms| *ms < DASHBOARD_RENDER_MS),
        ),
        goal(
            line(
                "serve",
                "dashboard under chaos: its requests to every replica",
                format!(
                    "{} answered, {} with a 5xx{}, {} hung over {} s; {} found their replica killed",
                    visits.answered,
                    visits.server_errors,
                    visits.first_error.as_ref().map_or_else(String::new, |e| format!(" (first: {e})")),
                    visits.hung,
                    page::PAGE_TIMEOUT.as_secs(),
                    visits.unreachable
                ),
            ),
            "0 5xx, 0 hung",
            visits.answered > 0 && visits.server_errors == 0 && visits.hung == 0,
        ),
        line(
            "serve",
            "store cost",
            format!(
                "SQLite {:.0} bytes/watch, PostgreSQL {:.0} bytes/watch",
                single.store_bytes as f64 / single.jobs.max(1) as f64,
                fleet.store_bytes as f64 / fleet.jobs.max(1) as f64
            ),
        ),
        line(
            "serve",
            "POST /v1/watches",
            format!(
                "{:.0} watches/s on SQLite, {:.0}/s on PostgreSQL ({POST_CONCURRENCY} at once)",
                single.post_per_s, fleet.post_per_s
            ),
        ),
    ];
    let json = json!({
        "jobs": jobs,
        "replicas": REPLICAS,
        "speed": SPEED,
        "requests_per_job": round(fleet.requests_per_job(), 4),
        "requests_per_job_single_process": round(single.requests_per_job(), 4),
        "max_requests_per_s": fleet.max_1s(),
        "max_requests_per_s_10s_window": round(fleet.max_10s(), 2),
        "max_requests_per_s_single_process": single.max_1s(),
        "tightest_6_requests_ms": round(fleet.tightest_ms(), 1),
        "mean_latency_s": round(fleet.mean_latency_s, 3),
        "mean_latency_single_process_s": round(single.mean_latency_s, 3),
        "chaos_jobs": chaos.jobs,
        "killed_replicas": chaos.killed,
        "jobs_lost": chaos.jobs_lost + fleet.jobs_lost,
        "webhooks_lost": chaos.webhooks_lost + fleet.webhooks_lost,
        "webhook_duplicates": chaos.duplicates,
        "outputs_half_kept": chaos.half_kept,
        "receiver_down_refused": chaos.refused,
        "receiver_down_not_delivered_after": chaos.refused_not_delivered_after,
        "bytes_per_watch_sqlite": round(single.store_bytes as f64 / single.jobs.max(1) as f64, 1),
        "bytes_per_watch_postgres": round(fleet.store_bytes as f64 / fleet.jobs.max(1) as f64, 1),
        "post_per_s": round(single.post_per_s, 1),
        "post_per_s_postgres": round(fleet.post_per_s, 1),
        "dashboard_render_ms": render_fleet.as_ref().ok().map(|ms| round(*ms, 1)),
        "dashboard_render_ms_sqlite": render_single.as_ref().ok().map(|ms| round(*ms, 1)),
        "dashboard_not_measured": render_fleet.as_ref().err().or(render_single.as_ref().err()),
        "dashboard_chaos_requests": visits.answered,
        "dashboard_chaos_5xx": visits.server_errors,
        "dashboard_chaos_hung": visits.hung,
        "dashboard_chaos_unreachable": visits.unreachable,
    });
    Ok((lines, json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_window_counts_requests_less_than_a_window_apart() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Five at 200 ms spacing fit in a second; the sixth at 1,000 ms does not join the first.
        let times: Vec<Instant> = (0..6).map(|i| at(i * 200)).collect();
        assert_eq!(busiest(&times, Duration::from_secs(1)), 5);
        assert_eq!(busiest(&[at(0), at(999), at(10)], Duration::from_secs(1)), 3);
        assert_eq!(busiest(&[], Duration::from_secs(1)), 0);
        assert_eq!(tightest(&times), Some(Duration::from_millis(1_000)));
        assert_eq!(tightest(&times[..5]), None);
    }

    #[test]
    fn api_paths_are_charged_to_their_provider_and_files_to_none() {
        assert_eq!(provider_of("/v1/videos/video_1"), Some("token360"));
        assert_eq!(provider_of("/v1/dreamina/videos/j-1"), Some("dreamina"));
        assert_eq!(provider_of("/v1/google-flow/jobs/x"), Some("google-flow"));
        assert_eq!(provider_of("/files/a.mp4"), None);
    }
}
