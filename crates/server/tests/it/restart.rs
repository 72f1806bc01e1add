//! The store is the truth: a restarted server has every watch and watches the unfinished ones again.

use crate::common::{Api, Receiver, sandbox, server, watch_path};
use genjob_sandbox::JobSpec;
use genjob_server::cfg::{ServerConfig, ServerToken};
use genjob_server::db::DbError;
use genjob_server::{Server, ServerError};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_keeps_its_watches_and_picks_them_up() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("genjob.db");
    let mut receiver = Receiver::start(&[]).await;
    // Done about 12 s from now (after the restart, with room for a slow machine), and one that never finishes.
    let soon = sandbox
        .add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(100)).with_age(Duration::from_secs(88)));
    let stuck = sandbox.add_job(JobSpec::token360_video().stuck());

    let first = server(&db, &sandbox).await;
    let secret = first.webhook_secret().clone();
    let api = Api::new(&first);
    for body in [json!({"job_id": soon, "webhook_url": receiver.url}), json!({"job_id": stuck, "provider": "token360"})]
    {
        assert_eq!(api.post(body).await.status, 201);
    }
    // SQLite: one process per database file.
    let config = ServerConfig::new(
        ([127, 0, 0, 1], 0).into(),
        db.clone(),
        ServerToken::new("another-token-0123456789").expect("token"),
    );
    let second = Server::start(config, crate::common::watcher(&sandbox)).await;
    assert!(matches!(second, Err(ServerError::Db(DbError::InUse { .. }))), "{second:?}");
    first.shutdown().await;

    let restarted = server(&db, &sandbox).await;
    assert_eq!(restarted.resumed(), 2);
    // The secret is kept in the database: receivers need not be told a new one.
    assert_eq!(restarted.webhook_secret(), &secret);
    let api = Api::new(&restarted);
    let stuck_watch = api.get(&watch_path(&stuck)).await;
    assert_eq!(stuck_watch.status, 200);
    assert_eq!(stuck_watch.body["status"], "watching");
    assert_eq!(stuck_watch.body["provider"], "token360");

    let delivery = receiver.next().await;
    delivery.verify(&secret);
    assert_eq!(delivery.json()["data"]["job_id"], soon);
    assert_eq!(api.wait_final(&soon).await["status"], "completed");
    let listed = api.get("/v1/watches").await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(2), "{listed:?}");
    restarted.shutdown().await;
}
