//! Three watches added over HTTP end in three correctly signed webhooks; the API reads them back.

use crate::common::{Api, Receiver, sandbox, server, watch_path};
use genjob_sandbox::{Failure, JobSpec};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_watches_end_in_three_signed_webhooks() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server(&dir.path().join("genjob.db"), &sandbox).await;
    let api = Api::new(&server);
    let mut receiver = Receiver::start(&[]).await;

    // Done long ago; failed; running and done about 3 s from now.
    let done = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(90)).with_age(Duration::from_secs(600)));
    let failed = sandbox.add_job(
        JobSpec::token360_video()
            .with_duration(Duration::from_secs(30))
            .with_age(Duration::from_secs(60))
            .failing(Failure::moderation()),
    );
    let running = sandbox
        .add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(100)).with_age(Duration::from_secs(97)));
    let bodies = [
        json!({"job_id": done, "provider": "token360", "webhook_url": receiver.url, "labels": {"batch": "a"}}),
        json!({"job_id": failed, "provider": "token360", "webhook_url": receiver.url, "labels": {"batch": "a"}}),
        json!({"job_id": running, "webhook_url": receiver.url, "download": true, "labels": {"batch": "b"}}),
    ];
    for body in &bodies {
        let answer = api.post(body.clone()).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        assert_eq!(answer.body["job_id"], body["job_id"]);
        assert_eq!(answer.body["status"], "watching");
    }
    // Idempotent on the job id: the same watch again is 200 and the same watch; other settings are a conflict.
    let again = api.post(bodies[0].clone()).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["job_id"], bodies[0]["job_id"]);
    let other = api.post(json!({"job_id": done, "provider": "token360"})).await;
    assert_eq!(other.status, 409, "{other:?}");

    let mut by_job = BTreeMap::new();
    for _ in 0..3 {
        let delivery = receiver.next().await;
        delivery.verify(server.webhook_secret());
        let payload = delivery.json();
        by_job.insert(payload["data"]["job_id"].as_str().expect("a job id").to_owned(), payload);
    }
    assert_eq!(by_job[&done]["type"], "job.completed");
    assert_eq!(by_job[&done]["data"]["job"]["status"], "completed");
    assert_eq!(by_job[&done]["data"]["labels"]["batch"], "a");
    assert_eq!(by_job[&failed]["type"], "job.failed");
    assert_eq!(by_job[&failed]["data"]["job"]["error"]["code"], "2043");
    assert_eq!(by_job[&running]["type"], "job.completed");

    // The store agrees: final states, the job, its outputs as rows.
    let watch = api.wait_final(&running).await;
    assert_eq!(watch["status"], "completed");
    assert_eq!(watch["download"], true);
    assert!(!watch["outputs"].as_array().expect("outputs").is_empty(), "{watch}");
    assert_eq!(watch["outputs"][0]["url"], watch["job"]["outputs"][0]["url"]);
    assert_eq!(api.wait_final(&failed).await["status"], "failed");

    // Lists: by status, by label, and paged with a cursor.
    let completed = api.get("/v1/watches?status=completed").await;
    assert_eq!(completed.body["data"].as_array().map(Vec::len), Some(2), "{completed:?}");
    let batch_a = api.get("/v1/watches?label=batch:a").await;
    assert_eq!(batch_a.body["data"].as_array().map(Vec::len), Some(2), "{batch_a:?}");
    let first = api.get("/v1/watches?limit=2").await;
    assert_eq!(first.body["data"].as_array().map(Vec::len), Some(2), "{first:?}");
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let second = api.get(&format!("/v1/watches?limit=2&cursor={cursor}")).await;
    assert_eq!(second.body["data"].as_array().map(Vec::len), Some(1), "{second:?}");
    assert_eq!(second.body["data"][0]["job_id"], running);
    assert!(second.body["next_cursor"].is_null());

    // DELETE stops watching and forgets the watch.
    let deleted = api.send(reqwest::Method::DELETE, &watch_path(&done), None).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(api.get(&watch_path(&done)).await.status, 404);
    assert_eq!(api.send(reqwest::Method::DELETE, &watch_path(&done), None).await.status, 404);
    server.shutdown().await;
}
