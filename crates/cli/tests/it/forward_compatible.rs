//! What a provider adds tomorrow reaches the user today: ids in a new layout are read, new fields are shown.

use crate::common::{TOKEN, env_for, genjob, sandbox};
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Ids that carry a provider's ending but none of its documented layouts, with the sandbox counter
/// that must see the read: the type letter picks the endpoint, else Dreamina `/videos`.
const FUTURE_IDS: [(&str, &str); 3] = [
    ("k2-20270223T140530Z-7f3a9c-CA:user@example.com-bot:dreamina", "dreamina_videos"),
    ("j20270223140530123456789012i-u12345-CA:user@example.com-bot:dreamina", "dreamina_images"),
    ("f2-1767225600000-abc-email:user@example.com-bot:google-flow", "google_flow"),
];

fn reads(stats: &genjob_sandbox::RequestStats, counter: &str) -> u64 {
    match counter {
        "dreamina_videos" => stats.dreamina_videos,
        "dreamina_images" => stats.dreamina_images,
        "google_flow" => stats.google_flow,
        other => panic!("no counter {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_in_a_future_layout_are_read_from_their_provider() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    for (id, counter) in FUTURE_IDS {
        let before = sandbox.stats();
        // The sandbox knows no such job: 404, exit 4. A refused id would be exit 2 with no request.
        let status = genjob(&["status", id], &env, None).await;
        assert_eq!(status.code, 4, "{id}: {status:?}");
        assert!(status.stderr.contains("404"), "{id}: {status:?}");
        let after_status = sandbox.stats();
        assert_eq!(reads(&after_status, counter), reads(&before, counter) + 1, "{id}: {after_status:?}");

        let wait = genjob(&["wait", id, "--timeout", "20s", "--json"], &env, None).await;
        assert_eq!(wait.code, 4, "{id}: {wait:?}");
        let after_wait = sandbox.stats();
        assert!(reads(&after_wait, counter) > reads(&after_status, counter), "{id}: {after_wait:?}");
    }
    let stats = sandbox.stats();
    assert_eq!(stats.token360, 0, "{stats:?}");
}

/// A Dreamina video record with an explicit `null`, an unknown nested object and an unknown array.
fn record_with_news(id: &str) -> Value {
    json!({
        "jobid": id,
        "type": "video",
        "status": "completed",
        "model": null,
        "created": "2026-02-23T14:05:30.123Z",
        "updated": "2026-02-23T14:07:15.456Z",
        "request": {"prompt": "A lighthouse", "model": null, "duration": 5, "cameraPath": {"kind": "orbit"}},
        "response": {
            "videoUrl": "https://cdn.example/v/1.mp4",
            "width": 1280,
            "height": 720,
            "watermark": {"position": {"x": 0.9, "y": 0.1}, "opacity": null},
        },
        "safety": {"checks": {"nsfw": false, "faces": [{"box": [1, 2, 3, 4], "score": 0.5}]}, "reviewer": null},
        "tags": ["cinematic", 24, null, {"nested": []}],
        "code": 200,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_raw_prints_the_record_as_the_provider_sent_it() {
    let id = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";
    let served = record_with_news(id);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/dreamina/videos/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&served))
        .mount(&server)
        .await;
    let env = env_for(&server.uri(), TOKEN);

    let raw = genjob(&["status", id, "--raw"], &env, None).await;
    assert_eq!(raw.code, 0, "{raw:?}");
    let lines: Vec<&str> = raw.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {raw:?}");
    let printed: Value = serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e}): {raw:?}"));
    assert_eq!(printed, served);
    // The explicit null is printed as null, not dropped.
    assert!(lines[0].contains(r#""model":null"#), "{raw:?}");

    // The normalized view of the same record is another thing.
    let json = genjob(&["status", id, "--json"], &env, None).await;
    assert_eq!(json.code, 0, "{json:?}");
    assert_eq!(json.json_lines()[0]["status"], "completed");
    assert!(json.json_lines()[0].get("tags").is_none(), "{json:?}");

    let both = genjob(&["status", id, "--raw", "--json"], &env, None).await;
    assert_eq!(both.code, 2, "--raw and --json exclude each other: {both:?}");
}
