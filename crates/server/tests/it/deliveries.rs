//! Deliveries are retried from the outbox until the receiver takes them, with a stable webhook-id.

use crate::common::{Api, Receiver, sandbox, server, server_with};
use genjob_sandbox::JobSpec;
use genjob_server::webhook::RetrySchedule;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_500_then_200_gets_the_delivery() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server(&dir.path().join("genjob.db"), &sandbox).await;
    let mut receiver = Receiver::start(&[500, 503]).await;
    let done = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(90)).with_age(Duration::from_secs(600)));
    let answer =
        Api::new(&server).post(json!({"job_id": done, "provider": "token360", "webhook_url": receiver.url})).await;
    assert_eq!(answer.status, 201, "{answer:?}");

    let attempts = [receiver.next().await, receiver.next().await, receiver.next().await];
    for attempt in &attempts {
        attempt.verify(server.webhook_secret());
        assert_eq!(attempt.id(), attempts[0].id(), "one delivery, one webhook-id");
        assert_eq!(attempt.body, attempts[0].body, "the same payload every time");
    }
    assert_eq!(attempts[0].json()["type"], "job.completed");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_waits_for_a_receiver_that_is_down_across_a_restart() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("genjob.db");
    // A port nothing listens on yet: every attempt is refused until the receiver starts there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let done = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(90)).with_age(Duration::from_secs(600)));

    // Never given up within the test, however slow the machine.
    let patient = || RetrySchedule::new(vec![Duration::from_millis(300); 10_000]);
    let first = server_with(&db, &sandbox, patient()).await;
    let secret = first.webhook_secret().clone();
    let api = Api::new(&first);
    assert_eq!(api.post(json!({"job_id": done, "provider": "token360", "webhook_url": url})).await.status, 201);
    assert_eq!(api.wait_final(&done).await["status"], "completed");
    first.shutdown().await;

    // The delivery is a row: the next start sends it once the receiver is back.
    let restarted = server_with(&db, &sandbox, patient()).await;
    let mut receiver = Receiver::start_on(port, &[]).await;
    let delivery = receiver.next().await;
    delivery.verify(&secret);
    assert_eq!(delivery.json()["data"]["job_id"], done);
    restarted.shutdown().await;
}

#[test]
fn the_default_schedule_retries_for_more_than_a_day() {
    let schedule = RetrySchedule::default();
    assert!(schedule.total() >= Duration::from_secs(24 * 3600), "{schedule:?}");
    assert_eq!(schedule.after(1), Some(Duration::from_secs(5)));
    assert_eq!(schedule.after(8), None, "eight attempts, then it gives up");
}
