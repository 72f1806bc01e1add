//! Control endpoints, the public config surface, and a run on a fast clock.

use std::collections::HashMap;
use std::time::Duration;

use genjob_sandbox::{JobSpec, SandboxConfig, SimClock, demo_jobs};
use reqwest::StatusCode;

use crate::support::{TOKEN, TestResult, encode, start, start_with, str_at};

#[tokio::test]
async fn jobs_can_be_added_over_http_and_stats_read_back() -> TestResult {
    let h = start().await?;
    let added = h
        .send(
            h.client
                .post(h.url("/_sandbox/jobs"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(r#"{"kind":"google-flow-image","duration":"20s","outputs":1}"#),
        )
        .await?;
    assert_eq!(added.status, StatusCode::CREATED);
    let id = str_at(&added.json, "/id").to_owned();
    let path = format!("/v1/google-flow/jobs/{}", encode(&id));
    assert_eq!(str_at(&h.record(&path).await?, "/status"), "created");
    h.advance(21);
    let done = h.record(&path).await?;
    assert_eq!(done["response"]["media"].as_array().map(Vec::len), Some(1));

    let bad = h
        .send(
            h.client
                .post(h.url("/_sandbox/jobs"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(r#"{"kind":"dreamina-video","duration":"soon"}"#),
        )
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(str_at(&bad.json, "/error").contains("invalid job spec"), "{:?}", bad.json);

    let unauthorized = h.send(h.client.post(h.url("/_sandbox/jobs")).body("{}")).await?;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);

    let stats = h.get("/_sandbox/stats").await?;
    assert_eq!(stats.status, StatusCode::OK);
    // Control requests are not counted; the two record reads are.
    assert_eq!(stats.json["google_flow"], 2);
    assert_eq!(stats.json["total"], 2);
    Ok(())
}

#[tokio::test]
async fn a_sandbox_without_a_token_accepts_any_request_and_never_shows_a_token() -> TestResult {
    let h = start_with(SandboxConfig::default()).await?;
    let id = h.sandbox.add_job(JobSpec::token360_video());
    let answer = h.send(h.client.get(h.url(&format!("/v1/videos/{id}")))).await?;
    assert_eq!(answer.status, StatusCode::OK);

    let secret = SandboxConfig { token: Some("super-secret-value".into()), ..SandboxConfig::default() };
    assert!(!format!("{secret:?}").contains("super-secret-value"));
    let with_token = start_with(secret).await?;
    assert!(!format!("{:?}", with_token.sandbox).contains("super-secret-value"));
    with_token.sandbox.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn demo_jobs_all_answer_on_their_endpoints() -> TestResult {
    let h = start().await?;
    for spec in demo_jobs() {
        let kind = spec.kind.as_str();
        let id = h.sandbox.add_job(spec);
        let path = if kind.starts_with("dreamina-video") {
            format!("/v1/dreamina/videos/{}", encode(&id))
        } else if kind.starts_with("dreamina-image") {
            format!("/v1/dreamina/images/{}", encode(&id))
        } else if kind.starts_with("google-flow") {
            format!("/v1/google-flow/jobs/{}", encode(&id))
        } else {
            format!("/v1/videos/{id}")
        };
        // Faulty demo jobs answer 429/503 first; read until the record arrives.
        let mut status = StatusCode::TOO_MANY_REQUESTS;
        for _ in 0..5 {
            status = h.get(&path).await?.status;
            if status == StatusCode::OK {
                break;
            }
        }
        assert_eq!(status, StatusCode::OK, "{kind} {id}");
    }
    Ok(())
}

/// The order each provider's statuses must appear in.
fn rank(status: &str) -> Option<usize> {
    ["created", "queued", "started", "in_progress", "completed"].iter().position(|s| *s == status)
}

#[tokio::test]
async fn on_a_1000x_clock_every_provider_runs_its_lifecycle_in_order() -> TestResult {
    let h = start_with(SandboxConfig {
        clock: Some(SimClock::new(1000.0)?),
        token: Some(TOKEN.to_owned()),
        ..SandboxConfig::default()
    })
    .await?;
    let paths = [
        format!("/v1/dreamina/videos/{}", encode(&h.sandbox.add_job(JobSpec::dreamina_video()))),
        format!("/v1/google-flow/jobs/{}", encode(&h.sandbox.add_job(JobSpec::google_flow_video()))),
        format!("/v1/videos/{}", h.sandbox.add_job(JobSpec::token360_video())),
    ];
    let mut seen: HashMap<&str, Vec<String>> = HashMap::new();
    let mut last_progress = 0;
    // 120 s of sim time is 120 ms here; poll for up to 3 s of real time.
    for _ in 0..1000 {
        let mut finished = 0;
        for path in &paths {
            let record = h.record(path).await?;
            let status = str_at(&record, "/status").to_owned();
            if let Some(progress) = record["progress"].as_i64() {
                assert!(progress >= last_progress, "progress went back: {record}");
                last_progress = progress;
            }
            let statuses = seen.entry(path.as_str()).or_default();
            if statuses.last() != Some(&status) {
                statuses.push(status.clone());
            }
            finished += usize::from(status == "completed");
        }
        if finished == paths.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for (path, statuses) in &seen {
        let ranks: Vec<Option<usize>> = statuses.iter().map(|s| rank(s)).collect();
        assert!(ranks.iter().all(Option::is_some), "{path}: {statuses:?}");
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{path}: {statuses:?}");
        assert_eq!(statuses.last().map(String::as_str), Some("completed"), "{path}");
        assert!(statuses.len() >= 2, "{path}: {statuses:?}");
    }
    assert_eq!(last_progress, 100);
    Ok(())
}
