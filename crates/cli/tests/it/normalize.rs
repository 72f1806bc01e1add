//! `genjob normalize` over every fixture: job records normalize, anything else is refused with exit 2.

use crate::common::{genjob, genjob_reading};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_input_is_refused_at_the_size_limit() {
    let dev_zero = Path::new("/dev/zero");
    // The default limit is the one on HTTP bodies, 8 MiB.
    let file = genjob(&["normalize", "/dev/zero"], &[], None).await;
    assert_eq!(file.code, 2, "{file:?}");
    assert!(file.stderr.contains("/dev/zero") && file.stderr.contains("more than 8388608 bytes"), "{file:?}");
    assert!(file.stderr.contains("--max-size"), "the message says how to raise the limit: {file:?}");
    assert!(file.stdout.is_empty(), "{file:?}");

    for args in [vec!["normalize", "--max-size", "1MiB"], vec!["normalize", "-", "--max-size", "1048576"]] {
        let stdin = genjob_reading(&args, &[], dev_zero).await;
        assert_eq!(stdin.code, 2, "{stdin:?}");
        assert!(stdin.stderr.contains("standard input holds more than 1048576 bytes"), "{stdin:?}");
        assert!(stdin.stderr.contains("--max-size"), "{stdin:?}");
    }

    // A pipe that carries a few MiB more than the limit: the rest is left unread.
    let piped = genjob(&["normalize", "--max-size", "1MiB"], &[], Some(&vec![b' '; 4 << 20])).await;
    assert_eq!(piped.code, 2, "{piped:?}");
    assert!(piped.stderr.contains("more than 1048576 bytes"), "{piped:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_of_exactly_the_limit_is_read() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/token360/videos/video-completed.json");
    let len = std::fs::metadata(path).expect("the fixture exists").len();
    let exact = genjob(&["normalize", path, "--max-size", &len.to_string()], &[], None).await;
    assert_eq!(exact.code, 0, "{exact:?}");
    let short = genjob(&["normalize", path, "--max-size", &(len - 1).to_string()], &[], None).await;
    assert_eq!(short.code, 2, "{short:?}");
    assert!(short.stderr.contains(&format!("more than {} bytes", len - 1)), "{short:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_order_mark_before_the_record_is_accepted() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/dreamina/videos/video-completed.json");
    let plain = genjob(&["normalize", path], &[], None).await;
    assert_eq!(plain.code, 0, "{plain:?}");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(path).expect("the fixture is readable"));
    let dir = tempfile::tempdir().expect("temp dir");
    let with_bom = dir.path().join("record-with-bom.json");
    std::fs::write(&with_bom, &bytes).expect("the copy is written");

    let from_file = genjob(&["normalize", &with_bom.to_string_lossy()], &[], None).await;
    assert_eq!(from_file.code, 0, "{from_file:?}");
    assert_eq!(from_file.stdout, plain.stdout);
    let from_stdin = genjob(&["normalize"], &[], Some(&bytes)).await;
    assert_eq!(from_stdin.code, 0, "{from_stdin:?}");
    assert_eq!(from_stdin.stdout, plain.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_body_is_named_as_one_with_its_message() {
    let cases = [
        ("dreamina/videos/error-401.json", "\"Unauthorized\""),
        ("google-flow/jobs/error-403.json", "\"Access denied - job belongs to different user\""),
        ("google-flow/jobs/error-410.json", "\"Job has expired\""),
    ];
    for (fixture, message) in cases {
        let path = format!("{FIXTURES}/{fixture}");
        for provider in [None, Some("dreamina")] {
            let mut args = vec!["normalize", path.as_str()];
            args.extend(provider.iter().flat_map(|p| ["--provider", p]));
            let run = genjob(&args, &[], None).await;
            assert_eq!(run.code, 2, "{fixture}: {run:?}");
            assert!(run.stderr.contains("error response, not a job record"), "{fixture}: {run:?}");
            assert!(run.stderr.contains(message), "{fixture}: {run:?}");
            assert!(!run.stderr.contains("cannot tell which provider"), "{fixture}: {run:?}");
        }
    }
    // token360 answers errors OpenAI-style (the documents hold no example, so it is written here);
    // the message comes from the file, so its control characters arrive escaped.
    let body = br#"{"error": {"message": "Insufficient balance\u001b]0;owned\u0007", "type": "insufficient_balance", "param": null, "code": 402}}"#;
    let run = genjob(&["normalize"], &[], Some(body)).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains(r#""Insufficient balance\u{1b}]0;owned\u{7}" (code "402")"#), "{run:?}");
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'), "{run:?}");
}
