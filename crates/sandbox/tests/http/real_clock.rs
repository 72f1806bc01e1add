//! `Pace::RealClock` (what `genjob sandbox --speed` runs): records and ids follow the real clock, only jobs run faster.

use std::time::Duration;

use genjob_sandbox::{JobSpec, Pace, SandboxConfig, SandboxError};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::support::{Harness, TOKEN, TestResult, encode, start_with, str_at};

/// Leeway between the test's clock readings and the server's, for rounding to milliseconds.
const LEEWAY: SignedDuration = SignedDuration::from_secs(1);

/// Reads `path` until its record says `completed` (a bounded wait, not a timed assertion).
async fn completed_record(h: &Harness, path: &str) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    for _ in 0..400 {
        let record = h.record(path).await?;
        if str_at(&record, "/status") == "completed" {
            return Ok(record);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(format!("{path} did not complete within 10 s").into())
}

fn timestamp_at(record: &Value, pointer: &str) -> Result<Timestamp, jiff::Error> {
    str_at(record, pointer).parse()
}

#[tokio::test]
async fn records_and_ids_follow_the_real_clock_while_jobs_run_speed_times_faster() -> TestResult {
    let config = SandboxConfig {
        speed: 1000.0,
        pace: Pace::RealClock,
        token: Some(TOKEN.to_owned()),
        ..SandboxConfig::default()
    };
    let h = start_with(config).await?;
    // A clock running 1000 times faster would be five minutes ahead after this pause.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = Timestamp::now();
    let dreamina = h.sandbox.add_job(JobSpec::dreamina_video());
    let flow = h.sandbox.add_job(JobSpec::google_flow_video());
    let after = Timestamp::now();
    let clock_now = h.sandbox.clock().now();
    assert!(clock_now >= before - LEEWAY && clock_now <= Timestamp::now() + LEEWAY, "{clock_now} vs {before}");

    let record = completed_record(&h, &format!("/v1/dreamina/videos/{}", encode(&dreamina))).await?;
    let created = timestamp_at(&record, "/created")?;
    assert!(created >= before - LEEWAY && created <= after + LEEWAY, "created {created}, added {before}..{after}");
    // The id embeds the same moment (MMDDhhmmss + millis), so a watcher dating the job by its id agrees.
    assert_eq!(dreamina.get(1..14), Some(created.strftime("%m%d%H%M%S%3f").to_string().as_str()), "{dreamina}");
    // The 105 s job took a thousandth of that, and its record says so: it finished in the past.
    let updated = timestamp_at(&record, "/updated")?;
    let took = updated.duration_since(created);
    assert!(took > SignedDuration::ZERO && took < SignedDuration::from_secs(1), "took {took}");
    assert!(updated <= Timestamp::now() + LEEWAY, "updated {updated} is in the future");

    let record = completed_record(&h, &format!("/v1/google-flow/jobs/{}", encode(&flow))).await?;
    let created = timestamp_at(&record, "/created")?;
    assert!(created >= before - LEEWAY && created <= after + LEEWAY, "created {created}");
    assert!(flow.starts_with(&format!("j{:013}v-", created.as_millisecond())), "{flow}");
    assert!(timestamp_at(&record, "/updated")? <= Timestamp::now() + LEEWAY);
    Ok(())
}

#[tokio::test]
async fn a_job_added_with_an_age_is_that_old_on_the_real_clock() -> TestResult {
    let config =
        SandboxConfig { speed: 50.0, pace: Pace::RealClock, token: Some(TOKEN.to_owned()), ..SandboxConfig::default() };
    let h = start_with(config).await?;
    let id = h.sandbox.add_job(JobSpec::google_flow_image().with_age(Duration::from_secs(3600)));
    let record = h.record(&format!("/v1/google-flow/jobs/{}", encode(&id))).await?;
    let age = Timestamp::now().duration_since(timestamp_at(&record, "/created")?);
    assert!(
        age >= SignedDuration::from_secs(3600) - LEEWAY && age <= SignedDuration::from_secs(3600) + LEEWAY,
        "{age}"
    );
    assert_eq!(str_at(&record, "/status"), "completed");
    Ok(())
}

#[tokio::test]
async fn a_real_clock_pace_still_refuses_a_speed_that_cannot_scale_durations() {
    for speed in [0.0, -2.0, f64::NAN] {
        let config = SandboxConfig { speed, pace: Pace::RealClock, ..SandboxConfig::default() };
        let started = genjob_sandbox::Sandbox::start(([127, 0, 0, 1], 0).into(), config).await;
        assert!(matches!(started, Err(SandboxError::InvalidSpeed { .. })), "{speed}");
    }
}
