//! What the tests share: a sandbox, a server on a temporary database, a webhook receiver, a client.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use genjob::models::webhook::{WebhookHeaders, WebhookSecret};
use genjob::{FixedInterval, Watcher};
use genjob_sandbox::{JobSpec, Sandbox, SandboxConfig};
use genjob_server::cfg::{ServerConfig, ServerToken};
use genjob_server::webhook::RetrySchedule;
use genjob_server::{RunningServer, Server};
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The sandbox's provider token.
pub const PROVIDER_TOKEN: &str = "sandbox-provider-token";
/// The server's API token.
pub const API_TOKEN: &str = "server-api-token-0123456789";

/// A sandbox on 127.0.0.1 in real time.
pub async fn sandbox() -> Sandbox {
    let config = SandboxConfig { speed: 1.0, token: Some(PROVIDER_TOKEN.to_owned()), ..SandboxConfig::default() };
    Sandbox::start(([127, 0, 0, 1], 0).into(), config).await.expect("the sandbox starts")
}

/// A watcher for the sandbox's providers that reads every second (the test's jobs last seconds).
pub fn watcher(sandbox: &Sandbox) -> Watcher {
    let base = sandbox.base_url();
    let lookup = move |name: &str| match name {
        "USEAPI_BASE_URL" | "TOKEN360_BASE_URL" => Some(base.clone()),
        "USEAPI_TOKEN" | "TOKEN360_API_KEY" => Some(PROVIDER_TOKEN.to_owned()),
        _ => None,
    };
    Watcher::from_lookup(&lookup)
        .expect("sources for the sandbox")
        .with_policy(Arc::new(FixedInterval(Duration::from_secs(1))))
}

/// Creates the `i`th video of a batch of three providers in turn (token360, Dreamina, Google Flow)
/// ending `duration` from now; returns its id and the body that watches it, delivering to `webhook_url`.
pub fn video_of_three(sandbox: &Sandbox, i: usize, duration: Duration, webhook_url: &str) -> (String, Value) {
    let (spec, provider) = match i % 3 {
        0 => (JobSpec::token360_video(), Some("token360")),
        1 => (JobSpec::dreamina_video(), None),
        _ => (JobSpec::google_flow_video(), None),
    };
    let id = sandbox.add_job(spec.with_duration(duration));
    let mut body = serde_json::json!({"job_id": id, "webhook_url": webhook_url});
    if let Some(provider) = provider {
        body["provider"] = serde_json::json!(provider);
    }
    (id, body)
}

/// A server on a free port over the database `db`, retrying deliveries 3 times, 300 ms apart.
pub async fn server(db: &Path, sandbox: &Sandbox) -> RunningServer {
    server_with(db, sandbox, RetrySchedule::new(vec![Duration::from_millis(300); 3])).await
}

/// A server on a free port over the database `db`, retrying deliveries on `schedule`.
pub async fn server_with(db: &Path, sandbox: &Sandbox, schedule: RetrySchedule) -> RunningServer {
    server_watching(db, watcher(sandbox), schedule).await
}

/// A server on a free port over the database `db`, watching through `watcher`.
pub async fn server_watching(db: &Path, watcher: Watcher, schedule: RetrySchedule) -> RunningServer {
    start(db, watcher, |config| config.retry_schedule = schedule).await
}

/// A server on a free port over the database `db`, its configuration changed by `change`.
pub async fn server_configured(db: &Path, sandbox: &Sandbox, change: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    start(db, watcher(sandbox), change).await
}

async fn start(db: &Path, watcher: Watcher, change: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    let mut config =
        ServerConfig::new(([127, 0, 0, 1], 0).into(), db.to_owned(), ServerToken::new(API_TOKEN).expect("token"));
    config.retry_schedule = RetrySchedule::new(vec![Duration::from_millis(300); 3]);
    config.output_dir = outputs_dir(db);
    // Failed downloads are tried again twice, 300 ms apart, then the watch says why.
    config.download_retries = RetrySchedule::new(vec![Duration::from_millis(300); 2]);
    change(&mut config);
    Server::start(config, watcher).await.expect("the server starts")
}

/// Where a test server over `db` keeps outputs: `outputs` beside the database.
pub fn outputs_dir(db: &Path) -> std::path::PathBuf {
    db.parent().map_or_else(|| "outputs".into(), |dir| dir.join("outputs"))
}

/// The names in `dir`, sorted (none when it does not exist).
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// An answer of the API.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// A client of the API with (or without) the token.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    pub fn new(server: &RunningServer) -> Api {
        Self::at(&format!("http://{}", server.addr()))
    }

    /// A client of the server at `base` (`http://host:port`).
    pub fn at(base: &str) -> Api {
        Api { base: base.to_owned(), token: Some(API_TOKEN.to_owned()), http: reqwest::Client::new() }
    }

    pub fn with_token(mut self, token: Option<&str>) -> Api {
        self.token = token.map(str::to_owned);
        self
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Vec<u8>>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let answer = request.send().await.expect("the server answers");
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await.expect("a body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON body") };
        Answer { status, body }
    }

    pub async fn post(&self, body: Value) -> Answer {
        self.send(reqwest::Method::POST, "/v1/watches", Some(body.to_string().into_bytes())).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// Polls `GET /v1/watches/{id}` until `done` holds for it (at most a minute).
    pub async fn wait_until(&self, job_id: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.wait_within(job_id, Duration::from_secs(60), done).await
    }

    /// Polls `GET /v1/watches/{id}` until `done` holds for it, for at most `bound`.
    pub async fn wait_within(&self, job_id: &str, bound: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let started = std::time::Instant::now();
        while started.elapsed() < bound {
            let answer = self.get(&watch_path(job_id)).await;
            assert_eq!(answer.status, 200, "{answer:?}");
            if done(&answer.body) {
                return answer.body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{job_id}: the condition did not hold within {bound:?}");
    }

    /// `GET path` as text: the status, the content type and the body.
    pub async fn get_text(&self, path: &str) -> (u16, String, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await.expect("the server answers");
        let status = answer.status().as_u16();
        let content_type =
            answer.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        (status, content_type, answer.text().await.expect("a text body"))
    }

    /// Opens `GET /v1/events` + `query`, with `Last-Event-ID` when given.
    pub async fn events(&self, query: &str, last_event_id: Option<&str>) -> EventStream {
        let mut request = self.http.get(format!("{}/v1/events{query}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let answer = request.send().await.expect("the server answers");
        assert_eq!(answer.status().as_u16(), 200, "the stream opens");
        let content_type = answer.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        EventStream { body: Box::pin(answer.bytes_stream()), buffer: Vec::new() }
    }
    /// Polls `GET /v1/watches/{id}` until its status is not `watching` (at most a minute).
    pub async fn wait_final(&self, job_id: &str) -> Value {
        for _ in 0..600 {
            let answer = self.get(&watch_path(job_id)).await;
            assert_eq!(answer.status, 200, "{answer:?}");
            if answer.body["status"] != "watching" {
                return answer.body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{job_id} is still watched after a minute");
    }
}

/// The API path of a watch.
pub fn watch_path(job_id: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(job_id.as_bytes()).collect();
    format!("/v1/watches/{}", encoded.replace('+', "%20"))
}

/// One delivery as a receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    /// Checks the signature with `secret`, as a Rust receiver would.
    pub fn verify(&self, secret: &WebhookSecret) {
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok()).expect(name);
        let headers = WebhookHeaders {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
        };
        secret.verify(&headers, &self.body, jiff::Timestamp::now()).expect("a correctly signed delivery");
    }

    pub fn id(&self) -> String {
        self.headers.get("webhook-id").and_then(|v| v.to_str().ok()).expect("webhook-id").to_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON payload")
    }
}

/// A webhook receiver on 127.0.0.1: answers the scripted statuses in turn, then 200.
#[derive(Debug)]
pub struct Receiver {
    pub url: String,
    deliveries: mpsc::UnboundedReceiver<Received>,
    _server: tokio::task::JoinHandle<()>,
}

type Script = Arc<Mutex<VecDeque<StatusCode>>>;

async fn receive(
    State((script, tx)): State<(Script, mpsc::UnboundedSender<Received>)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let _ = tx.send(Received { headers, body: body.to_vec() });
    script.lock().expect("script").pop_front().unwrap_or(StatusCode::OK)
}

impl Receiver {
    pub async fn start(script: &[u16]) -> Receiver {
        Self::start_on(0, script).await
    }

    /// A receiver on a given port (one a test kept free for it).
    pub async fn start_on(port: u16, script: &[u16]) -> Receiver {
        let script: Script =
            Arc::new(Mutex::new(script.iter().map(|s| StatusCode::from_u16(*s).expect("a status")).collect()));
        let (tx, deliveries) = mpsc::unbounded_channel();
        let app = axum::Router::new().route("/hook", post(receive)).with_state((script, tx));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("a port");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, deliveries, _server: server }
    }

    /// The next delivery (at most a minute away).
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(60), self.deliveries.recv())
            .await
            .expect("a delivery within a minute")
            .expect("the receiver runs")
    }
}

/// One Server-Sent Event as a client reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Value,
}

impl SseEvent {
    /// The event id as a number.
    pub fn id(&self) -> i64 {
        self.id.as_deref().and_then(|id| id.parse().ok()).expect("a numeric id")
    }

    /// The job the event is about.
    pub fn job_id(&self) -> &str {
        self.data["data"]["job_id"].as_str().unwrap_or_default()
    }

    /// The event type.
    pub fn kind(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

type Body = std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>;

/// An open `GET /v1/events` response, read one event at a time (a test client's parsing; the
/// server frames with axum's SSE support).
pub struct EventStream {
    body: Body,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventStream")
    }
}

impl EventStream {
    /// The next event (keep-alive comments skipped), or `None` if none comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8(frame).expect("UTF-8 events");
                let (mut id, mut event, mut data) = (None, None, Vec::new());
                for line in text.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "" => {} // a comment: keep-alive
                        "id" => id = Some(value.to_owned()),
                        "event" => event = Some(value.to_owned()),
                        "data" => data.push(value.to_owned()),
                        other => panic!("unexpected SSE field `{other}` in {text:?}"),
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data.join("\n")).expect("JSON data");
                return Some(SseEvent { id, event, data });
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next()).await.ok()??;
            self.buffer.extend_from_slice(&chunk.expect("the stream reads"));
        }
    }

    /// The next event, which must come within a minute.
    pub async fn next(&mut self) -> SseEvent {
        self.next_within(Duration::from_secs(60)).await.expect("an event within a minute")
    }

    /// Events until (and with) the first one `last` accepts.
    pub async fn until(&mut self, last: impl Fn(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut events = Vec::new();
        loop {
            let event = self.next().await;
            let done = last(&event);
            events.push(event);
            if done {
                return events;
            }
        }
    }
}

/// A server run as a child process: this test binary again, running only `test` (which sees
/// `env` and becomes the server, printing `LISTENING <addr>`). Killed however the test ends.
#[derive(Debug)]
pub struct ChildServer {
    child: std::process::Child,
    /// The address it listens on.
    pub addr: String,
}

impl ChildServer {
    /// Starts the child and waits (at most a minute) for its address.
    pub async fn start(test: &str, env: &[(&str, &str)]) -> ChildServer {
        use std::io::{BufRead, BufReader};
        let mut command = std::process::Command::new(std::env::current_exe().expect("the test binary"));
        command.args([test, "--exact", "--nocapture", "--test-threads=1"]);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the child starts");
        let stdout = child.stdout.take().expect("its stdout");
        let mut server = ChildServer { child, addr: String::new() };
        // libtest prints `test <name> ... ` before the line: look for the word anywhere.
        let reading = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .find_map(|line| line.split_once("LISTENING ").map(|(_, addr)| addr.trim().to_owned()))
        });
        server.addr = tokio::time::timeout(Duration::from_secs(60), reading)
            .await
            .expect("the child starts within a minute")
            .expect("reading the child")
            .expect("the child prints its address");
        server
    }

    /// SIGKILL: no shutdown, no flush; whatever the child had written is all there is.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("the child is gone");
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
