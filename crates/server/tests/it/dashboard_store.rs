//! The dashboard's store reads on both backends: counts, labels, failures grouped by reason with
//! their job ids, the next checks, a job's history and its deliveries.

use crate::backends::all;
use genjob::{Job, JobError, JobStatus, Provider};
use genjob_server::db::{NewDelivery, NewWatch, Store, WatchState};
use std::collections::BTreeMap;

fn new_watch(job_id: &str, batch: &str) -> NewWatch {
    NewWatch {
        job_id: job_id.to_owned(),
        provider: Provider::Token360,
        webhook_url: Some("http://127.0.0.1:9/hook".to_owned()),
        download: false,
        labels: BTreeMap::from([("batch".to_owned(), batch.to_owned())]),
    }
}

fn failed_job(id: &str, code: &str, message: &str) -> Job {
    Job {
        provider: Provider::Token360,
        id: id.to_owned(),
        kind: None,
        status: JobStatus::Failed,
        provider_status: "failed".to_owned(),
        model: None,
        created_at: None,
        updated_at: None,
        progress: None,
        outputs: Vec::new(),
        error: Some(JobError::from_code(Some(code.to_owned()), message, Some("OutputVideoRisk".to_owned()))),
    }
}

#[tokio::test]
async fn the_overview_is_aggregated_by_the_store() {
    for db in all("the_overview_is_aggregated_by_the_store").await {
        overview(Store::open(&db.url).await.expect("the store")).await;
    }
}

async fn overview(store: Store) {
    for (i, batch) in ["a", "a", "a", "a", "b", "b"].iter().enumerate() {
        store.insert_watch(new_watch(&format!("video_{i}"), batch), 1_000).await.expect("an insert");
    }
    store.record_progress("video_0", "running", Some(40), 1, 9_000, 2_000).await.expect("progress");
    store.record_progress("video_1", "queued", None, 1, 8_000, 2_000).await.expect("progress");
    let delivery =
        |id: &str| NewDelivery { id: id.to_owned(), url: "http://127.0.0.1:9/hook".into(), payload: "{}".into() };
    for (job, at) in [("video_2", 3_000), ("video_4", 3_100)] {
        let job_row = failed_job(job, "2043", "<b>risky</b>");
        let written = store
            .record_final(job, WatchState::Failed, Some(job_row), None, None, Some(delivery(&format!("msg_{job}"))), at)
            .await;
        assert!(written.expect("a write"));
    }
    store
        .record_final("video_3", WatchState::Error, None, Some("410 gone".into()), None, None, 3_200)
        .await
        .expect("a write");
    store.record_final("video_5", WatchState::Completed, None, None, None, None, 3_300).await.expect("a write");
    store.delivery_failed("msg_video_2", "HTTP 500", Some(10_000), 4_000).await.expect("a failed attempt");
    store.delivery_succeeded("msg_video_2", 5_000).await.expect("a delivery");

    let o = store.overview().await.expect("the overview");
    assert_eq!(
        (o.counts.queued, o.counts.running, o.counts.completed, o.counts.failed, o.counts.error),
        (1, 1, 1, 2, 1)
    );
    assert_eq!(o.counts.total(), 6);
    let labels: Vec<_> = o.labels.iter().map(|l| (l.value.as_str(), l.counts.total(), l.counts.failed)).collect();
    assert_eq!(labels, [("a", 4, 1), ("b", 2, 1)]);
    assert_eq!(o.failures.len(), 2, "{:?}", o.failures);
    let risky = &o.failures[0];
    assert_eq!((risky.code.as_deref(), risky.message.as_str(), risky.count), (Some("2043"), "<b>risky</b>", 2));
    assert_eq!(risky.detail.as_deref(), Some("OutputVideoRisk"));
    assert_eq!(risky.job_ids, ["video_4", "video_2"], "newest first");
    assert_eq!((o.failures[1].state.as_str(), o.failures[1].message.as_str()), ("error", "410 gone"));
    assert_eq!(o.providers.len(), 1);
    assert_eq!((o.providers[0].watching, o.providers[0].next_check_at), (2, Some(8_000)));
    let next: Vec<_> = o.next_checks.iter().map(|c| c.job_id.as_str()).collect();
    assert_eq!(next, ["video_1", "video_0"], "soonest first");

    let history = store.job_history("video_2").await.expect("a history");
    let kinds: Vec<_> = history.iter().map(|h| h.event_type.as_str()).collect();
    assert_eq!(kinds, ["watch.created", "watch.failed"]);
    assert_eq!(history[1].state.as_deref(), Some("failed"));
    let deliveries = store.job_deliveries("video_2").await.expect("deliveries");
    assert_eq!(deliveries.len(), 1);
    assert_eq!((deliveries[0].attempts, deliveries[0].delivered_at), (2, Some(5_000)));
    assert!(store.job_deliveries("video_5").await.expect("deliveries").is_empty());
}
