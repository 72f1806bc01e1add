//! `genjob demo` runs its whole mixed batch and writes the outputs of the completed jobs.

mod common;

use common::genjob;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_finishes_and_writes_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("demo-out");
    let out_arg = out.to_string_lossy().into_owned();
    let run = genjob(&["demo", "--out", &out_arg], &[], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    for expected in ["completed", "failed", "2043", "408", "time (sim)", "requests"] {
        assert!(run.stdout.contains(expected), "`{expected}` missing from {}", run.stdout);
    }
    let files: Vec<_> = std::fs::read_dir(&out).expect("the demo made its directory").flatten().collect();
    // Four jobs complete: every one has at least one file.
    assert!(files.len() >= 4, "{files:?}");
    assert!(files.iter().all(|f| f.metadata().map(|m| m.len() > 0).unwrap_or(false)));
}
