//! The Google Flow adapter against a local wiremock server serving the documented fixtures.

use std::error::Error;
use std::time::Duration;

use genjob_google_flow::{ENV, GoogleFlowClient};
use genjob_models::{Endpoint, JobId, Provider, ProviderRecord};
use genjob_testkit::{self as testkit, Fixture, TestResult, authorization, json, only_request, serve};
use genjob_transport::{ErrorKind, JobSource, TransportConfig, TransportError};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

/// A token that must travel only in the `Authorization` header.
const TOKEN: &str = "flow-test-token-93b2d0";

/// The documented video job id (Google Flow ids are documented in their real form).
const VIDEO_ID: &str = "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow";

/// Where this provider's documented fixtures are.
const DIR: &str = "google-flow/jobs";

fn fixture(name: &str) -> Result<Vec<u8>, Box<dyn Error>> {
    testkit::fixture(DIR, name)
}

fn job_fixtures() -> Result<Vec<Fixture>, Box<dyn Error>> {
    testkit::job_fixtures(DIR)
}

/// A client for `server`, built the way `from_env` builds it, without retries.
fn client(server: &MockServer) -> Result<GoogleFlowClient, TransportError> {
    GoogleFlowClient::new(testkit::config(server, ENV, TOKEN)?)
}

#[tokio::test]
async fn every_job_fixture_is_read_from_the_jobs_endpoint() -> TestResult {
    for (name, body) in job_fixtures()? {
        let value: serde_json::Value = serde_json::from_slice(&body)?;
        let id: JobId = value["jobid"].as_str().ok_or("fixture without a string jobid")?.parse()?;
        let server = MockServer::start().await;
        serve(&server, json(200, &body)).await;
        let source = client(&server)?;
        let fetched = source.job(&id).await.map_err(|e| format!("{name}: {e}"))?;

        let request = only_request(&server).await?;
        assert_eq!(request.url.path(), format!("/v1/google-flow/jobs/{id}"), "{name}");
        assert_eq!(authorization(&request), Some(format!("Bearer {TOKEN}").as_str()), "{name}");

        let expected = ProviderRecord::from_slice(Endpoint::GoogleFlowJobs, &body)?;
        assert_eq!(fetched.record, expected, "{name}: record");
        assert_eq!(fetched.job, expected.normalize(), "{name}: normalized job");
        assert_eq!(fetched.job.provider, Provider::GoogleFlow, "{name}");
        assert_eq!(fetched.record.to_value(), value, "{name}: record does not round-trip");

        // The trait path reads the same thing.
        let server = MockServer::start().await;
        serve(&server, json(200, &body)).await;
        let via_trait: &dyn JobSource = &client(&server)?;
        assert_eq!(via_trait.provider(), Provider::GoogleFlow);
        assert_eq!(via_trait.fetch(&id).await?.job, fetched.job, "{name}: JobSource::fetch");
    }
    Ok(())
}

#[tokio::test]
async fn google_flow_has_no_executing_listing() -> TestResult {
    let server = MockServer::start().await;
    let source = client(&server)?;
    assert!(JobSource::listing(&source).is_none(), "no listing capability");
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0), "no request for a missing listing");
    Ok(())
}

#[tokio::test]
async fn documented_error_fixtures_map_to_typed_errors() -> TestResult {
    let id: JobId = VIDEO_ID.parse()?;
    for status in [400u16, 401, 403, 404, 410] {
        let name = format!("error-{status}.json");
        let body = fixture(&name)?;
        let server = MockServer::start().await;
        serve(&server, json(status, &body)).await;
        let err = client(&server)?.job(&id).await.err().ok_or(format!("{name}: expected an error"))?;

        let documented: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(err.provider_message(), documented["error"].as_str(), "{name}");
        assert_eq!(err.status(), Some(status), "{name}");
        assert!(!err.is_retryable(), "{name}");
        let variant_ok = match status {
            400 => (err).kind() == ErrorKind::BadRequest,
            401 => (err).kind() == ErrorKind::Unauthorized && err.to_string().contains("USEAPI_TOKEN"),
            403 => (err).kind() == ErrorKind::Forbidden,
            404 => (err).kind() == ErrorKind::NotFound,
            _ => (err).kind() == ErrorKind::Gone,
        };
        assert!(variant_ok, "{name}: {err:?} / {err}");
        assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN), "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn rate_limits_carry_the_retry_after_header() -> TestResult {
    let server = MockServer::start().await;
    let body = br#"{"error":"Too many requests, wait 5-10 seconds"}"#;
    serve(&server, json(429, body).insert_header("Retry-After", "7")).await;
    let err = client(&server)?.job(&VIDEO_ID.parse()?).await.err().ok_or("expected a 429")?;
    assert!((err).kind() == ErrorKind::RateLimited, "{err:?}");
    assert_eq!(err.provider_message(), Some("Too many requests, wait 5-10 seconds"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.attempts(), 1);
    Ok(())
}

#[tokio::test]
async fn the_adapter_never_retries_on_its_own() -> TestResult {
    // A 503 then the record: the adapter reports the 503 after one request; retrying is the
    // caller's decision (genjob's error policy), never the adapter's.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json(503, br#"{"error":"Service unavailable"}"#))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve(&server, json(200, &fixture("video-completed.json")?)).await;
    let err = client(&server)?.job(&VIDEO_ID.parse()?).await.err().ok_or("expected the 503")?;
    assert!(err.kind() == ErrorKind::Server && err.attempts() == 1 && err.is_retryable(), "{err:?}");
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1));
    Ok(())
}

#[tokio::test]
async fn an_id_with_an_email_travels_as_one_encoded_segment() -> TestResult {
    let body = fixture("video-completed.json")?;

    // `:`, `@` and `*` are legal in a path segment and stay as they are.
    let server = MockServer::start().await;
    serve(&server, json(200, &body)).await;
    client(&server)?.job(&VIDEO_ID.parse()?).await?;
    assert_eq!(only_request(&server).await?.url.path(), format!("/v1/google-flow/jobs/{VIDEO_ID}"));

    let awkward = "j1731859234567v-u12345-email:a%b{c}<d>@gmail.com-bot:google-flow";
    let server = MockServer::start().await;
    serve(&server, json(200, &body)).await;
    client(&server)?.job(&awkward.parse()?).await?;
    assert_eq!(
        only_request(&server).await?.url.path(),
        "/v1/google-flow/jobs/j1731859234567v-u12345-email:a%25b%7Bc%7D%3Cd%3E@gmail.com-bot:google-flow"
    );
    Ok(())
}

#[test]
fn from_lookup_requires_the_useapi_token() {
    let err = TransportConfig::from_lookup(ENV, |_| None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("USEAPI_TOKEN"), "{err}");
}

#[test]
fn from_lookup_defaults_to_api_useapi_net_and_hides_the_token() -> TestResult {
    let config = TransportConfig::from_lookup(ENV, |k| (k == "USEAPI_TOKEN").then(|| TOKEN.to_owned()))?;
    assert_eq!(config.base_url().as_str(), "https://api.useapi.net/");
    assert_eq!(config.token_hint(), "USEAPI_TOKEN");
    let client = GoogleFlowClient::new(config)?;
    for shown in [format!("{client:?}"), format!("{client:#?}")] {
        assert!(!shown.contains(TOKEN), "the token leaked into Debug: {shown}");
        assert!(shown.contains("api.useapi.net"), "{shown}");
    }
    Ok(())
}
