//! The store on its own: migrations at open, a newer database refused, writes that must not happen.

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
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Store::open(&dir.path().join("genjob.db")).await.expect("the store");
    store.insert_watch(new_watch("video_a"), 1_000).await.expect("an insert");
    store.insert_watch(new_watch("video_b"), 1_000).await.expect("an insert");
    let again = store.insert_watch(new_watch("video_a"), 2_000).await.expect("an insert");
    assert!(matches!(again, Inserted::Existing(row) if row.created_at == 1_000), "the uniqueness is the database's");

    let final_a = |at| store.record_final("video_a", WatchState::Error, None, Some("404".into()), None, None, at);
    assert!(final_a(3_000).await.expect("a write"), "the first final state is written");
    assert!(!final_a(4_000).await.expect("a write"), "a second one is not");
    assert_eq!(store.watch("video_a").await.expect("a read").expect("a row").updated_at, 3_000);

    assert!(store.delete_watch("video_b").await.expect("a delete"));
    let written = store.record_final("video_b", WatchState::Completed, None, None, None, None, 5_000).await;
    assert!(!written.expect("a write"), "a deleted watch stays deleted");
    assert!(store.watch("video_b").await.expect("a read").is_none());
    assert_eq!(store.unfinished().await.expect("a read").len(), 0);
}
