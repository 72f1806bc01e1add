//! The same bytes get the same verdict from `status` (read from a server) and `normalize` (read from a
//! file), and a terminal status ends a wait at once.

use crate::common::{TOKEN, env_for, genjob};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Serves `body` as the record of every `/v1/videos/{id}` read.
async fn serving(id: &str, body: &'static str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/videos/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    server
}

/// `genjob normalize` of `body`, as a file.
async fn normalized(body: &str) -> crate::common::Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("record.json");
    std::fs::write(&file, body).expect("the record is written");
    genjob(&["normalize", &file.to_string_lossy()], &[], None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_given_twice_gets_one_verdict_from_status_and_normalize() {
    // The same record twice over for `status`: once as bytes from a server, once as a file.
    const BODY: &str = r#"{"id": "video_dup", "object": "video", "status": "in_progress", "progress": 50,
        "status": "completed", "url": "https://cdn.example/v/dup.mp4", "created_at": 1767225600}"#;
    let server = serving("video_dup", BODY).await;
    let env = env_for(&server.uri(), TOKEN);
    let status = genjob(&["status", "video_dup", "--provider", "token360", "--json"], &env, None).await;
    assert_eq!(status.code, 0, "{status:?}");
    let from_server = status.json_lines().remove(0);

    let normalize = normalized(BODY).await;
    assert_eq!(normalize.code, 0, "{normalize:?}");
    let from_file = normalize.json_lines().remove(0);
    assert_eq!(from_server, from_file, "one verdict for the same bytes");
    assert_eq!(from_file["status"], "completed", "the last `status` wins");

    let raw = genjob(&["status", "video_dup", "--provider", "token360", "--raw"], &env, None).await;
    let raw: Value = serde_json::from_str(raw.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {raw:?}"));
    assert_eq!(raw["status"], "completed", "--raw shows the record as read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_ends_the_wait_as_a_failure_at_once() {
    const BODY: &str = r#"{"id": "video_c", "object": "video", "status": "cancelled", "model": "sora-2",
        "created_at": 1767225600, "seconds": "8", "size": "1280x720"}"#;
    let server = serving("video_c", BODY).await;
    let env = env_for(&server.uri(), TOKEN);
    let wait = genjob(&["wait", "video_c", "--provider", "token360", "--timeout", "60s", "--json"], &env, None).await;
    assert_eq!(wait.code, 1, "a failed job: {wait:?}");
    let line = wait.json_lines().remove(0);
    assert_eq!((line["status"].as_str(), line["provider_status"].as_str()), (Some("failed"), Some("cancelled")));
    let reason = line["error"]["message"].as_str().unwrap_or_default();
    assert!(reason.contains("cancelled"), "{line}");
    // At once: the first read ended it, not the deadline.
    let reads = server.received_requests().await.unwrap_or_default();
    let record_reads = reads.iter().filter(|r| r.url.path() == "/v1/videos/video_c").count();
    assert_eq!(record_reads, 1, "{reads:?}");

    let table = genjob(&["wait", "video_c", "--provider", "token360", "--timeout", "60s"], &env, None).await;
    assert_eq!(table.code, 1, "{table:?}");
    assert!(table.stdout.contains("the task was cancelled"), "the summary gives the reason: {table:?}");

    let normalize = normalized(BODY).await;
    assert_eq!(normalize.code, 0, "{normalize:?}");
    let job = normalize.json_lines().remove(0);
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["message"], "the task was cancelled before it finished (status `cancelled`)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dreamina_key_given_twice_gets_the_same_verdict_too() {
    const ID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";
    const BODY: &str = r#"{"jobid": "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina",
        "type": "video", "status": "created", "created": "2026-02-23T14:05:30.123Z", "status": "failed",
        "error": "moderation", "code": 2043}"#;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(BODY, "application/json"))
        .mount(&server)
        .await;
    let env = env_for(&server.uri(), TOKEN);
    let status = genjob(&["status", ID, "--json"], &env, None).await;
    assert_eq!(status.code, 0, "{status:?}");
    let normalize = normalized(BODY).await;
    assert_eq!(normalize.code, 0, "{normalize:?}");
    assert_eq!(status.json_lines().remove(0), normalize.json_lines().remove(0), "one verdict for the same bytes");
    assert_eq!(normalize.json_lines().remove(0)["status"], "failed", "the last `status` wins");
}
