//! The stores tests run on: a SQLite file, and a PostgreSQL schema of its own when
//! `GENJOB_TEST_POSTGRES_URL` names a server (`.ci/run` always starts one).

use genjob_server::cfg::{DbUrl, parse_db};
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the PostgreSQL server tests may use (a role that may create schemas).
pub const POSTGRES_URL: &str = "GENJOB_TEST_POSTGRES_URL";

/// A database for one test; the SQLite file lives as long as this does.
#[derive(Debug)]
pub struct TestDb {
    /// Where it is.
    pub url: DbUrl,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh SQLite database in a temporary directory.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("a temp dir");
    TestDb { url: DbUrl::Sqlite(dir.path().join("genjob.db")), _dir: Some(dir) }
}

/// A fresh schema of the test PostgreSQL server, or `None` (with the reason printed) without one.
pub async fn postgres(test: &str) -> Option<TestDb> {
    let Ok(base) = std::env::var(POSTGRES_URL) else {
        eprintln!("{test}: skipped on PostgreSQL: {POSTGRES_URL} is not set (.ci/run starts a server and sets it)");
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let schema = format!("t{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), rand_suffix());
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL} is set but PostgreSQL does not answer: {e}"));
    let connection = tokio::spawn(connection);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("a schema of its own");
    drop(client);
    let _ = connection.await;
    // Every connection of the server under test then works in that schema only.
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    Some(TestDb { url: parse_db(&url).expect("a PostgreSQL URL"), _dir: None })
}

/// Every backend available here: SQLite always, PostgreSQL when configured.
pub async fn all(test: &str) -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    dbs.extend(postgres(test).await);
    dbs
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{nanos:x}")
}
