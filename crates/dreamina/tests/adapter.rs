//! The Dreamina adapter against a local wiremock server serving the documented fixtures.

use std::error::Error;

use genjob_dreamina::{DreaminaClient, ENV};
use genjob_models::{CAPTURED_EMAIL_PLACEHOLDER, Endpoint, JobId, ProviderRecord, decode_executing};
use genjob_testkit::{self as testkit, Fixture, TestResult, authorization, only_request};
use genjob_transport::{ErrorKind, JobListing, JobSource, ListingScope, TransportConfig, TransportError};
use wiremock::MockServer;

/// A token that must travel only in the `Authorization` header.
const TOKEN: &str = "dreamina-test-token-5c1e9a";

/// The real form of the documented example ids (the captures hide `<email>-bot`).
const REAL_VIDEO_ID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";

fn fixture(endpoint: &str, name: &str) -> Result<Vec<u8>, Box<dyn Error>> {
    testkit::fixture(&format!("dreamina/{endpoint}"), name)
}

fn job_fixtures(endpoint: &str) -> Result<Vec<Fixture>, Box<dyn Error>> {
    testkit::job_fixtures(&format!("dreamina/{endpoint}"))
}

/// The sendable id a documented `jobid` stands for: the placeholder replaced by `<email>-bot`.
fn real_form(documented: &str) -> String {
    documented.replace(CAPTURED_EMAIL_PLACEHOLDER, "user@example.com-bot")
}

/// A client for `server`, built the way `from_env` builds it, without retries.
fn client(server: &MockServer) -> Result<DreaminaClient, TransportError> {
    DreaminaClient::new(testkit::config(server, ENV, TOKEN)?)
}

async fn serve(server: &MockServer, status: u16, body: &[u8]) {
    testkit::serve(server, testkit::json(status, body)).await;
}

fn jobid_of(body: &[u8]) -> Result<String, Box<dyn Error>> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    Ok(value["jobid"].as_str().ok_or("fixture without a string jobid")?.to_owned())
}

/// Serves each fixture of `dir` and checks path, header, record and normalized job.
async fn check_endpoint_fixtures(dir: &str, endpoint: Endpoint, prefix: &str) -> TestResult {
    for (name, body) in job_fixtures(dir)? {
        let server = MockServer::start().await;
        serve(&server, 200, &body).await;
        let id: JobId = real_form(&jobid_of(&body)?).parse()?;
        let fetched = client(&server)?.job(&id).await.map_err(|e| format!("{dir}/{name}: {e}"))?;

        let request = only_request(&server).await?;
        assert_eq!(request.url.path(), format!("{prefix}/{id}"), "{dir}/{name}");
        assert_eq!(authorization(&request), Some(format!("Bearer {TOKEN}").as_str()), "{dir}/{name}");

        let expected = ProviderRecord::from_slice(endpoint, &body)?;
        assert_eq!(fetched.record, expected, "{dir}/{name}: record");
        assert_eq!(fetched.job, expected.normalize(), "{dir}/{name}: normalized job");
        assert_eq!(fetched.attempts, 1, "{dir}/{name}");
        let original: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(fetched.record.to_value(), original, "{dir}/{name}: record does not round-trip");
    }
    Ok(())
}

#[tokio::test]
async fn every_video_fixture_is_read_from_the_videos_endpoint() -> TestResult {
    check_endpoint_fixtures("videos", Endpoint::DreaminaVideos, "/v1/dreamina/videos").await
}

#[tokio::test]
async fn every_image_fixture_is_read_from_the_images_endpoint() -> TestResult {
    check_endpoint_fixtures("images", Endpoint::DreaminaImages, "/v1/dreamina/images").await
}

fn id_with_letter(letter: char) -> Result<JobId, Box<dyn Error>> {
    Ok(format!("j0223140530123456789{letter}-u12345-CA:user@example.com-bot:dreamina").parse()?)
}

#[tokio::test]
async fn the_type_letter_chooses_the_endpoint() -> TestResult {
    let body = fixture("videos", "video-completed.json")?;
    // `X` is undocumented: the client falls back to `/videos`.
    for (letter, prefix) in [
        ('v', "/v1/dreamina/videos/"),
        ('V', "/v1/dreamina/videos/"),
        ('F', "/v1/dreamina/videos/"),
        ('i', "/v1/dreamina/images/"),
        ('I', "/v1/dreamina/images/"),
        ('X', "/v1/dreamina/videos/"),
    ] {
        let server = MockServer::start().await;
        serve(&server, 200, &body).await;
        let id = id_with_letter(letter)?;
        // Only the request path matters here: whether the body decodes for that endpoint is
        // covered by the fixture tests above.
        let _ = client(&server)?.job(&id).await;
        let request = only_request(&server).await?;
        assert_eq!(request.url.path(), format!("{prefix}{id}"), "type letter {letter}");
    }
    Ok(())
}

#[tokio::test]
async fn with_endpoint_overrides_the_type_letter() -> TestResult {
    let server = MockServer::start().await;
    let body = fixture("images", "image-completed.json")?;
    serve(&server, 200, &body).await;
    let id = id_with_letter('v')?;
    let client = client(&server)?.with_endpoint(Endpoint::DreaminaImages);
    assert_eq!(client.endpoint_for(&id), Endpoint::DreaminaImages);
    let fetched = client.job(&id).await?;
    assert_eq!(only_request(&server).await?.url.path(), format!("/v1/dreamina/images/{id}"));
    assert_eq!(fetched.job, ProviderRecord::from_slice(Endpoint::DreaminaImages, &body)?.normalize());
    Ok(())
}

#[tokio::test]
async fn listing_covers_video_endpoint_jobs_only() -> TestResult {
    let server = MockServer::start().await;
    let plain = client(&server)?;
    for (letter, covered) in [('v', true), ('V', true), ('F', true), ('X', true), ('i', false), ('I', false)] {
        let id = id_with_letter(letter)?;
        assert_eq!(plain.covers(&id), covered, "type letter {letter}");
    }
    let images = client(&server)?.with_endpoint(Endpoint::DreaminaImages);
    assert!(!images.covers(&id_with_letter('v')?));
    let videos = client(&server)?.with_endpoint(Endpoint::DreaminaVideos);
    assert!(videos.covers(&id_with_letter('i')?));
    Ok(())
}

#[tokio::test]
async fn executing_jobs_reads_both_scheduler_fixtures() -> TestResult {
    for (name, expected_ids) in [("executing-0.json", 0), ("executing-1.json", 1)] {
        let body = fixture("scheduler", name)?;
        let server = MockServer::start().await;
        serve(&server, 200, &body).await;
        let client = client(&server)?;

        let listing = client.executing_jobs().await?;
        let request = only_request(&server).await?;
        assert_eq!(request.url.path(), "/v1/dreamina/scheduler", "{name}");
        assert_eq!(authorization(&request), Some(format!("Bearer {TOKEN}").as_str()), "{name}");
        assert_eq!(listing, decode_executing(&body)?, "{name}");
        assert_eq!(listing.total.into_option(), Some(expected_ids), "{name}");
        let original: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(serde_json::to_value(&listing)?, original, "{name}: listing does not round-trip");

        let listing_capability = JobSource::listing(&client).ok_or("Dreamina has a listing capability")?;
        let entries = listing_capability.list(&ListingScope::default()).await?;
        let listed: Vec<String> = listing.jobs().map(|j| j.jobid.clone()).collect();
        assert_eq!(entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), listed, "{name}");
        assert_eq!(entries.len() as u64, expected_ids, "{name}");
        // The listing is a hint with the facts to check it: the elapsed time and the model.
        for (entry, job) in entries.iter().zip(listing.jobs()) {
            assert_eq!(entry.model.as_ref(), job.model.as_option(), "{name}");
            assert_eq!(
                entry.elapsed.map(|d| d.as_secs_f64()),
                job.elapsed_seconds.as_option().and_then(|n| n.as_f64())
            );
            assert_eq!(entry.status, None, "the scheduler lists executing jobs only");
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_documented_executing_job_is_listed_by_its_id() -> TestResult {
    let body = fixture("scheduler", "executing-1.json")?;
    let server = MockServer::start().await;
    serve(&server, 200, &body).await;
    let ids: Vec<String> = client(&server)?.list(&ListingScope::default()).await?.into_iter().map(|e| e.id).collect();
    let documented = format!("j0223140530123456789v-u12345-US:{CAPTURED_EMAIL_PLACEHOLDER}:dreamina");
    assert_eq!(ids, vec![documented]);
    Ok(())
}

#[tokio::test]
async fn documented_error_fixtures_map_to_typed_errors() -> TestResult {
    let id: JobId = REAL_VIDEO_ID.parse()?;
    let image_id = id_with_letter('i')?;
    for (dir, name, status) in [
        ("videos", "error-401.json", 401),
        ("videos", "error-404.json", 404),
        ("images", "error-401.json", 401),
        ("images", "error-404.json", 404),
        ("scheduler", "error-401.json", 401),
    ] {
        let body = fixture(dir, name)?;
        let server = MockServer::start().await;
        serve(&server, status, &body).await;
        let client = client(&server)?;
        let err = match dir {
            "videos" => client.job(&id).await.err(),
            "images" => client.job(&image_id).await.err(),
            _ => client.executing_jobs().await.err(),
        }
        .ok_or(format!("{dir}/{name}: expected an error"))?;

        let documented: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(err.provider_message(), documented["error"].as_str(), "{dir}/{name}");
        assert_eq!(err.status(), Some(status), "{dir}/{name}");
        assert!(!err.is_retryable(), "{dir}/{name}");
        match status {
            401 => {
                assert!((err).kind() == ErrorKind::Unauthorized, "{dir}/{name}: {err:?}");
                assert!(err.to_string().contains("USEAPI_TOKEN"), "{dir}/{name}: {err}");
            }
            _ => assert!((err).kind() == ErrorKind::NotFound, "{dir}/{name}: {err:?}"),
        }
        assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN), "{dir}/{name}");
    }
    Ok(())
}

#[tokio::test]
async fn useapi_statuses_from_provider_facts_map_to_typed_errors() -> TestResult {
    let id: JobId = REAL_VIDEO_ID.parse()?;
    let cases: [(u16, &str, &str); 3] = [
        (402, r#"{"error":"Subscription expired"}"#, "Subscription expired"),
        (429, r#"{"error":"All accounts are busy","retryAfter":12}"#, "All accounts are busy"),
        (596, r#"{"error":"Account session expired","code":596}"#, "Account session expired"),
    ];
    for (status, body, message) in cases {
        let server = MockServer::start().await;
        serve(&server, status, body.as_bytes()).await;
        let err = client(&server)?.job(&id).await.err().ok_or("expected an error")?;
        assert_eq!(err.provider_message(), Some(message), "{status}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.attempts(), 1, "{status}: the adapter never retries on its own");
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1), "{status}");
        match status {
            402 => assert!((err).kind() == ErrorKind::PaymentRequired, "{err:?}"),
            429 => {
                assert!((err).kind() == ErrorKind::RateLimited, "{err:?}");
                assert!(err.is_retryable());
                assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(12)));
            }
            _ => {
                assert!((err).kind() == ErrorKind::AccountUnavailable, "{err:?}");
                assert!(!err.is_retryable(), "596 must never be retried");
                assert_eq!(err.provider_details().and_then(|d| d.code.as_deref()), Some("596"));
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn an_id_with_an_email_travels_as_one_encoded_segment() -> TestResult {
    let body = fixture("videos", "video-completed.json")?;

    // `:` and `@` are legal in a path segment and stay as they are.
    let server = MockServer::start().await;
    serve(&server, 200, &body).await;
    client(&server)?.job(&REAL_VIDEO_ID.parse()?).await?;
    assert_eq!(only_request(&server).await?.url.path(), format!("/v1/dreamina/videos/{REAL_VIDEO_ID}"));

    // `%`, `{`, `}`, `"` and backquote are legal in an e-mail's local part but not in a path.
    let awkward = "j0223140530123456789v-u12345-CA:first+tag%41{x}\"q\"`b@example.com-bot:dreamina";
    let server = MockServer::start().await;
    serve(&server, 200, &body).await;
    client(&server)?.job(&awkward.parse()?).await?;
    let path = only_request(&server).await?.url.path().to_owned();
    assert_eq!(
        path,
        "/v1/dreamina/videos/j0223140530123456789v-u12345-CA:first+tag%2541%7Bx%7D%22q%22%60b@example.com-bot:dreamina"
    );
    Ok(())
}

#[tokio::test]
async fn the_documented_placeholder_id_is_refused_before_any_request() -> TestResult {
    let server = MockServer::start().await;
    serve(&server, 200, b"{}").await;
    let documented: JobId = format!("j0223140530123456789v-u12345-CA:{CAPTURED_EMAIL_PLACEHOLDER}:dreamina").parse()?;
    let err = client(&server)?.job(&documented).await.err().ok_or("a placeholder id must not be sent")?;
    assert!((err).kind() == ErrorKind::InvalidInput, "{err:?}");
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0));
    Ok(())
}

#[test]
fn from_lookup_requires_the_useapi_token() {
    let err = TransportConfig::from_lookup(ENV, |_| None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("USEAPI_TOKEN"), "{err}");
    let blank = TransportConfig::from_lookup(ENV, |k| (k == "USEAPI_TOKEN").then(|| "  ".to_owned()));
    assert!(blank.as_ref().err().map(|e| e.kind()) == Some(ErrorKind::Config), "{blank:?}");
}

#[test]
fn from_lookup_defaults_to_api_useapi_net_and_hides_the_token() -> TestResult {
    let config = TransportConfig::from_lookup(ENV, |k| (k == "USEAPI_TOKEN").then(|| TOKEN.to_owned()))?;
    assert_eq!(config.base_url().as_str(), "https://api.useapi.net/");
    assert_eq!(ENV.default_base_url, "https://api.useapi.net");
    assert_eq!(config.token_hint(), "USEAPI_TOKEN");
    let client = DreaminaClient::new(config)?.with_endpoint(Endpoint::DreaminaVideos);
    for shown in [format!("{client:?}"), format!("{client:#?}")] {
        assert!(!shown.contains(TOKEN), "the token leaked into Debug: {shown}");
        assert!(shown.contains("api.useapi.net"), "{shown}");
    }

    let bad_url = TransportConfig::from_lookup(ENV, |k| match k {
        "USEAPI_TOKEN" => Some(TOKEN.to_owned()),
        _ => Some("not a url".to_owned()),
    });
    let message = bad_url.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("USEAPI_BASE_URL") && !message.contains(TOKEN), "{message}");
    Ok(())
}

#[tokio::test]
async fn a_token_echoed_by_the_server_is_masked() -> TestResult {
    let server = MockServer::start().await;
    let body = format!(r#"{{"error":"Invalid token {TOKEN}"}}"#);
    serve(&server, 401, body.as_bytes()).await;
    let err = client(&server)?.job(&REAL_VIDEO_ID.parse()?).await.err().ok_or("expected a 401")?;
    assert_eq!(err.provider_message(), Some("Invalid token ***"));
    assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN), "{err:?}");
    Ok(())
}
