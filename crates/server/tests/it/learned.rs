//! Learned job durations kept in the store: a restarted server starts with what it learned, and a
//! replica uses what another one learned (through the store, not by reading the job itself).

use crate::backends::{TestDb, all};
use crate::common::{API_TOKEN, Api, sandbox, watcher};
use genjob_sandbox::{JobSpec, Sandbox};
use genjob_server::cfg::{DbUrl, ServerConfig, ServerToken};
use genjob_server::db::Store;
use genjob_server::{RunningServer, Server};
use serde_json::json;
use std::time::{Duration, Instant};

/// A server over `db` that merges what it learned into the store every 200 ms.
async fn server(db: &DbUrl, sandbox: &Sandbox, outputs: &std::path::Path) -> RunningServer {
    let token = ServerToken::new(API_TOKEN).expect("token");
    let mut config = ServerConfig::new(([127, 0, 0, 1], 0).into(), db.clone(), token);
    config.output_dir = outputs.to_owned();
    config.learn_every = Duration::from_millis(200);
    Server::start(config, watcher(sandbox)).await.expect("the server starts")
}

/// The value of the metric line starting with `series` (e.g. `name{label="value"}`).
async fn metric(api: &Api, series: &str) -> f64 {
    let (status, _, text) = api.get_text("/metrics").await;
    assert_eq!(status, 200);
    let line = text.lines().find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '));
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or_else(|| panic!("no {series} in {text}"))
}

const TOKEN360_KEYS: &str = r#"genjob_learned_duration_keys{provider="token360"}"#;
const TOKEN360_READS: &str = r#"genjob_requests_total{provider="token360",kind="record"}"#;

/// Finishes one token360 job through `api`'s server.
async fn finish_one(api: &Api, sandbox: &Sandbox) {
    let done = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(30)).with_age(Duration::from_secs(600)));
    assert_eq!(api.post(json!({"job_id": done, "provider": "token360"})).await.status, 201);
    assert_eq!(api.wait_final(&done).await["status"], "completed");
}

/// Every key the store holds has at most one finished sample: one job finished, however many merges.
async fn counted_once(db: &DbUrl) {
    let learned = Store::open(db).await.expect("the store").learned().await.expect("a read");
    assert!(!learned.is_empty(), "the store holds what was learned");
    for key in learned.keys() {
        assert_eq!(learned.samples(key).0, 1, "{key:?}: one finished job, counted once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_server_learned_is_used_by_the_next_one_and_by_another_replica() {
    let sandbox = sandbox().await;
    for db in all("learned::what_one_server_learned_is_used_by_the_next_one_and_by_another_replica").await {
        let outputs = tempfile::tempdir().expect("a temp dir");
        match &db.url {
            DbUrl::Postgres(_) => replicas(&db, &sandbox, outputs.path()).await,
            _ => restart(&db, &sandbox, outputs.path()).await,
        }
    }
}

/// SQLite: learned by one run, kept at its shutdown, used by the next from its start.
async fn restart(db: &TestDb, sandbox: &Sandbox, outputs: &std::path::Path) {
    let first = server(&db.url, sandbox, outputs).await;
    let api = Api::new(&first);
    assert_eq!(metric(&api, TOKEN360_KEYS).await, 0.0);
    finish_one(&api, sandbox).await;
    let learned = metric(&api, TOKEN360_KEYS).await;
    assert!(learned >= 1.0, "the finished job taught the server");
    first.shutdown().await;
    counted_once(&db.url).await;

    let second = server(&db.url, sandbox, outputs).await;
    let api = Api::new(&second);
    assert_eq!(metric(&api, TOKEN360_READS).await, 0.0, "the restarted server has read nothing");
    assert_eq!(metric(&api, TOKEN360_KEYS).await, learned, "and knows what the first one learned");
    second.shutdown().await;
}

/// PostgreSQL: two replicas at once; the one that never read the job learns it through the store.
async fn replicas(db: &TestDb, sandbox: &Sandbox, outputs: &std::path::Path) {
    let a = server(&db.url, sandbox, outputs).await;
    let b = server(&db.url, sandbox, outputs).await;
    let (api_a, api_b) = (Api::new(&a), Api::new(&b));
    finish_one(&api_a, sandbox).await;
    let started = Instant::now();
    while metric(&api_b, TOKEN360_KEYS).await < 1.0 {
        assert!(started.elapsed() < Duration::from_secs(30), "replica B did not learn from replica A");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // B never read the job: what it knows came through the store.
    assert_eq!(metric(&api_b, TOKEN360_READS).await, 0.0);
    // Both have merged back and forth several times meanwhile: the job still counts once.
    tokio::time::sleep(Duration::from_millis(600)).await;
    counted_once(&db.url).await;
    assert_eq!(metric(&api_a, TOKEN360_KEYS).await, metric(&api_b, TOKEN360_KEYS).await);
    a.shutdown().await;
    b.shutdown().await;
}
