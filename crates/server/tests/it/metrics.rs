//! `GET /metrics`: OpenMetrics text that parses, with counts that match the store and request
//! counters that grow as jobs are watched.

use crate::common::{Api, sandbox, server};
use genjob_sandbox::JobSpec;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// One sample: the metric name, its labels, its value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the OpenMetrics text format strictly enough to catch a malformed line or label value.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the exposition ends with # EOF");
    let name_ok = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    for line in &lines[..lines.len() - 1] {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
            assert!(matches!(kind, "HELP" | "TYPE" | "UNIT"), "{line}");
            assert!(name_ok(name), "{line}");
            if kind == "TYPE" {
                let ty = words.next().unwrap_or_default();
                assert!(matches!(ty, "counter" | "gauge" | "histogram" | "summary" | "info" | "unknown"), "{line}");
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a value: {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}")))),
        };
        assert!(name_ok(name), "{line}");
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

fn parse_labels(mut text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !text.is_empty() {
        let (key, rest) = text.split_once("=\"").unwrap_or_else(|| panic!("a label: {text}"));
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('"' | '\\'))) => value.push(c),
                    other => panic!("a bad escape {other:?} in {text}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("an unterminated label value: {text}"),
            }
        };
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        text = &rest[end + 1..];
        text = text.strip_prefix(',').unwrap_or(text);
    }
    labels
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let found: Vec<f64> = samples.iter().filter(|(n, l, _)| n == name && *l == wanted).map(|s| s.2).collect();
    assert_eq!(found.len(), 1, "one sample {name}{wanted:?} in {samples:?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_match_the_store() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server(&dir.path().join("genjob.db"), &sandbox).await;
    let api = Api::new(&server);

    assert_eq!(api.clone().with_token(None).get("/metrics").await.status, 401);
    let (status, content_type, text) = api.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let before = parse(&text);
    for provider in ["dreamina", "google-flow", "token360"] {
        for kind in ["record", "listing", "content", "refresh", "download"] {
            assert_eq!(value(&before, "genjob_requests_total", &[("provider", provider), ("kind", kind)]), 0.0);
        }
    }
    assert_eq!(value(&before, "genjob_watches", &[("state", "watching")]), 0.0);
    assert_eq!(value(&before, "genjob_events_total", &[]), 0.0);

    let done = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(30)).with_age(Duration::from_secs(600)));
    let stuck = sandbox.add_job(JobSpec::token360_video().stuck());
    for job in [&done, &stuck] {
        assert_eq!(api.post(json!({"job_id": job, "provider": "token360"})).await.status, 201);
    }
    assert_eq!(api.wait_final(&done).await["status"], "completed");
    // The stuck job has been read at least once when its watch shows a status.
    for _ in 0..600 {
        if api.get(&crate::common::watch_path(&stuck)).await.body["job_status"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let after = parse(&api.get_text("/metrics").await.2);
    let listed = |status: &str| {
        let api = api.clone();
        let path = format!("/v1/watches?status={status}");
        async move { api.get(&path).await.body["data"].as_array().map_or(0, Vec::len) as f64 }
    };
    for state in ["watching", "completed", "failed", "error"] {
        assert_eq!(value(&after, "genjob_watches", &[("state", state)]), listed(state).await, "{state}");
    }
    assert_eq!(value(&after, "genjob_watches", &[("state", "watching")]), 1.0);
    assert_eq!(value(&after, "genjob_watches", &[("state", "completed")]), 1.0);
    let records = value(&after, "genjob_requests_total", &[("provider", "token360"), ("kind", "record")]);
    assert!(records >= 2.0, "two jobs were read: {records}");
    // created ×2, progress of the stuck job, completed: at least 4 events.
    assert!(value(&after, "genjob_events_total", &[]) >= 4.0);
    for state in ["delivered", "given_up", "pending"] {
        assert_eq!(value(&after, "genjob_webhook_deliveries", &[("state", state)]), 0.0);
    }
    assert_eq!(value(&after, "genjob_webhook_failed_attempts", &[]), 0.0);
    // The finished token360 job taught the watcher how long such jobs take.
    assert!(value(&after, "genjob_learned_duration_keys", &[("provider", "token360")]) >= 1.0);
    assert_eq!(value(&after, "genjob_learned_duration_keys", &[("provider", "dreamina")]), 0.0);
    server.shutdown().await;
}
