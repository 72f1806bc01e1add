//! What a provider adds tomorrow reaches the user today: ids in a new layout are read, new fields are shown.

mod common;

use common::{TOKEN, env_for, genjob, sandbox};

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
