//! The store on its own: migrations at open, a newer database refused, writes that must not happen.

use crate::backends::all;
use genjob::Provider;
use genjob_server::db::{DbError, Inserted, NewWatch, Store, WatchState};
use std::collections::BTreeMap;

fn new_watch(job_id: &str) -> NewWatch {
    NewWatch {
        job_id: job_id.to_owned(),
        provider: Provider::Token360,
        webhook_url: Some("http://127.0.0.1:9/hook".to_owned()),
        download: false,
        labels: BTreeMap::from([("team".to_owned(), "video".to_owned())]),
    }
}

#[tokio::test]
async fn migrations_apply_once_and_a_newer_database_is_refused() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("genjob.db");
    let store = Store::open(&path).await.expect("a new database is created and migrated");
    assert!(matches!(store.insert_watch(new_watch("video_a"), 1_000).await, Ok(Inserted::Created(_))));
    drop(store);
    // Opening again applies nothing twice and keeps the rows.
    let store = Store::open(&path).await.expect("the same database opens again");
    let row = store.watch("video_a").await.expect("a read").expect("the watch is kept");
    assert_eq!(row.new, new_watch("video_a"));
    assert_eq!(row.state, WatchState::Watching);
    drop(store);

    // A database written by a newer genjob (a migration this one does not know) is not touched.
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute_batch("PRAGMA user_version = 99").expect("a newer version");
    drop(conn);
    let newer = Store::open(&path).await;
    assert!(matches!(newer, Err(DbError::Migrate(_))), "{newer:?}");
}

#[tokio::test]
async fn a_final_state_is_written_once_and_never_for_a_deleted_watch() {
    for db in all("a_final_state_is_written_once_and_never_for_a_deleted_watch").await {
        final_once(Store::open(&db.url).await.expect("the store")).await;
    }
}

async fn final_once(store: Store) {
    store.insert_watch(new_watch("video_a"), 1_000).await.expect("an insert");
    store.insert_watch(new_watch("video_b"), 1_000).await.expect("an insert");
    let again = store.insert_watch(new_watch("video_a"), 2_000).await.expect("an insert");
    assert!(matches!(again, Inserted::Existing(row) if row.created_at == 1_000), "the uniqueness is the database's");

    let final_a = |at| store.record_final("video_a", WatchState::Error, None, Some("404".into()), None, None, at);
    assert!(final_a(3_000).await.expect("a write"), "the first final state is written");
    assert!(!final_a(4_000).await.expect("a write"), "a second one is not");
    assert_eq!(store.watch("video_a").await.expect("a read").expect("a row").updated_at, 3_000);

    assert!(store.delete_watch("video_b", 4_500).await.expect("a delete"));
    let written = store.record_final("video_b", WatchState::Completed, None, None, None, None, 5_000).await;
    assert!(!written.expect("a write"), "a deleted watch stays deleted");
    assert!(store.watch("video_b").await.expect("a read").is_none());
    assert_eq!(store.unfinished().await.expect("a read").len(), 0);
}

#[tokio::test]
async fn each_write_appends_its_event_and_pruning_remembers_the_gap() {
    for db in all("each_write_appends_its_event_and_pruning_remembers_the_gap").await {
        events_and_pruning(Store::open(&db.url).await.expect("the store")).await;
    }
}

async fn events_and_pruning(store: Store) {
    use genjob_server::db::EventFilter;
    let wake = store.subscribe_events();
    store.insert_watch(new_watch("video_a"), 1_000).await.expect("an insert");
    assert!(wake.has_changed().expect("the store lives"), "a write wakes the streams");
    store.insert_watch(new_watch("video_a"), 1_100).await.expect("the same insert");
    // Reads that change nothing are no news; a new status or progress is.
    for (status, progress, at) in [("queued", None, 2_000), ("queued", None, 2_100), ("running", Some(10), 2_200)] {
        store.record_progress("video_a", status, progress, 1, at + 1_000, at).await.expect("progress");
    }
    store.record_progress("video_a", "running", Some(10), 3, 5_000, 2_300).await.expect("progress");
    store.record_retry("video_a", "HTTP 503", 9_000, 2_400).await.expect("a retry");
    assert!(store.record_final("video_a", WatchState::Failed, None, None, None, None, 3_000).await.expect("final"));
    assert!(store.delete_watch("video_a", 4_000).await.expect("a delete"));
    assert!(!store.delete_watch("video_a", 4_100).await.expect("a second delete"));

    let page = store.events_page(0, EventFilter::default(), 100).await.expect("a page");
    let kinds: Vec<&str> = page.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["watch.created", "watch.progress", "watch.progress", "watch.failed", "watch.deleted"]);
    let times: Vec<i64> = page.events.iter().map(|e| e.created_at).collect();
    assert_eq!(times, [1_000, 2_000, 2_200, 3_000, 4_000]);
    assert_eq!(page.events[2].payload["progress"], 10);
    assert_eq!(page.events[2].payload["labels"]["team"], "video");
    assert_eq!((page.scanned_through, page.latest, page.pruned_through), (5, 5, 0));
    // A page is at most `limit` events; the next one starts after it.
    let first = store.events_page(0, EventFilter::default(), 2).await.expect("a page");
    assert_eq!((first.events.len(), first.scanned_through), (2, 2));
    let filtered = EventFilter { job_id: Some("video_b".into()), label: None };
    let none = store.events_page(0, filtered, 100).await.expect("a page");
    assert!(none.events.is_empty());
    assert_eq!(none.scanned_through, 5, "a filtered page still moves the cursor");

    // Keep the newest 2: the ids go on, and the gap is remembered.
    assert_eq!(store.prune_events(0, 2).await.expect("a prune"), 3);
    let bounds = store.event_bounds().await.expect("bounds");
    assert_eq!((bounds.pruned_through, bounds.latest), (3, 5));
    assert_eq!(store.prune_events(3_500, 100).await.expect("a prune by age"), 1);
    store.insert_watch(new_watch("video_c"), 5_000).await.expect("an insert");
    let page = store.events_page(0, EventFilter::default(), 100).await.expect("a page");
    let ids: Vec<i64> = page.events.iter().map(|e| e.id).collect();
    assert_eq!((ids, page.pruned_through), (vec![5, 6], 4));
    assert_eq!(store.stats().await.expect("stats").events_written, 6);
}

/// `n` finished jobs `prefix0…` of one key, 60 s each.
fn learned_jobs(key: &genjob::learn::DurationKey, prefix: &str, n: usize) -> genjob::learn::DurationEstimates {
    let mut learned = genjob::learn::DurationEstimates::new();
    for i in 0..n {
        learned.record_finished(key, &format!("{prefix}{i}"), std::time::Duration::from_secs(60));
    }
    learned
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_durations_merge_into_the_store_once_per_job_and_concurrent_merges_lose_nothing() {
    let test = "learned_durations_merge_into_the_store_once_per_job_and_concurrent_merges_lose_nothing";
    for db in all(test).await {
        let store = Store::open(&db.url).await.expect("the store");
        // Another connection (PostgreSQL: another replica's store); SQLite has one process per file.
        let other = if store.is_shared() { Store::open(&db.url).await.expect("a second store") } else { store.clone() };
        learned_merges(&store, &other).await;
    }
}

async fn learned_merges(store: &Store, other: &Store) {
    use genjob::learn::DurationKey;
    let key = DurationKey::for_kind(Provider::Token360, Some(genjob::JobKind::Video));
    assert!(store.learned().await.expect("a read").is_empty(), "nothing learned yet");

    let a = learned_jobs(&key, "a", 3);
    let merged = store.merge_learned(a.clone(), 1_000).await.expect("a merge");
    assert_eq!(merged.samples(&key), (3, 0));
    // B saw a0 finish too (the same job), and two of its own.
    let mut b = learned_jobs(&key, "b", 2);
    b.record_finished(&key, "a0", std::time::Duration::from_secs(60));
    let merged = other.merge_learned(b, 2_000).await.expect("a merge");
    assert_eq!(merged.samples(&key), (5, 0), "a0 counts once");
    // A merges again what it holds, and what it took back: no job counts twice.
    let mut a_now = a;
    a_now.merge(&merged);
    let again = store.merge_learned(a_now.clone(), 3_000).await.expect("a merge");
    assert_eq!(again.samples(&key), (5, 0));
    a_now.merge(&again);
    assert_eq!(a_now.samples(&key), (5, 0), "taking the merge back counts no job twice");
    assert_eq!(store.learned().await.expect("a read"), again);

    // Eight merges at once (PostgreSQL: from two connections): the row lock keeps every sample.
    let merges = (0..8).map(|i| {
        let store = if i % 2 == 0 { store.clone() } else { other.clone() };
        let learned = learned_jobs(&key, &format!("c{i}-"), 10);
        async move { store.merge_learned(learned, 4_000).await }
    });
    for merged in futures::future::join_all(merges).await {
        merged.expect("a merge");
    }
    assert_eq!(store.learned().await.expect("a read").samples(&key), (85, 0));
}

#[tokio::test]
async fn unusable_learned_durations_are_reported_and_replaced_by_the_next_merge() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("genjob.db");
    drop(Store::open(&path).await.expect("a new database"));
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    let future = r#"{"format": "genjob-learned-durations", "version": 99, "keys": []}"#;
    conn.execute("UPDATE learned SET estimates = ?1", [future]).expect("a newer value");
    drop(conn);
    let store = Store::open(&path).await.expect("the database opens");
    assert!(matches!(store.learned().await, Err(DbError::Corrupt(_))));
    let key = genjob::learn::DurationKey::for_kind(Provider::Dreamina, None);
    let merged = store.merge_learned(learned_jobs(&key, "d", 2), 1_000).await.expect("a merge replaces it");
    assert_eq!(merged.samples(&key), (2, 0));
    assert_eq!(store.learned().await.expect("a read"), merged);
}
