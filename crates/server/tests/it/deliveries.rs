//! Deliveries are retried from the outbox until the receiver takes them, with a stable webhook-id.

use crate::common::{Api, Receiver, sandbox, server};
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

#[test]
fn the_default_schedule_retries_for_more_than_a_day() {
    let schedule = RetrySchedule::default();
    assert!(schedule.total() >= Duration::from_secs(24 * 3600), "{schedule:?}");
    assert_eq!(schedule.after(1), Some(Duration::from_secs(5)));
    assert_eq!(schedule.after(8), None, "eight attempts, then it gives up");
}
