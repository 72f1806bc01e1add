//! `genjob normalize` over every fixture: job records normalize, anything else is refused with exit 2.

mod common;

use common::genjob;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");

fn json_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the fixtures directory is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
}

/// A job record is any fixture that is neither an error body nor a scheduler listing.
fn is_job_record(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    !name.starts_with("error-") && !path.components().any(|c| c.as_os_str() == "scheduler")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_normalizes_or_is_refused() {
    let mut files = Vec::new();
    json_files(Path::new(FIXTURES), &mut files);
    files.sort();
    let records: Vec<&PathBuf> = files.iter().filter(|p| is_job_record(p)).collect();
    assert!(records.len() >= 10, "expected the job-record fixtures, found {records:?}");
    for path in &files {
        let arg = path.to_string_lossy().into_owned();
        let run = genjob(&["normalize", &arg], &[], None).await;
        if is_job_record(path) {
            assert_eq!(run.code, 0, "{}: {run:?}", path.display());
            let lines = run.json_lines();
            assert_eq!(lines.len(), 1, "{}: {run:?}", path.display());
            // The provider is the fixture's top directory.
            let provider = path
                .strip_prefix(FIXTURES)
                .ok()
                .and_then(|p| p.iter().next())
                .map(|p| p.to_string_lossy().into_owned());
            assert_eq!(lines[0]["provider"].as_str(), provider.as_deref(), "{}", path.display());
            // Forcing the right provider gives the same answer as detection.
            let forced =
                genjob(&["normalize", "--provider", provider.as_deref().unwrap_or("?"), &arg], &[], None).await;
            assert_eq!(forced.code, 0, "{}: {forced:?}", path.display());
            assert_eq!(forced.stdout, run.stdout, "{}", path.display());
        } else {
            assert_eq!(run.code, 2, "{} is not a job record: {run:?}", path.display());
            assert!(run.stdout.is_empty(), "{}: {run:?}", path.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normalize_reads_standard_input() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/token360/videos/video-completed.json");
    let bytes = std::fs::read(path).expect("the fixture is readable");
    for args in [vec!["normalize"], vec!["normalize", "-"]] {
        let run = genjob(&args, &[], Some(&bytes)).await;
        assert_eq!(run.code, 0, "{run:?}");
        let lines = run.json_lines();
        assert_eq!((lines[0]["provider"].as_str(), lines[0]["status"].as_str()), (Some("token360"), Some("completed")));
    }
}
