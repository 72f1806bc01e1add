//! `genjob serve` end to end: the built binary against the sandbox on 127.0.0.1.
//!
//! Three watches added over HTTP (one per provider, outputs kept) end in three correctly signed
//! webhooks carrying the kept files, which are on disk and complete; a restarted server (SIGTERM,
//! then started again on the same database) still has every watch; a forged provider callback
//! does not finish a job still running. Two replicas over one PostgreSQL schema (when
//! `GENJOB_TEST_POSTGRES_URL` names a server) lose nothing when one is killed mid-run.

use crate::common::{TOKEN, env_for, sandbox};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use genjob::models::webhook::{WebhookHeaders, WebhookSecret};
use genjob_sandbox::JobSpec;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// The server's API token.
const API_TOKEN: &str = "serve-test-api-token-0123456789";

/// Done long before the watch starts.
const DONE: Duration = Duration::from_secs(600);

/// A `genjob serve` process, killed if a test ends without stopping it.
struct Serve {
    child: Child,
    base: String,
    /// The line it printed once listening.
    banner: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// Starts `genjob serve` on a free port over `dir`'s database and outputs; reads the address it prints.
    async fn start(dir: &Path, env: &[(String, String)]) -> Serve {
        let db = format!("sqlite://{}", dir.join("genjob.db").display());
        Serve::start_with(dir, &db, &[], "serve.stderr", env).await
    }

    /// Starts `genjob serve --db DB ARGS…` on a free port with `dir`'s outputs, its stderr in `dir/log`.
    async fn start_with(dir: &Path, db: &str, args: &[&str], log: &str, env: &[(String, String)]) -> Serve {
        let outputs = dir.join("outputs");
        let stderr = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(log)).expect("a log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_genjob"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
            .args(args)
            .arg("--outputs")
            .arg(&outputs)
            .env_clear()
            .envs(env.iter().cloned())
            .env("GENJOB_SERVER_TOKEN", API_TOKEN)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("genjob serve starts");
        let stdout = child.stdout.take().expect("its stdout");
        let mut serve = Serve { child, base: String::new(), banner: String::new() };
        // The one line it prints once it listens: `genjob serve listening on http://ADDR (…)`.
        let reading = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let found = lines.by_ref().map_while(Result::ok).find_map(|line| {
                let rest = line.split("listening on ").nth(1)?;
                Some((rest.split_whitespace().next()?.to_owned(), line.clone()))
            });
            // Keep reading to the end, so the server never writes into a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            found
        });
        let base = tokio::time::timeout(Duration::from_secs(30), reading).await;
        let base = base.ok().and_then(Result::ok).flatten();
        let Some((base, banner)) = base else {
            let log = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
            panic!("genjob serve printed no address; its stderr:\n{log}");
        };
        serve.base = base;
        serve.banner = banner;
        serve
    }

    /// Sends SIGTERM and waits (at most 30 s) for a clean exit.
    async fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success(), "SIGTERM was sent");
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("a status") {
                assert!(status.success(), "genjob serve exits 0 on SIGTERM: {status:?}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("genjob serve did not stop within 30 s of SIGTERM");
    }

    async fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new().request(method, format!("{}{path}", self.base)).bearer_auth(API_TOKEN);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let answer = request.send().await.expect("the server answers");
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await.expect("a body");
        (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON") })
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.request(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Polls a watch until `done` holds (at most a minute).
    async fn wait_until(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..600 {
            let watch = self.get(&watch_path(id)).await;
            if done(&watch) {
                return watch;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{id}: the condition did not hold within a minute");
    }
}

/// One delivery as the receiver saw it, and what it answered.
struct Delivery {
    headers: HeaderMap,
    body: Vec<u8>,
    answered: u16,
}

impl Delivery {
    /// Verifies the signature as a Rust receiver does, then reads the payload.
    fn verified(&self, secret: &WebhookSecret) -> Value {
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok()).expect(name);
        let headers = WebhookHeaders {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
        };
        secret.verify(&headers, &self.body, jiff::Timestamp::now()).expect("a correctly signed delivery");
        serde_json::from_slice(&self.body).expect("a JSON payload")
    }
}

type ReceiverState = (mpsc::UnboundedSender<Delivery>, Arc<AtomicUsize>);

async fn receive(State((tx, fail)): State<ReceiverState>, headers: HeaderMap, body: axum::body::Bytes) -> StatusCode {
    // The first `fail` deliveries are answered 500, as a receiver that is having trouble.
    let failing = fail.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let answer = if failing { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    let _ = tx.send(Delivery { headers, body: body.to_vec(), answered: answer.as_u16() });
    answer
}

/// A webhook receiver on 127.0.0.1: its URL, the deliveries, and its task (aborted at the end).
async fn receiver() -> (String, mpsc::UnboundedReceiver<Delivery>, tokio::task::JoinHandle<()>) {
    receiver_failing(0).await
}

/// A receiver that answers its first `fail` deliveries with 500.
async fn receiver_failing(fail: usize) -> (String, mpsc::UnboundedReceiver<Delivery>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route("/hook", post(receive)).with_state((tx, Arc::new(AtomicUsize::new(fail))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, rx, task)
}

/// The API path of a watch (Dreamina ids hold `:` and `@`).
fn watch_path(id: &str) -> String {
    format!("/v1/watches/{}", percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC))
}

fn updated_at(watch: &Value) -> jiff::Timestamp {
    watch["updated_at"].as_str().and_then(|t| t.parse().ok()).expect("an updated_at")
}

fn kept_paths(watch: &Value) -> Vec<String> {
    let outputs = watch["outputs"].as_array().expect("outputs");
    outputs.iter().filter_map(|o| o["path"].as_str().map(str::to_owned)).collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_outputs_signs_webhooks_survives_a_restart_and_ignores_forged_callbacks() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let dir = tempfile::tempdir().expect("a temp dir");
    // The receiver answers the first delivery 500: the server tries it again, with the same id.
    let (url, mut deliveries, receiver_task) = receiver_failing(1).await;
    let jobs = [
        (sandbox.add_job(JobSpec::dreamina_video().with_age(DONE)), "dreamina"),
        (sandbox.add_job(JobSpec::google_flow_video().with_age(DONE)), "google-flow"),
        (sandbox.add_job(JobSpec::token360_video().with_age(DONE)), "token360"),
    ];
    // A job that keeps running (old enough to be read at once): only a forged callback says it
    // completed. Its reads answer 2 s late, so the test can tell a read's answer from its start.
    let running =
        sandbox.add_job(JobSpec::google_flow_video().with_age(DONE).stuck().with_slow(Duration::from_secs(2)));

    let serve = Serve::start(dir.path(), &env).await;
    let secret = serve.get("/v1/webhook-secret").await["secret"].as_str().expect("a secret").to_owned();
    let secret = WebhookSecret::parse(&secret).expect("a webhook secret");
    for (id, provider) in &jobs {
        let body = json!({"job_id": id, "provider": provider, "webhook_url": url, "download": true});
        let (status, watch) = serve.request(reqwest::Method::POST, "/v1/watches", Some(body)).await;
        assert_eq!(status, 201, "{watch}");
    }
    let (status, watch) = serve.request(reqwest::Method::POST, "/v1/watches", Some(json!({"job_id": running}))).await;
    assert_eq!(status, 201, "{watch}");

    // Bad input gets a 4xx with a JSON error naming what was wrong, never a 5xx.
    let bad = [
        (json!({"job_id": 5}), 400, Some("job_id")),
        (json!({"job_id": jobs[0].0, "download": "yes"}), 400, Some("download")),
        (json!({"job_id": "../../etc/passwd"}), 400, Some("job_id")),
        (json!({"job_id": jobs[0].0, "labels": {"k": 1}}), 400, Some("labels.k")),
    ];
    for (body, want, field) in bad {
        let (status, answer) = serve.request(reqwest::Method::POST, "/v1/watches", Some(body.clone())).await;
        assert_eq!(status, want, "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        }
    }
    let huge = json!({"job_id": jobs[0].0, "labels": {"k": "x".repeat(200_000)}});
    let (status, answer) = serve.request(reqwest::Method::POST, "/v1/watches", Some(huge)).await;
    assert_eq!(status, 413, "{answer}");
    let anonymous = reqwest::get(format!("{}/v1/watches", serve.base)).await.expect("an answer");
    assert_eq!(anonymous.status().as_u16(), 401);
    let answer: Value = serde_json::from_slice(&anonymous.bytes().await.expect("a body")).expect("a JSON error");
    assert!(answer["error"]["message"].is_string(), "{answer}");

    // Three signed webhooks, each after its files were kept; the one refused with 500 comes again.
    let mut files = BTreeMap::new();
    let mut refused = Vec::new();
    while files.len() < 3 {
        let delivery = tokio::time::timeout(Duration::from_secs(60), deliveries.recv())
            .await
            .expect("a webhook within a minute")
            .expect("the receiver runs");
        let webhook_id = delivery.headers.get("webhook-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        if delivery.answered != 200 {
            refused.push(webhook_id.expect("a webhook-id"));
            continue;
        }
        refused.retain(|id| Some(id) != webhook_id.as_ref());
        let payload = delivery.verified(&secret);
        assert_eq!(payload["type"], "job.completed", "{payload}");
        assert_eq!(payload["data"]["download_error"], Value::Null, "{payload}");
        let id = payload["data"]["job_id"].as_str().expect("a job id").to_owned();
        let paths: Vec<String> = payload["data"]["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|p| p.as_str().expect("a path").to_owned())
            .collect();
        assert!(!paths.is_empty(), "{payload}");
        for path in &paths {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            assert!(size > 0, "{path} is on disk and not empty");
        }
        files.insert(id, paths);
    }
    assert!(refused.is_empty(), "the delivery answered 500 arrived again, with its id: {refused:?}");
    assert_eq!(files.keys().collect::<Vec<_>>().len(), 3, "one webhook per job: {files:?}");
    for (id, _) in &jobs {
        let watch = serve.get(&watch_path(id)).await;
        assert_eq!(watch["status"], "completed", "{watch}");
        assert_eq!(watch["download_state"], "kept", "{watch}");
        assert_eq!(kept_paths(&watch), files[id.as_str()], "the watch lists its kept files: {watch}");
    }
    let names = names_in(&dir.path().join("outputs"));
    assert_eq!(names.len(), files.values().map(Vec::len).sum::<usize>(), "{names:?}");
    assert!(names.iter().all(|n| !n.ends_with(".part") && !n.starts_with('.')), "nothing half-kept: {names:?}");

    // Restarted on the same database: every watch is still there, the running one still watched.
    let callback = serve.get("/v1/callback-secret").await["path"].as_str().expect("a path").to_owned();
    serve.stop().await;
    let serve = Serve::start(dir.path(), &env).await;
    assert!(serve.banner.contains("(1 unfinished watches picked up)"), "{}", serve.banner);
    let listed = serve.get("/v1/watches").await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(4), "{listed}");
    for (id, _) in &jobs {
        let watch = serve.get(&watch_path(id)).await;
        assert_eq!(watch["status"], "completed", "{watch}");
        assert_eq!(kept_paths(&watch), files[id.as_str()], "{watch}");
    }
    assert_eq!(serve.get(&watch_path(&running)).await["status"], "watching");

    // A forged callback claiming `completed` (the callback path survived the restart too): it
    // wakes the watch, the job's record is read and says running, so the watch goes on.
    let reads = sandbox.stats().google_flow;
    sandbox
        .send_forged_callback_to(&running, "completed", &format!("{}{callback}", serve.base))
        .await
        .expect("the server accepts the callback (202)");
    let mut asked = None;
    for _ in 0..3000 {
        if sandbox.stats().google_flow > reads {
            asked = Some(jiff::Timestamp::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = asked.expect("the callback made the server read the job's record within a minute");
    // That read's answer comes 2 s after it was asked for; what the server wrote after it is its verdict.
    let answered = asked.checked_add(jiff::SignedDuration::from_secs(1)).expect("a time");
    let after = serve.wait_until(&running, |w| w["status"] != "watching" || updated_at(w) > answered).await;
    assert_eq!(after["status"], "watching", "only the job's own record finishes it: {after}");
    assert_ne!(after["job_status"], "completed", "{after}");

    serve.stop().await;
    receiver_task.abort();
}

/// The variable naming the PostgreSQL server the tests may use (a role that may create schemas).
const POSTGRES_URL: &str = "GENJOB_TEST_POSTGRES_URL";

/// Adds one video a job of Dreamina, Google Flow and token360 in turn (created 90 s ago, done after
/// each of `durations`) to `sandbox`, watched through `serve` with webhooks to `url`: their ids.
async fn watch_videos_of_three(
    sandbox: &genjob_sandbox::Sandbox,
    serve: &Serve,
    url: &str,
    durations: impl IntoIterator<Item = Duration>,
) -> Vec<String> {
    let mut jobs = Vec::new();
    for (i, duration) in durations.into_iter().enumerate() {
        let spec = match i % 3 {
            0 => JobSpec::dreamina_video(),
            1 => JobSpec::google_flow_video(),
            _ => JobSpec::token360_video(),
        };
        let id = sandbox.add_job(spec.with_duration(duration).with_age(Duration::from_secs(90)));
        let mut body = json!({"job_id": id, "webhook_url": url});
        if i % 3 == 2 {
            body["provider"] = json!("token360");
        }
        let (status, watch) = serve.request(reqwest::Method::POST, "/v1/watches", Some(body)).await;
        assert_eq!(status, 201, "{watch}");
        jobs.push(id);
    }
    jobs
}

/// Receives signed `job.completed` webhooks until `jobs` distinct jobs have one (two minutes at
/// most between two): how many each job got.
async fn completed_webhooks(
    deliveries: &mut mpsc::UnboundedReceiver<Delivery>,
    secret: &WebhookSecret,
    jobs: usize,
) -> BTreeMap<String, usize> {
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    while delivered.len() < jobs {
        let delivery = tokio::time::timeout(Duration::from_secs(120), deliveries.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {jobs} webhooks within two minutes", delivered.len()))
            .expect("the receiver runs");
        let payload = delivery.verified(secret);
        assert_eq!(payload["type"], "job.completed", "{payload}");
        *delivered.entry(payload["data"]["job_id"].as_str().expect("a job id").to_owned()).or_default() += 1;
    }
    delivered
}

/// A fresh schema of the test PostgreSQL server; the URL whose connections work in it only.
async fn postgres_schema(base: &str) -> String {
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL} is set but PostgreSQL does not answer: {e}"));
    let connection = tokio::spawn(connection);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let schema = format!("cli_fleet_{}_{nanos:x}", std::process::id());
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("a schema of its own");
    drop(client);
    let _ = connection.await;
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-csearch_path%3D{schema}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_fleet_of_two_binaries_loses_no_watch_and_no_webhook_when_one_is_killed() {
    let Ok(base) = std::env::var(POSTGRES_URL) else {
        eprintln!("serve postgres fleet test skipped: {POSTGRES_URL} is not set (.ci/run starts a server and sets it)");
        return;
    };
    const JOBS: usize = 30;
    let db = postgres_schema(&base).await;
    // Real time: the server's clock must not fall behind the ids' creation times.
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let dir = tempfile::tempdir().expect("a temp dir");
    let (url, mut deliveries, receiver_task) = receiver().await;
    // A short lease: the survivor takes the killed replica's watches over within 3 s.
    let args = ["--lease", "3s"];
    let a = Serve::start_with(dir.path(), &db, &args, "a.stderr", &env).await;
    let b = Serve::start_with(dir.path(), &db, &args, "b.stderr", &env).await;
    // Both sign with the one secret the first start kept in the store.
    let secret = a.get("/v1/webhook-secret").await["secret"].as_str().expect("a secret").to_owned();
    assert_eq!(b.get("/v1/webhook-secret").await["secret"], secret.as_str());
    let secret = WebhookSecret::parse(&secret).expect("a webhook secret");

    // Videos of three providers inside their documented window, done 5 to 24 s from now; all
    // added through replica A.
    let durations = (0..JOBS).map(|i| Duration::from_secs(95 + (i as u64 * 7) % 20));
    let jobs = watch_videos_of_three(&sandbox, &a, &url, durations).await;

    // Kill B (SIGKILL) mid-run: once some jobs completed while both replicas hold running ones.
    let (client, connection) = tokio_postgres::connect(&db, tokio_postgres::NoTls).await.expect("PostgreSQL");
    let connection = tokio::spawn(connection);
    let started = std::time::Instant::now();
    loop {
        let row = client
            .query_one(
                "SELECT (SELECT count(DISTINCT leased_by) FROM watches WHERE state = 'watching'),
                        (SELECT count(*) FROM watches WHERE state = 'completed')",
                &[],
            )
            .await
            .expect("the leases");
        let (holders, completed): (i64, i64) = (row.get(0), row.get(1));
        if holders == 2 && completed >= 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no mid-run moment: {holders} holders, {completed} done");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(b); // kills it with SIGKILL and reaps it
    drop(client);
    let _ = connection.await;

    // Every job ends completed, and every final state reaches the receiver, signed, at least once
    // (a delivery the killed replica had taken is due again after its one-minute claim).
    let delivered = completed_webhooks(&mut deliveries, &secret, JOBS).await;
    let expected: std::collections::BTreeSet<&String> = jobs.iter().collect();
    assert_eq!(delivered.keys().collect::<std::collections::BTreeSet<_>>(), expected);
    for id in &jobs {
        assert_eq!(a.get(&watch_path(id)).await["status"], "completed", "{id}");
    }
    let duplicates: usize = delivered.values().map(|n| n - 1).sum();
    eprintln!("serve postgres fleet: {JOBS} jobs, every one delivered ({duplicates} duplicates)");
    a.stop().await;
    receiver_task.abort();
}

/// The built binary with its shipped defaults (30 s lease, the adaptive schedule) on PostgreSQL
/// reached through a relay the test cuts for 8 s while jobs finish: the API answers 503 while the
/// store is away, never a 500, and once it is back every job ends and every webhook arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_its_defaults_loses_nothing_when_postgres_goes_away_mid_run() {
    let Ok(base) = std::env::var(POSTGRES_URL) else {
        eprintln!(
            "serve postgres outage test skipped: {POSTGRES_URL} is not set (.ci/run starts a server and sets it)"
        );
        return;
    };
    const JOBS: usize = 12;
    let db = postgres_schema(&base).await;
    let (relay, relayed) = genjob_testkit::relay::Relay::in_front_of(&db).await.expect("a relay");
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let dir = tempfile::tempdir().expect("a temp dir");
    let (url, mut deliveries, receiver_task) = receiver().await;
    let serve = Serve::start_with(dir.path(), &relayed, &[], "serve.stderr", &env).await;
    let secret = serve.get("/v1/webhook-secret").await["secret"].as_str().expect("a secret").to_owned();
    let secret = WebhookSecret::parse(&secret).expect("a webhook secret");

    // Videos of three providers inside their documented window, done 4 to 15 s from now.
    let durations = (0..JOBS).map(|i| Duration::from_secs(94 + (i as u64 * 5) % 12));
    let jobs = watch_videos_of_three(&sandbox, &serve, &url, durations).await;

    tokio::time::sleep(Duration::from_secs(2)).await;
    relay.cut();
    let cut_at = std::time::Instant::now();
    while cut_at.elapsed() < Duration::from_secs(8) {
        for path in ["/healthz".to_owned(), watch_path(&jobs[0])] {
            let (status, body) = serve.request(reqwest::Method::GET, &path, None).await;
            assert!(
                status == 503 && body["error"]["code"] == "store_unavailable",
                "{path} while the store is away: {status} {body}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    relay.restore();

    let delivered = completed_webhooks(&mut deliveries, &secret, JOBS).await;
    assert_eq!(delivered.into_keys().collect::<std::collections::BTreeSet<_>>(), jobs.iter().cloned().collect());
    assert_eq!(serve.get("/healthz").await["status"], "ok");
    serve.stop().await;
    receiver_task.abort();
}
