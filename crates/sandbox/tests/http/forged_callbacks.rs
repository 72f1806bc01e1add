//! Forged callbacks, through the Rust API and `POST /_sandbox/callbacks`, and the callback counts.

use std::time::Duration;

use genjob_sandbox::{JobSpec, SandboxError};
use reqwest::StatusCode;
use serde_json::json;

use crate::receiver::{Receiver, Reply};
use crate::support::{Harness, NOWHERE, TOKEN, TestResult, encode, start_still, str_at};

const FORGED: &str = "http://forged.invalid/";

/// A POST of `body` as JSON to the sandbox's `path`, without the token.
fn post_json(h: &Harness, path: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
    h.client.post(h.url(path)).header("content-type", "application/json").body(body.to_string())
}

#[tokio::test]
async fn a_forged_callback_claims_any_status_in_the_providers_shape_whatever_the_truth() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    let video = h.sandbox.add_job(JobSpec::token360_video().with_reply_url(rx.url("/t")));
    let flow = h.sandbox.add_job(JobSpec::google_flow_video().with_reply_url(rx.url("/g")));
    let dreamina = h.sandbox.add_job(JobSpec::dreamina_video().with_reply_url(rx.url("/d")));

    h.sandbox.send_forged_callback(&video, "completed").await?;
    h.sandbox.send_forged_callback(&flow, "completed").await?;
    h.sandbox.send_forged_callback(&dreamina, "failed").await?;
    h.sandbox.send_forged_callback(&video, "bogus").await?;
    // Each call returns once its receiver answered, so the order is the calls' order.
    let received = rx.still(4, Duration::ZERO).await?;

    let t360 = &received[0].body;
    assert_eq!((str_at(t360, "/id"), str_at(t360, "/status")), (video.as_str(), "completed"));
    assert!(str_at(t360, "/url").starts_with(FORGED), "{t360}");
    assert_eq!(t360["progress"], 100);
    let media = &received[1].body["response"]["media"][0];
    assert_eq!((received[1].path.as_str(), str_at(&received[1].body, "/status")), ("/g", "completed"));
    assert!(str_at(media, "/videoUrl").starts_with(FORGED), "{media}");
    let failed = &received[2].body;
    assert_eq!((str_at(failed, "/jobid"), str_at(failed, "/status")), (dreamina.as_str(), "failed"));
    assert!(failed["code"].is_i64() && failed["error"].is_string(), "{failed}");
    assert_eq!(str_at(&received[3].body, "/status"), "bogus");
    assert!(received.iter().all(|r| r.authorization.is_none()));

    // The truth is untouched: the jobs still run, and their reads say so.
    assert_eq!(str_at(&h.record(&format!("/v1/videos/{video}")).await?, "/status"), "queued");
    let dreamina_record = h.record(&format!("/v1/dreamina/videos/{}", encode(&dreamina))).await?;
    assert_eq!(str_at(&dreamina_record, "/status"), "created");
    let stats = h.sandbox.stats();
    assert_eq!((stats.callbacks_forged, stats.callbacks_sent, stats.callbacks_failed), (4, 0, 0));
    Ok(())
}

#[tokio::test]
async fn forging_says_why_it_could_not_deliver() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::scripted(h.sandbox.clock(), [Reply::Status(500)]).await?;
    let hooked = h.sandbox.add_job(JobSpec::dreamina_image().with_reply_url(rx.url("/i")));
    let unhooked = h.sandbox.add_job(JobSpec::token360_video());

    let missing = h.sandbox.send_forged_callback("video_nope", "completed").await;
    assert!(matches!(missing, Err(SandboxError::UnknownJob { .. })), "{missing:?}");
    let no_url = h.sandbox.send_forged_callback(&unhooked, "completed").await;
    assert!(matches!(no_url, Err(SandboxError::NoCallbackUrl { .. })), "{no_url:?}");
    let bad_url = h.sandbox.send_forged_callback_to(&unhooked, "completed", "ftp://example.invalid/x").await;
    assert!(matches!(bad_url, Err(SandboxError::InvalidCallbackUrl { .. })), "{bad_url:?}");
    let refused = h.sandbox.send_forged_callback(&hooked, "completed").await;
    assert!(matches!(refused, Err(SandboxError::CallbackNotDelivered { .. })), "{refused:?}");
    let closed = h.sandbox.send_forged_callback_to(&hooked, "completed", NOWHERE).await;
    assert!(matches!(closed, Err(SandboxError::CallbackNotDelivered { .. })), "{closed:?}");

    // A job without a reply URL can still be forged to a URL named for it.
    h.sandbox.send_forged_callback_to(&unhooked, "failed", &rx.url("/elsewhere")).await?;
    let received = rx.still(2, Duration::ZERO).await?;
    assert_eq!(received[1].path, "/elsewhere");
    assert_eq!(str_at(&received[1].body, "/status"), "failed");
    assert!(received[1].body["error"]["message"].is_string());
    // Only posts count: the refusals before sending do not.
    assert_eq!(h.sandbox.stats().callbacks_forged, 3);
    Ok(())
}

#[tokio::test]
async fn the_control_endpoint_forges_callbacks_and_stats_count_them() -> TestResult {
    let h = start_still().await?;
    let rx = Receiver::start(h.sandbox.clock()).await?;
    // A job added over HTTP gets genuine callbacks too.
    let added = h
        .send(
            post_json(
                &h,
                "/_sandbox/jobs",
                &json!({
                    "kind": "google-flow-image", "duration": 10, "reply_url": rx.url("/g"), "callback_duplicates": 1
                }),
            )
            .bearer_auth(TOKEN),
        )
        .await?;
    assert_eq!(added.status, StatusCode::CREATED);
    let id = str_at(&added.json, "/id").to_owned();
    let forge = |body: serde_json::Value| post_json(&h, "/_sandbox/callbacks", &body);

    let sent = h.send(forge(json!({ "id": id, "status": "completed" })).bearer_auth(TOKEN)).await?;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);
    let received = rx.wait_for(1).await?;
    assert_eq!((received[0].path.as_str(), str_at(&received[0].body, "/status")), ("/g", "completed"));
    let image_url = str_at(&received[0].body, "/response/media/0/image/generatedImage/fifeUrl");
    assert!(image_url.starts_with(FORGED), "{image_url}");
    let to = h.send(forge(json!({ "id": id, "status": "failed", "to": rx.url("/other") })).bearer_auth(TOKEN)).await?;
    assert_eq!(to.status, StatusCode::NO_CONTENT);
    assert_eq!(rx.wait_for(2).await?[1].path, "/other");

    let refusals = [
        (forge(json!({ "id": id, "status": "completed" })), StatusCode::UNAUTHORIZED),
        (forge(json!({ "id": "nope", "status": "completed" })).bearer_auth(TOKEN), StatusCode::NOT_FOUND),
        (forge(json!({ "id": id })).bearer_auth(TOKEN), StatusCode::BAD_REQUEST),
        (
            forge(json!({ "id": id, "status": "completed", "to": "not a url" })).bearer_auth(TOKEN),
            StatusCode::BAD_REQUEST,
        ),
        (forge(json!({ "id": id, "status": "completed", "to": NOWHERE })).bearer_auth(TOKEN), StatusCode::BAD_GATEWAY),
    ];
    for (request, status) in refusals {
        let answer = h.send(request).await?;
        assert_eq!(answer.status, status, "{:?}", answer.json);
    }

    // Then the job's genuine start and completion, each twice over.
    h.advance(10);
    rx.wait_for(6).await?;
    let stats = h.get("/_sandbox/stats").await?.json;
    assert_eq!(
        (&stats["callbacks_sent"], &stats["callbacks_failed"], &stats["callbacks_forged"]),
        (&json!(4), &json!(0), &json!(3))
    );
    Ok(())
}
