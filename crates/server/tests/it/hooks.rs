//! The provider callback receiver, `POST /hooks/{secret}/…`: a callback wakes its job's watch (its
//! record is read at once) and never finishes it; a wrong secret, a body that is no job record and
//! an oversized body are refused with JSON errors; a job no watch exists for is not revealed.

use crate::common::{Api, sandbox, server_watching, watch_path, watcher};
use genjob::{FixedInterval, RetryTransient};
use genjob_sandbox::JobSpec;
use genjob_server::webhook::RetrySchedule;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_wakes_its_job_and_only_the_record_finishes_it() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    // Reads a minute apart: a read soon after the callback is the callback's doing.
    let slow = watcher(&sandbox).with_policy(Arc::new(FixedInterval(Duration::from_secs(60))));
    let server = server_watching(&dir.path().join("genjob.db"), slow, RetrySchedule::default()).await;
    let api = Api::new(&server);
    let base = format!("http://{}", server.addr());

    // The secret is the API's to tell, behind the token, and the server's own.
    assert_eq!(api.clone().with_token(None).get("/v1/callback-secret").await.status, 401);
    let told = api.get("/v1/callback-secret").await;
    assert_eq!(told.status, 200, "{told:?}");
    let secret = told.body["secret"].as_str().expect("a secret").to_owned();
    assert_eq!(secret, server.callback_secret().expose());
    assert_eq!(told.body["path"], format!("/hooks/{secret}"));
    assert!(!format!("{:?}", server.callback_secret()).contains(&secret), "Debug hides the secret");

    let running = sandbox.add_job(JobSpec::google_flow_video().with_age(Duration::from_secs(100)).stuck());
    assert_eq!(api.post(json!({"job_id": running})).await.status, 201);
    // Its first read (the job is old enough to be read at once), then a minute of quiet.
    api.wait_until(&running, |w| w["polls"].as_u64() >= Some(1)).await;
    let before = sandbox.stats().google_flow;

    let hook = format!("{base}/hooks/{secret}");
    sandbox.send_forged_callback_to(&running, "completed", &hook).await.expect("a forged callback is accepted");
    let mut woken = false;
    for _ in 0..100 {
        if sandbox.stats().google_flow > before {
            woken = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(woken, "the callback made the watch read the job's record");
    let watch = api.wait_until(&running, |w| w["polls"].as_u64() >= Some(2)).await;
    assert_eq!(watch["status"], "watching", "the record says running: {watch}");
    assert_ne!(watch["job_status"], "completed", "{watch}");

    // A path under the secret is fine too (`/hooks/{secret}/google-flow`), and a job no watch
    // exists for gets the same answer as a watched one.
    let unknown = sandbox.add_job(JobSpec::google_flow_video().stuck());
    let under = format!("{hook}/google-flow");
    sandbox.send_forged_callback_to(&unknown, "completed", &under).await.expect("202 for an unknown job too");
    assert_eq!(api.get(&watch_path(&unknown)).await.status, 404, "a callback adds no watch");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_callbacks_get_json_errors() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server_watching(&dir.path().join("genjob.db"), watcher(&sandbox), RetrySchedule::default()).await;
    let secret = server.callback_secret().expose().to_owned();
    let base = format!("http://{}", server.addr());
    let http = reqwest::Client::new();
    let post = |path: String, body: Vec<u8>| {
        let request = http.post(format!("{base}{path}")).header("content-type", "application/json").body(body);
        async move {
            let answer = request.send().await.expect("an answer");
            let status = answer.status().as_u16();
            let bytes = answer.bytes().await.expect("a body");
            let body: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON error");
            (status, body)
        }
    };

    let (status, body) = post("/hooks/not-the-secret-0123456789".into(), b"{}".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    let (status, body) = post("/hooks".into(), b"{}".to_vec()).await;
    assert_eq!(status, 404, "{body}");

    let (status, body) = post(format!("/hooks/{secret}"), br#"{"hello": "world"}"#.to_vec()).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("body")), "{body}");
    let (status, body) = post(format!("/hooks/{secret}"), b"not json".to_vec()).await;
    assert_eq!(status, 400, "{body}");

    let huge =
        format!(r#"{{"id": "video_1", "object": "video", "status": "completed", "pad": "{}"}}"#, "x".repeat(300_000));
    let (status, body) = post(format!("/hooks/{secret}"), huge.into_bytes()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("bad_body")), "{body}");
    // A record larger than the API's 64 KiB body limit is still a callback (the limit is 256 KiB).
    let large =
        format!(r#"{{"id": "video_1", "object": "video", "status": "completed", "pad": "{}"}}"#, "x".repeat(100_000));
    let (status, body) = post(format!("/hooks/{secret}"), large.into_bytes()).await;
    assert_eq!(status, 202, "{body}");
    // No API token is asked for: providers cannot send one.
    let record = br#"{"id": "video_1", "object": "video", "status": "completed"}"#.to_vec();
    let (status, body) = post(format!("/hooks/{secret}"), record).await;
    assert_eq!(status, 202, "{body}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_restarts_a_watch_waiting_out_trouble() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    // One attempt per read: the first (a 503) ends the watch for a minute (the worker's retry later).
    let base = watcher(&sandbox);
    let options = base.options().clone().with_error_policy(Arc::new(RetryTransient::new().with_attempt_limit(Some(1))));
    let server =
        server_watching(&dir.path().join("genjob.db"), base.with_options(options), RetrySchedule::default()).await;
    let api = Api::new(&server);
    let done = sandbox.add_job(JobSpec::token360_video().with_age(Duration::from_secs(600)).with_server_errors(1));
    assert_eq!(api.post(json!({"job_id": done, "provider": "token360"})).await.status, 201);
    let troubled = api.wait_until(&done, |w| !w["error"].is_null()).await;
    assert_eq!(troubled["status"], "watching", "{troubled}");

    // The callback starts the watch again now rather than after the minute: the record decides.
    // (Well within that minute, or the callback did nothing the retry would not have done.)
    let hook = format!("http://{}/hooks/{}", server.addr(), server.callback_secret().expose());
    sandbox.send_forged_callback_to(&done, "completed", &hook).await.expect("accepted");
    let watch = api.wait_within(&done, Duration::from_secs(30), |w| w["status"] != "watching").await;
    assert_eq!(watch["status"], "completed", "{watch}");
    server.shutdown().await;
}
