//! `genjob demo` runs its whole mixed batch, writes the outputs of the completed jobs, and compares
//! the batch watched with callbacks against the same batch polled.

use crate::common::genjob;

/// The status requests and mean latency (simulated seconds) a comparison line reports.
fn comparison(stdout: &str, run: &str) -> (u64, f64) {
    let line = stdout.lines().find_map(|l| l.trim().strip_prefix(run)).unwrap_or_else(|| panic!("no `{run}` line"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let requests = words.first().and_then(|w| w.parse().ok()).unwrap_or_else(|| panic!("requests in `{line}`"));
    let latency = words
        .iter()
        .position(|w| *w == "latency")
        .and_then(|i| words.get(i + 1))
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("latency in `{line}`"));
    (requests, latency)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_finishes_writes_files_and_shows_callbacks_noticing_finished_jobs_sooner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("demo-out");
    let out_arg = out.to_string_lossy().into_owned();
    let run = genjob(&["demo", "--out", &out_arg], &[], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    for expected in ["completed", "failed", "2043", "408", "time (sim)", "requests", "push vs polling"] {
        assert!(run.stdout.contains(expected), "`{expected}` missing from {}", run.stdout);
    }
    // The stuck job's reason names the 1-hour rule once, not once per layer that knows it.
    assert_eq!(run.stdout.matches("1-hour rule").count(), 1, "{}", run.stdout);
    let files: Vec<_> = std::fs::read_dir(&out).expect("the demo made its directory").flatten().collect();
    // Four jobs complete: every one has at least one file.
    assert!(files.len() >= 4, "{files:?}");
    assert!(files.iter().all(|f| f.metadata().map(|m| m.len() > 0).unwrap_or(false)));
    let (pushed_requests, pushed) = comparison(&run.stdout, "with callbacks:");
    let (polled_requests, polled) = comparison(&run.stdout, "polling alone:");
    // A callback starts a read the moment a job finishes; polling finds it seconds later. (Requests
    // are usually fewer too, about 26 against 33, but listing ticks make that count timing-dependent.)
    assert!(pushed < polled, "with callbacks {pushed} s, polling alone {polled} s\n{}", run.stdout);
    assert!(pushed_requests > 0 && polled_requests > 0, "{}", run.stdout);
}
