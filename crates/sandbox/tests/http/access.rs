//! The documented refusals besides 401: retention (Dreamina 404 after 30 days, Google Flow 410 after
//! 7), Google Flow's 400 for an id that is no Google Flow id and 403 for another user's job, and the Bearer scheme in any case.

use std::error::Error;

use genjob_sandbox::JobSpec;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Harness, TOKEN, TestResult, encode, start, str_at};

const DAY: u64 = 24 * 60 * 60;

fn flow(id: &str) -> String {
    format!("/v1/google-flow/jobs/{}", encode(id))
}

fn dreamina_video(id: &str) -> String {
    format!("/v1/dreamina/videos/{}", encode(id))
}

fn post_job(h: &Harness, spec: &serde_json::Value) -> reqwest::RequestBuilder {
    h.client
        .post(h.url("/_sandbox/jobs"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(spec.to_string())
}

/// Adds a job through `POST /_sandbox/jobs`, as a user of the standalone sandbox does; answers its id.
async fn add_over_http(h: &Harness, spec: serde_json::Value) -> Result<String, Box<dyn Error + Send + Sync>> {
    let added = h.send(post_job(h, &spec)).await?;
    assert_eq!(added.status, StatusCode::CREATED, "{spec}: {:?}", added.json);
    Ok(str_at(&added.json, "/id").to_owned())
}

#[tokio::test]
async fn jobs_are_added_with_ages_in_days_and_expire_as_documented() -> TestResult {
    let h = start().await?;
    let flow_6d = add_over_http(&h, json!({"kind": "google-flow-video", "age": "6d"})).await?;
    let flow_8d = add_over_http(&h, json!({"kind": "google-flow-image", "age": "8d"})).await?;
    let dreamina_29d = add_over_http(&h, json!({"kind": "dreamina-video", "age": "29d"})).await?;
    let dreamina_31d = add_over_http(&h, json!({"kind": "dreamina-video", "age": "31 days"})).await?;
    let image_31d = add_over_http(&h, json!({"kind": "dreamina-image", "age": "P31D"})).await?;

    assert_eq!(str_at(&h.record(&flow(&flow_6d)).await?, "/status"), "completed");
    let gone = h.get(&flow(&flow_8d)).await?;
    assert_eq!((gone.status, gone.json), (StatusCode::GONE, json!({"error": "Job has expired"})));

    assert_eq!(str_at(&h.record(&dreamina_video(&dreamina_29d)).await?, "/status"), "completed");
    let expired = h.get(&dreamina_video(&dreamina_31d)).await?;
    assert_eq!((expired.status, expired.json), (StatusCode::NOT_FOUND, json!({"error": "Job not found"})));
    let image = h.get(&format!("/v1/dreamina/images/{}", encode(&image_31d))).await?;
    assert_eq!(image.status, StatusCode::NOT_FOUND);

    // Retention runs on: a day later the 6-day-old job is past its 7 days, the 29-day-old one past its 30.
    h.advance(DAY + 1);
    assert_eq!(h.get(&flow(&flow_6d)).await?.status, StatusCode::GONE);
    assert_eq!(h.get(&dreamina_video(&dreamina_29d)).await?.status, StatusCode::NOT_FOUND);

    // An age the sandbox cannot read as a fixed length is refused with advice.
    let months = h.send(post_job(&h, &json!({"kind": "dreamina-video", "age": "1 month"}))).await?;
    assert_eq!(months.status, StatusCode::BAD_REQUEST);
    assert!(str_at(&months.json, "/error").contains("8d"), "{:?}", months.json);
    Ok(())
}

#[tokio::test]
async fn google_flow_answers_400_for_an_id_that_is_none_of_its_and_404_for_an_unknown_one() -> TestResult {
    let h = start().await?;
    for malformed in ["nope", "video_0123", "j0223140530123456789v-u12345-US:a@b.c-bot:dreamina"] {
        let answer = h.get(&flow(malformed)).await?;
        assert_eq!(
            (answer.status, &answer.json),
            (StatusCode::BAD_REQUEST, &json!({"error": "Invalid job ID format"})),
            "{malformed}"
        );
    }
    // A Google Flow id the sandbox does not know, in the documented layout or a newer one, is not found.
    for unknown in [
        "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow",
        "f2-1767225600000-abc-email:user@example.com-bot:google-flow",
    ] {
        let answer = h.get(&flow(unknown)).await?;
        assert_eq!(
            (answer.status, answer.json),
            (StatusCode::NOT_FOUND, json!({"error": "Job not found"})),
            "{unknown}"
        );
    }
    // The token is checked first.
    let anonymous = h.send(h.client.get(h.url(&flow("nope")))).await?;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // Dreamina documents no 400: an id it does not know is not found, whatever its form.
    assert_eq!(h.get("/v1/dreamina/videos/nope").await?.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn another_users_job_is_forbidden_on_google_flow_not_found_elsewhere_and_never_listed() -> TestResult {
    let h = start().await?;
    let flow_id = add_over_http(&h, json!({"kind": "google-flow-video", "other_user": true})).await?;
    let dreamina = h.sandbox.add_job(JobSpec::dreamina_video().with_other_user());
    let video = h.sandbox.add_job(JobSpec::token360_video().with_other_user());
    let own = h.sandbox.add_job(JobSpec::dreamina_video());

    let forbidden = h.get(&flow(&flow_id)).await?;
    assert_eq!(
        (forbidden.status, forbidden.json),
        (StatusCode::FORBIDDEN, json!({"error": "Access denied - job belongs to different user"}))
    );
    assert!(flow_id.contains("-u54321-"), "another user's id names that user: {flow_id}");
    let not_found = h.get(&dreamina_video(&dreamina)).await?;
    assert_eq!((not_found.status, not_found.json), (StatusCode::NOT_FOUND, json!({"error": "Job not found"})));
    let missing = h.get(&format!("/v1/videos/{video}")).await?;
    assert_eq!((missing.status, str_at(&missing.json, "/error/code")), (StatusCode::NOT_FOUND, "not_found"));

    let scheduler = h.record("/v1/dreamina/scheduler").await?;
    assert_eq!(scheduler["total"], 1, "{scheduler}");
    assert_eq!(str_at(&scheduler, "/executing/US:user@example.com/0/jobid"), own);
    assert_eq!(h.record("/v1/videos").await?["data"], json!([]));
    Ok(())
}

#[tokio::test]
async fn the_bearer_scheme_is_accepted_in_any_case() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_image());
    let path = h.url(&format!("/v1/dreamina/images/{}", encode(&id)));
    for value in [format!("bearer {TOKEN}"), format!("BEARER {TOKEN}"), format!("Bearer  {TOKEN} ")] {
        let answer = h.send(h.client.get(&path).header("authorization", &value)).await?;
        assert_eq!(answer.status, StatusCode::OK, "{value:?}");
    }
    for value in [format!("Basic {TOKEN}"), "bearer wrong".to_owned(), format!("Bearer{TOKEN}"), TOKEN.to_owned()] {
        let answer = h.send(h.client.get(&path).header("authorization", &value)).await?;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{value:?}");
    }
    Ok(())
}
