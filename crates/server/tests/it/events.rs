//! `GET /v1/events`: every change of a watch as a Server-Sent Event, in order, resumable with
//! `Last-Event-ID`, filtered by job and label, and a `reset` for a cursor into pruned events.

use crate::common::{Api, SseEvent, sandbox, server, server_configured, watch_path};
use genjob_sandbox::JobSpec;
use genjob_server::cfg::EventRetention;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

fn ids(events: &[SseEvent]) -> Vec<i64> {
    events.iter().map(SseEvent::id).collect()
}

fn assert_increasing(events: &[SseEvent]) {
    let ids = ids(events);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_s_life_is_streamed_in_order_and_filters_pick_its_events() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server(&dir.path().join("genjob.db"), &sandbox).await;
    let api = Api::new(&server);
    // Followed live from the start (no cursor): only what happens from now on.
    let mut live = api.events("", None).await;

    // Running now, done about 7 s from now (its first read sees it running, even on a slow
    // machine); and one that never finishes.
    let soon = sandbox
        .add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(100)).with_age(Duration::from_secs(93)));
    let stuck = sandbox.add_job(JobSpec::token360_video().stuck());
    let created = api.post(json!({"job_id": soon, "labels": {"team": "a", "tier": "x:y"}})).await;
    assert_eq!(created.status, 201, "{created:?}");
    let created = api.post(json!({"job_id": stuck, "provider": "token360", "labels": {"team": "b"}})).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(api.wait_final(&soon).await["status"], "completed");
    let deleted = api.send(Method::DELETE, &watch_path(&soon), None).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");

    let seen = live.until(|e| e.kind() == "watch.deleted").await;
    assert_increasing(&seen);
    let of_soon: Vec<&SseEvent> = seen.iter().filter(|e| e.job_id() == soon).collect();
    let kinds: Vec<&str> = of_soon.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds.first(), Some(&"watch.created"), "{kinds:?}");
    assert_eq!(&kinds[kinds.len() - 2..], ["watch.completed", "watch.deleted"], "{kinds:?}");
    assert!(kinds[1..kinds.len() - 2].iter().all(|k| *k == "watch.progress"), "{kinds:?}");
    assert!(kinds.len() >= 4, "a running job shows progress before it completes: {kinds:?}");
    // Progress only when something changed: no two progress events alike in a row.
    let progress: Vec<_> = of_soon
        .iter()
        .filter(|e| e.kind() == "watch.progress")
        .map(|e| (e.data["data"]["job_status"].clone(), e.data["data"]["progress"].clone()))
        .collect();
    assert!(progress.windows(2).all(|w| w[0] != w[1]), "{progress:?}");
    // The data: the id and type again, the watch's state, its labels; the job once final.
    let first = of_soon[0];
    assert_eq!(first.data["id"], first.id());
    assert_eq!(first.data["type"], "watch.created");
    assert_eq!(first.data["data"]["state"], "watching");
    assert_eq!(first.data["data"]["labels"], json!({"team": "a", "tier": "x:y"}));
    assert!(first.data["data"].get("job").is_none(), "{first:?}");
    let completed = of_soon[of_soon.len() - 2];
    assert_eq!(completed.data["data"]["state"], "completed");
    assert_eq!(completed.data["data"]["job"]["status"], "completed");
    assert!(completed.data["timestamp"].is_string());

    // A replay from the start is the same log; filters pick a job's or a label's events.
    let mut all = api.events("?after=0", None).await;
    let replayed = all.until(|e| e.kind() == "watch.deleted").await;
    assert_eq!(ids(&replayed), ids(&seen));
    let mut by_job = api.events(&format!("?after=0&job_id={stuck}"), None).await;
    let first_stuck = by_job.next().await;
    assert_eq!((first_stuck.kind(), first_stuck.job_id()), ("watch.created", stuck.as_str()));
    let mut by_label = api.events("?after=0&label=tier:x:y", None).await;
    let labelled = by_label.until(|e| e.kind() == "watch.deleted").await;
    assert!(labelled.iter().all(|e| e.job_id() == soon), "{labelled:?}");
    assert_eq!(ids(&labelled), ids(&of_soon.into_iter().cloned().collect::<Vec<_>>()));
    let mut team_b = api.events("?after=0&label=team:b", None).await;
    assert_eq!(team_b.next().await.job_id(), stuck);
    // Nothing of the other job comes through the filter (the deleted watch's events were earlier).
    let more = team_b.next_within(Duration::from_millis(500)).await;
    assert!(more.as_ref().is_none_or(|e| e.job_id() == stuck), "{more:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_with_last_event_id_gets_exactly_what_it_missed() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server(&dir.path().join("genjob.db"), &sandbox).await;
    let api = Api::new(&server);
    let jobs: Vec<String> = (0..4).map(|_| sandbox.add_job(JobSpec::token360_video().stuck())).collect();

    let mut first = api.events("", None).await;
    assert_eq!(api.post(json!({"job_id": jobs[0], "provider": "token360"})).await.status, 201);
    let received = first.until(|e| e.kind() == "watch.created").await;
    let last = received.last().expect("an event").clone();
    drop(first); // the client goes away …

    // … while the store changes.
    for job in &jobs[1..] {
        assert_eq!(api.post(json!({"job_id": job, "provider": "token360"})).await.status, 201);
    }
    assert_eq!(api.send(Method::DELETE, &watch_path(&jobs[0]), None).await.status, 204);

    // Resumed: exactly the events after the last one received, as a full replay has them.
    let is_end = |e: &SseEvent| e.kind() == "watch.deleted";
    let mut resumed = api.events("?after=0", last.id.as_deref()).await; // the header wins over ?after=
    let missed = resumed.until(is_end).await;
    let mut full = api.events("?after=0", None).await;
    let everything = full.until(is_end).await;
    let expected: Vec<i64> = ids(&everything).into_iter().filter(|id| *id > last.id()).collect();
    assert_eq!(ids(&missed), expected);
    assert!(ids(&everything).contains(&last.id()));
    let created: Vec<&str> = missed.iter().filter(|e| e.kind() == "watch.created").map(SseEvent::job_id).collect();
    assert_eq!(created, jobs[1..].iter().map(String::as_str).collect::<Vec<_>>());
    assert_increasing(&missed);

    // Bad cursors and filters: a JSON 400 naming what was wrong.
    for (query, header, field) in [
        ("", Some("abc"), "Last-Event-ID"),
        ("", Some("-1"), "Last-Event-ID"),
        ("?after=x", None, "after"),
        ("?label=nocolon", None, "label"),
        ("?job_id=", None, "job_id"),
        ("?colour=red", None, "colour"),
    ] {
        let mut request = reqwest::Client::new()
            .get(format!("http://{}/v1/events{query}", server.addr()))
            .bearer_auth(crate::common::API_TOKEN);
        if let Some(header) = header {
            request = request.header("last-event-id", header);
        }
        let answer = request.send().await.expect("an answer");
        assert_eq!(answer.status().as_u16(), 400, "{query} {header:?}");
        let body: serde_json::Value =
            serde_json::from_slice(&answer.bytes().await.expect("a body")).expect("a JSON error");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    assert_eq!(api.clone().with_token(None).get("/v1/events").await.status, 401);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_into_pruned_events_gets_a_reset() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("genjob.db");
    let first = server(&db, &sandbox).await;
    let api = Api::new(&first);
    for _ in 0..4 {
        let job = sandbox.add_job(JobSpec::token360_video().stuck());
        assert_eq!(api.post(json!({"job_id": job, "provider": "token360"})).await.status, 201);
    }
    first.shutdown().await;
    // Started again keeping 2 events: the start prunes the rest (and nothing more in this test).
    let retention =
        EventRetention { max_age: Duration::from_secs(3600), max_events: 2, every: Duration::from_secs(3600) };
    let server = server_configured(&db, &sandbox, |c| c.event_retention = retention).await;
    let api = Api::new(&server);

    // Once pruning has run, a replay from the start cannot be whole: the stream says so.
    let mut reset = None;
    for _ in 0..100 {
        let mut stream = api.events("?after=0", None).await;
        let first = stream.next().await;
        if first.kind() == "reset" {
            reset = Some((first, stream));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (reset, mut stream) = reset.expect("a reset within 10 s");
    assert_eq!(reset.data["reason"], "pruned");
    assert_eq!(reset.data["after"], 0);
    assert_eq!(reset.data["latest_id"], reset.id());
    assert!(reset.data["oldest_kept_id"].as_i64() > Some(1), "{reset:?}");
    // The stream goes on from the newest event.
    let job = sandbox.add_job(JobSpec::token360_video().stuck());
    assert_eq!(api.post(json!({"job_id": job, "provider": "token360"})).await.status, 201);
    let next = stream.until(|e| e.kind() == "watch.created").await;
    assert_eq!(next.last().map(SseEvent::job_id), Some(job.as_str()));
    assert!(next.iter().all(|e| e.id() > reset.id()), "{next:?}");

    // A cursor past the newest event (another database's) is reset too.
    let mut ahead = api.events("", Some("999999999")).await;
    let answer = ahead.next().await;
    assert_eq!((answer.kind(), answer.data["reason"].as_str()), ("reset", Some("unknown_cursor")));
    server.shutdown().await;
}
