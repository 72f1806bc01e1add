//! Outputs kept before links expire: a `download: true` watch has its files kept in the server's
//! output directory, complete or absent, named as `genjob wait --download` names them, before its
//! webhook (which carries their paths) is sent; a crash between the final state and the files is
//! made up for at the next start; a download that keeps failing ends with its reason.

use crate::common::{Api, Received, Receiver, names_in, outputs_dir, sandbox, server, watch_path, watcher};
use genjob::{JobId, Provider, RetryTransient, WatchTarget};
use genjob_sandbox::JobSpec;
use genjob_server::Server;
use genjob_server::cfg::{ServerConfig, ServerToken};
use genjob_server::db::{DownloadState, NewWatch, Store, WatchState};
use genjob_server::webhook::RetrySchedule;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Checks a delivery's kept files: on disk, complete (non-empty), named from the job id, listed.
fn assert_kept(delivery: &Received, dir: &Path) -> Vec<String> {
    let payload = delivery.json();
    let data = &payload["data"];
    assert_eq!(data["download_error"], Value::Null, "{payload}");
    let files: Vec<String> =
        data["files"].as_array().expect("files").iter().map(|f| f.as_str().expect("a path").to_owned()).collect();
    assert!(!files.is_empty(), "{payload}");
    let id = JobId::parse(data["job_id"].as_str().expect("a job id")).expect("an id");
    let stem = genjob::output_stem(&id);
    for (index, file) in files.iter().enumerate() {
        let path = Path::new(file);
        assert_eq!(path.parent(), Some(dir), "kept in the output directory: {file}");
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
        assert!(name.starts_with(&format!("{stem}-{index}.")), "named as wait --download names it: {name}");
        assert!(std::fs::metadata(path).expect("the file exists").len() > 0, "{file} is empty");
    }
    files
}

fn paths_listed(watch: &Value) -> Vec<String> {
    let outputs = watch["outputs"].as_array().expect("outputs");
    outputs.iter().map(|o| o["path"].as_str().expect("a kept path").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_watch_keeps_its_files_before_its_webhook() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("genjob.db");
    let server = server(&db, &sandbox).await;
    let api = Api::new(&server);
    let mut receiver = Receiver::start(&[]).await;
    let out = outputs_dir(&db);

    // A Dreamina video done about 3 s from now (a CDN link), and a token360 video done long ago
    // (its file served by the API's `/content`).
    let dreamina = sandbox
        .add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(100)).with_age(Duration::from_secs(97)));
    let token360 = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(90)).with_age(Duration::from_secs(600)));
    for (id, provider) in [(&dreamina, "dreamina"), (&token360, "token360")] {
        let body = json!({"job_id": id, "provider": provider, "webhook_url": receiver.url, "download": true});
        let answer = api.post(body).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        assert_eq!(answer.body["download_state"], Value::Null, "nothing to keep before the job ends");
    }

    let mut kept = BTreeMap::new();
    for _ in 0..2 {
        let delivery = receiver.next().await;
        delivery.verify(server.webhook_secret());
        assert_eq!(delivery.json()["type"], "job.completed");
        // The webhook comes after the files: they are already there, complete, when it arrives.
        let files = assert_kept(&delivery, &out);
        kept.insert(delivery.json()["data"]["job_id"].as_str().expect("an id").to_owned(), files);
    }
    for id in [&dreamina, &token360] {
        let watch = api.get(&watch_path(id)).await.body;
        assert_eq!(watch["status"], "completed", "{watch}");
        assert_eq!(watch["download_state"], "kept", "{watch}");
        assert_eq!(paths_listed(&watch), kept[id.as_str()], "{watch}");
    }
    let names = names_in(&out);
    assert!(names.iter().all(|n| !n.ends_with(".part") && !n.starts_with('.')), "nothing half-kept: {names:?}");
    assert_eq!(names.len(), kept.values().map(Vec::len).sum::<usize>(), "{names:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_pending_at_a_crash_are_kept_at_the_next_start() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("genjob.db");
    let mut receiver = Receiver::start(&[]).await;
    let id = sandbox.add_job(JobSpec::token360_video().with_age(Duration::from_secs(600)));
    let target = WatchTarget::resolve(&id, Some(Provider::Token360)).expect("a target");
    let job = watcher(&sandbox).wait(target, Duration::from_secs(30)).await.expect("a completed job").job;

    // A server died right after writing the final state: the files are owed, the webhook waits for them.
    let store = Store::open(&db).await.expect("the store");
    let new = NewWatch {
        job_id: id.clone(),
        provider: Provider::Token360,
        webhook_url: Some(receiver.url.clone()),
        download: true,
        labels: BTreeMap::new(),
    };
    store.insert_watch(new, 1_000).await.expect("an insert");
    let pending = Some(DownloadState::Pending);
    let written = store.record_final(&id, WatchState::Completed, Some(job), None, pending, None, 2_000).await;
    assert!(written.expect("a write"));
    drop(store);

    let server = server(&db, &sandbox).await;
    assert_eq!(server.resumed(), 1, "the files still owed are picked up");
    let delivery = receiver.next().await;
    delivery.verify(server.webhook_secret());
    let files = assert_kept(&delivery, &outputs_dir(&db));
    let watch = Api::new(&server).get(&watch_path(&id)).await.body;
    assert_eq!(watch["download_state"], "kept", "{watch}");
    assert_eq!(paths_listed(&watch), files);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_keeps_failing_ends_with_its_reason() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("genjob.db");
    let mut receiver = Receiver::start(&[]).await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(600)).with_truncated_download());

    // One request per download attempt (the library's own retries aside), three attempts in all.
    let policy = RetryTransient::new().with_file_attempt_limit(Some(1));
    let base = watcher(&sandbox);
    let options = base.options().clone().with_error_policy(Arc::new(policy));
    let mut config = ServerConfig::new(
        ([127, 0, 0, 1], 0).into(),
        db.clone(),
        ServerToken::new(crate::common::API_TOKEN).expect("token"),
    );
    config.output_dir = outputs_dir(&db);
    config.download_retries = RetrySchedule::new(vec![Duration::from_millis(200); 2]);
    let server = Server::start(config, base.with_options(options)).await.expect("the server starts");
    let api = Api::new(&server);
    let body = json!({"job_id": id, "webhook_url": receiver.url, "download": true});
    assert_eq!(api.post(body).await.status, 201);

    let delivery = receiver.next().await;
    delivery.verify(server.webhook_secret());
    let payload = delivery.json();
    assert_eq!(payload["type"], "job.completed", "the job did complete: {payload}");
    assert_eq!(payload["data"]["files"], json!([]), "{payload}");
    let reason = payload["data"]["download_error"].as_str().expect("the reason");
    let watch = api.get(&watch_path(&id)).await.body;
    assert_eq!(watch["download_state"], "failed", "{watch}");
    assert_eq!(watch["download_attempts"], 3, "bounded: the first attempt and two retries: {watch}");
    assert_eq!(watch["download_error"], reason, "{watch}");
    assert!(watch["outputs"].as_array().expect("outputs").iter().all(|o| o["path"].is_null()), "{watch}");
    assert_eq!(names_in(&outputs_dir(&db)), Vec::<String>::new(), "nothing half-kept");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_removes_the_unfinished_downloads_of_a_killed_server_only() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("genjob.db");
    let out = outputs_dir(&db);
    std::fs::create_dir_all(&out).expect("the output directory");
    let hours_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    for (name, modified) in [
        (".genjob-download-left.part", Some(hours_ago)), // a killed server's: removed
        (".genjob-download-busy.part", None),            // a download under way right now: kept
        ("mine.part", Some(hours_ago)),                  // not a download's temporary name: kept
    ] {
        let file = std::fs::File::create(out.join(name)).expect("a file");
        if let Some(at) = modified {
            file.set_modified(at).expect("an old modification time");
        }
    }
    let server = server(&db, &sandbox).await;
    assert_eq!(names_in(&out), [".genjob-download-busy.part", "mine.part"]);
    server.shutdown().await;
}
