//! Dreamina job records, ids, the 1-hour rule and the scheduler.

use std::time::Duration;

use genjob_sandbox::{Failure, JobKind, JobSpec};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use reqwest::StatusCode;

use crate::support::{NOWHERE, TestResult, encode, keys, start, str_at};

// Key lists of the documented examples (seed 000: videos, 001: images).
const CREATED: [&str; 8] = ["jobid", "type", "status", "model", "created", "request", "response", "code"];
const COMPLETED: [&str; 9] = ["jobid", "type", "status", "model", "created", "updated", "request", "response", "code"];
const FAILED: [&str; 10] =
    ["jobid", "type", "status", "model", "created", "updated", "request", "error", "errorDetails", "code"];
const VIDEO_REQUEST: [&str; 5] = ["prompt", "model", "ratio", "duration", "inputMode"];
const VIDEO_RESPONSE: [&str; 10] = [
    "assetId",
    "videoUrl",
    "videoId",
    "coverUrl",
    "width",
    "height",
    "durationMs",
    "hasAudio",
    "forecastCost",
    "finishTime",
];
const IMAGE_REQUEST: [&str; 5] = ["prompt", "model", "ratio", "resolution", "inputMode"];
const IMAGE_RESPONSE: [&str; 4] = ["images", "forecastCost", "historyRecordId", "finishTime"];
const IMAGE: [&str; 8] = ["imageUrl", "imageUri", "width", "height", "format", "assetId", "assetRef", "itemId"];
const UPSCALE_REQUEST: [&str; 3] = ["jobid", "imageIndex", "resolution"];

fn video_path(id: &str) -> String {
    format!("/v1/dreamina/videos/{}", encode(id))
}

fn image_path(id: &str) -> String {
    format!("/v1/dreamina/images/{}", encode(id))
}

fn millis(value: &serde_json::Value, field: &str) -> i64 {
    str_at(value, field).parse::<Timestamp>().map(Timestamp::as_millisecond).unwrap_or(i64::MIN)
}

#[tokio::test]
async fn video_goes_from_created_to_completed_in_the_documented_shapes() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::dreamina_video());
    let path = video_path(&id);

    let created = h.record(&path).await?;
    assert_eq!(keys(&created), CREATED);
    assert_eq!(keys(&created["request"]), VIDEO_REQUEST);
    assert_eq!(keys(&created["response"]), ["forecastCost"]);
    assert_eq!(
        (str_at(&created, "/jobid"), str_at(&created, "/type"), str_at(&created, "/status")),
        (id.as_str(), "video", "created")
    );
    assert_eq!(str_at(&created, "/model"), "seedance-2.0");
    assert_eq!(created["code"], 200);

    h.advance(60);
    assert_eq!(str_at(&h.record(&path).await?, "/status"), "created");

    h.advance(50);
    let done = h.record(&path).await?;
    assert_eq!(keys(&done), COMPLETED);
    assert_eq!(keys(&done["response"]), VIDEO_RESPONSE);
    assert_eq!(str_at(&done, "/status"), "completed");
    // The documented example took 105 s; that is the default duration.
    assert_eq!(millis(&done, "/updated") - millis(&done, "/created"), 105_000);
    assert_eq!(done["response"]["finishTime"].as_i64(), Some(millis(&done, "/updated").div_euclid(1000)));
    assert!(str_at(&done, "/response/assetId").starts_with("US:user@example.com:"));

    let video_url = str_at(&done, "/response/videoUrl");
    assert!(video_url.starts_with(&format!("{}/files/", h.sandbox.base_url())), "{video_url}");
    let video = h.client.get(video_url).send().await?;
    assert_eq!(video.status(), StatusCode::OK);
    assert_eq!(video.headers()["content-type"], "video/mp4");
    assert_eq!(video.headers()["content-length"], "65536");
    let bytes = video.bytes().await?;
    assert_eq!(bytes.len(), 64 * 1024);
    assert_eq!(&bytes[4..8], b"ftyp");
    // The same file twice gives the same bytes.
    assert_eq!(h.client.get(video_url).send().await?.bytes().await?, bytes);

    let cover = h.client.get(str_at(&done, "/response/coverUrl")).send().await?;
    assert_eq!(cover.headers()["content-type"], "image/jpeg");
    assert_eq!(cover.bytes().await?.len(), 16 * 1024);
    Ok(())
}

#[tokio::test]
async fn ids_have_the_real_form_and_embed_the_creation_time() -> TestResult {
    let h = start().await?;
    let letters = [
        (JobKind::DreaminaVideo, 'v', "video"),
        (JobKind::DreaminaVideoUpscale, 'V', "video"),
        (JobKind::DreaminaVideoInterpolate, 'F', "video"),
        (JobKind::DreaminaImage, 'i', "image"),
        (JobKind::DreaminaImageUpscale, 'I', "image"),
    ];
    for (kind, letter, endpoint) in letters {
        let id = h.sandbox.add_job(JobSpec::new(kind).with_age(Duration::from_secs(3600)));
        let record = h.record(&format!("/v1/dreamina/{endpoint}s/{}", encode(&id))).await?;
        let created: Timestamp = str_at(&record, "/created").parse()?;
        assert_eq!(str_at(&record, "/created").len(), "2026-02-23T14:05:30.123Z".len());
        let t = TimeZone::UTC.to_datetime(created);
        let stamp = format!(
            "j{:02}{:02}{:02}{:02}{:02}{:03}",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.subsec_nanosecond() / 1_000_000
        );
        assert!(id.starts_with(&stamp), "{id} vs {stamp}");
        let rest = &id[stamp.len()..];
        assert!(rest[..6].bytes().all(|b| b.is_ascii_digit()), "{id}");
        assert_eq!(rest[6..].chars().next(), Some(letter), "{id}");
        assert_eq!(&rest[7..], "-u12345-US:user@example.com-bot:dreamina");
    }
    let ids: std::collections::HashSet<String> =
        (0..500).map(|_| h.sandbox.add_job(JobSpec::dreamina_video())).collect();
    assert_eq!(ids.len(), 500);
    Ok(())
}

#[tokio::test]
async fn images_and_upscales_complete_with_image_lists() -> TestResult {
    let h = start().await?;
    let image = h.sandbox.add_job(JobSpec::dreamina_image());
    let upscale = h.sandbox.add_job(JobSpec::new(JobKind::DreaminaImageUpscale));

    let created = h.record(&image_path(&image)).await?;
    assert_eq!(keys(&created), CREATED);
    assert_eq!(keys(&created["request"]), IMAGE_REQUEST);
    assert_eq!(str_at(&created, "/model"), "seedream-4.0");

    h.advance(100);
    let done = h.record(&image_path(&image)).await?;
    assert_eq!(keys(&done), COMPLETED);
    assert_eq!(keys(&done["response"]), IMAGE_RESPONSE);
    let images = done["response"]["images"].as_array().cloned().unwrap_or_default();
    assert_eq!(images.len(), 2);
    for image in &images {
        assert_eq!(keys(image), IMAGE);
        let file = h.client.get(str_at(image, "/imageUrl")).send().await?;
        assert_eq!(file.headers()["content-type"], "image/jpeg");
        assert_eq!(file.bytes().await?.len(), 16 * 1024);
    }
    assert_ne!(images[0]["imageUrl"], images[1]["imageUrl"]);

    let up = h.record(&image_path(&upscale)).await?;
    assert_eq!(str_at(&up, "/type"), "upscale");
    assert_eq!(keys(&up["request"]), UPSCALE_REQUEST);
    assert!(str_at(&up, "/request/jobid").contains('i'));
    assert_eq!(up["response"]["images"].as_array().map(Vec::len), Some(1));
    assert_eq!(up["response"]["images"][0]["width"], 4096);
    Ok(())
}

#[tokio::test]
async fn failures_carry_error_details_and_code() -> TestResult {
    let h = start().await?;
    let video = h.sandbox.add_job(JobSpec::dreamina_video().failing(Failure::moderation()));
    let image = h.sandbox.add_job(
        JobSpec::dreamina_image().failing(Failure::new(2038, "fail_code: 2038").with_details("ContentFiltered")),
    );
    h.advance(106);
    let failed = h.record(&video_path(&video)).await?;
    assert_eq!(keys(&failed), FAILED);
    assert_eq!(
        (str_at(&failed, "/status"), str_at(&failed, "/error"), str_at(&failed, "/errorDetails")),
        ("failed", "fail_code: 2043", "OutputVideoRisk")
    );
    assert_eq!(failed["code"], 2043);
    let failed = h.record(&image_path(&image)).await?;
    assert_eq!(keys(&failed), FAILED);
    assert_eq!(failed["code"], 2038);
    Ok(())
}

#[tokio::test]
async fn a_job_still_created_after_an_hour_is_failed_by_the_server_after_its_lag() -> TestResult {
    let h = start().await?;
    let stuck = h.sandbox.add_job(JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(59 * 60 + 55)));
    let slow = h.sandbox.add_job(
        JobSpec::dreamina_image()
            .with_duration(Duration::from_secs(3 * 3600))
            .with_age(Duration::from_secs(59 * 60 + 55)),
    );
    assert_eq!(str_at(&h.record(&video_path(&stuck)).await?, "/status"), "created");

    // Past the hour, but the server's sweep lags 2 minutes behind.
    h.advance(5 + 60);
    assert_eq!(str_at(&h.record(&video_path(&stuck)).await?, "/status"), "created");
    assert_eq!(str_at(&h.record(&image_path(&slow)).await?, "/status"), "created");

    h.advance(60);
    for path in [video_path(&stuck), image_path(&slow)] {
        let failed = h.record(&path).await?;
        assert_eq!(
            keys(&failed),
            ["jobid", "type", "status", "model", "created", "updated", "request", "error", "code"]
        );
        assert_eq!(str_at(&failed, "/error"), "Generation timed out");
        assert_eq!(failed["code"], 408);
        assert_eq!(millis(&failed, "/updated") - millis(&failed, "/created"), 62 * 60 * 1000);
    }
    Ok(())
}

#[tokio::test]
async fn jobs_finishing_seconds_either_side_of_the_hour_complete_at_their_duration() -> TestResult {
    let h = start().await?;
    let before = h.sandbox.add_job(
        JobSpec::dreamina_video()
            .with_duration(Duration::from_secs(59 * 60 + 55))
            .with_age(Duration::from_secs(59 * 60 + 50)),
    );
    let after = h.sandbox.add_job(
        JobSpec::dreamina_video()
            .with_duration(Duration::from_secs(60 * 60 + 5))
            .with_age(Duration::from_secs(60 * 60)),
    );
    for path in [video_path(&before), video_path(&after)] {
        assert_eq!(str_at(&h.record(&path).await?, "/status"), "created");
    }
    // Both finish before the server's sweep (1 hour + 2 minutes) would time them out.
    h.advance(6);
    for (path, took) in [(video_path(&before), 3_595_000), (video_path(&after), 3_605_000)] {
        let done = h.record(&path).await?;
        assert_eq!(str_at(&done, "/status"), "completed");
        assert_eq!(millis(&done, "/updated") - millis(&done, "/created"), took);
    }
    Ok(())
}

#[tokio::test]
async fn ids_are_found_encoded_or_raw_and_only_on_their_own_endpoint() -> TestResult {
    let h = start().await?;
    let video = h.sandbox.add_job(JobSpec::dreamina_video());
    let image = h.sandbox.add_job(JobSpec::dreamina_image());
    // reqwest leaves ':' and '@' unencoded, as many clients do.
    let raw = h.record(&format!("/v1/dreamina/videos/{video}")).await?;
    assert_eq!(str_at(&raw, "/jobid"), video);

    for path in [
        video_path(&image),
        image_path(&video),
        video_path("j0223140530123456789v-u1-US:nobody@example.com-bot:dreamina"),
    ] {
        let answer = h.get(&path).await?;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.json, serde_json::json!({ "error": "Job not found" }));
    }
    Ok(())
}

#[tokio::test]
async fn scheduler_lists_exactly_the_executing_video_jobs_by_account() -> TestResult {
    let h = start().await?;
    let a1 = h.sandbox.add_job(JobSpec::dreamina_video().with_reply_url(NOWHERE));
    let a2 = h.sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(45)));
    let b1 = h.sandbox.add_job(
        JobSpec::dreamina_video()
            .with_region("CA")
            .with_email("other@example.com")
            .with_duration(Duration::from_secs(300)),
    );
    let b2 = h.sandbox.add_job(
        JobSpec::new(JobKind::DreaminaVideoUpscale)
            .with_region("CA")
            .with_email("other@example.com")
            .with_duration(Duration::from_secs(300)),
    );
    let stuck = h.sandbox.add_job(JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(30 * 60)));
    // Not listed: images, other providers, finished jobs.
    h.sandbox.add_job(JobSpec::dreamina_image());
    h.sandbox.add_job(JobSpec::google_flow_video());
    h.sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(200)));

    let listing = h.record("/v1/dreamina/scheduler").await?;
    assert_eq!(keys(&listing), ["executing", "total"]);
    assert_eq!(keys(&listing["executing"]), ["US:user@example.com", "CA:other@example.com"]);
    let ids = |listing: &serde_json::Value, account: &str| -> Vec<String> {
        listing["executing"][account]
            .as_array()
            .map(|jobs| jobs.iter().map(|j| str_at(j, "/jobid").to_owned()).collect())
            .unwrap_or_default()
    };
    assert_eq!(ids(&listing, "US:user@example.com"), [a1.as_str(), a2.as_str(), stuck.as_str()]);
    assert_eq!(ids(&listing, "CA:other@example.com"), [b1.as_str(), b2.as_str()]);
    assert_eq!(listing["total"], 5);
    let first = &listing["executing"]["US:user@example.com"][0];
    assert_eq!(keys(first), ["jobid", "submitId", "model", "elapsedSeconds", "replyUrl"]);
    assert_eq!(keys(&listing["executing"]["US:user@example.com"][1]), ["jobid", "submitId", "model", "elapsedSeconds"]);
    let elapsed = listing["executing"]["US:user@example.com"][1]["elapsedSeconds"].as_i64();
    assert!(matches!(elapsed, Some(45 | 46)), "{elapsed:?}");

    h.advance(70);
    let listing = h.record("/v1/dreamina/scheduler").await?;
    assert_eq!(ids(&listing, "US:user@example.com"), [a1.as_str(), stuck.as_str()]);
    assert_eq!(listing["total"], 4);

    h.advance(40);
    let listing = h.record("/v1/dreamina/scheduler").await?;
    assert_eq!(ids(&listing, "US:user@example.com"), [stuck.as_str()]);
    assert_eq!(listing["total"], 3);

    h.advance(35 * 60);
    let listing = h.record("/v1/dreamina/scheduler").await?;
    assert_eq!(listing, serde_json::json!({ "executing": {}, "total": 0 }));
    Ok(())
}
