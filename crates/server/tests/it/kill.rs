//! Kill -9 a server mid-run: the next start on the same database loses no watch and no webhook.
//!
//! The killed server is this test binary run again as a child process (the same test, told by its
//! environment to be the server), so a real process dies with its connections, SQLite handle and lock.

use crate::common::{API_TOKEN, Api, ChildServer, PROVIDER_TOKEN, Receiver, sandbox, server};
use genjob::FixedInterval;
use genjob_sandbox::JobSpec;
use genjob_server::Server;
use genjob_server::cfg::{ServerConfig, ServerToken};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const CHILD_DB: &str = "GENJOB_SERVER_TEST_CHILD_DB";
const CHILD_SANDBOX: &str = "GENJOB_SERVER_TEST_CHILD_SANDBOX";

/// The child: a server on the given database and sandbox that prints its address and runs until killed.
async fn child_server(db: String, base: String) {
    let lookup = move |name: &str| match name {
        "USEAPI_BASE_URL" | "TOKEN360_BASE_URL" => Some(base.clone()),
        "USEAPI_TOKEN" | "TOKEN360_API_KEY" => Some(PROVIDER_TOKEN.to_owned()),
        _ => None,
    };
    let watcher = genjob::Watcher::from_lookup(&lookup)
        .expect("sources")
        .with_policy(Arc::new(FixedInterval(Duration::from_secs(1))));
    let config = ServerConfig::new(
        ([127, 0, 0, 1], 0).into(),
        std::path::PathBuf::from(db),
        ServerToken::new(API_TOKEN).expect("token"),
    );
    let server = Server::start(config, watcher).await.expect("the child server starts");
    println!("LISTENING {}", server.addr());
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing() {
    // Run again by itself as the child process: then it is the server that gets killed.
    if let (Ok(db), Ok(base)) = (std::env::var(CHILD_DB), std::env::var(CHILD_SANDBOX)) {
        return child_server(db, base).await;
    }
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("genjob.db");
    let mut receiver = Receiver::start(&[]).await;

    let test = "kill::a_killed_server_loses_nothing";
    let db_text = db.to_string_lossy().into_owned();
    let mut child = ChildServer::start(test, &[(CHILD_DB, &db_text), (CHILD_SANDBOX, &sandbox.base_url())]).await;
    let addr = child.addr.clone();

    // Done long ago, done in ~10 s, and one done long ago without a webhook.
    let jobs = [
        sandbox.add_job(
            JobSpec::token360_video().with_duration(Duration::from_secs(90)).with_age(Duration::from_secs(600)),
        ),
        sandbox.add_job(
            JobSpec::dreamina_video().with_duration(Duration::from_secs(100)).with_age(Duration::from_secs(90)),
        ),
    ];
    let api = Api::at(&format!("http://{addr}"));
    assert_eq!(
        api.post(json!({"job_id": jobs[0], "provider": "token360", "webhook_url": receiver.url})).await.status,
        201
    );
    assert_eq!(api.post(json!({"job_id": jobs[1], "webhook_url": receiver.url})).await.status, 201);
    child.kill();

    let restarted = server(&db, &sandbox).await;
    let api = Api::new(&restarted);
    let mut delivered = BTreeSet::new();
    while delivered.len() < jobs.len() {
        let delivery = receiver.next().await;
        delivery.verify(restarted.webhook_secret());
        delivered.insert(delivery.json()["data"]["job_id"].as_str().expect("a job id").to_owned());
    }
    assert_eq!(delivered, jobs.iter().cloned().collect());
    for job in &jobs {
        assert_eq!(api.wait_final(job).await["status"], "completed");
    }
    restarted.shutdown().await;
}
