//! The token360 adapter against a local wiremock server serving the documented fixtures.

use std::error::Error;

use genjob_models::{Endpoint, JobId, JobStatus, Provider, ProviderRecord};
use genjob_testkit::{self as testkit, Fixture, TestResult, json, only_request, serve};
use genjob_token360::{ENV, Token360Client};
use genjob_transport::{DownloadConfig, ErrorKind, JobSource, ServedOutput, TransportConfig, TransportError};
use std::collections::HashMap;

use genjob_transport::ListingScope;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A key that must travel only in the `Authorization` header.
const TOKEN: &str = "sk-t360-test-4e7a11";

/// Where this provider's documented fixtures are.
const DIR: &str = "token360/videos";

fn job_fixtures() -> Result<Vec<Fixture>, Box<dyn Error>> {
    testkit::job_fixtures(DIR)
}

fn completed_fixture() -> Result<Vec<u8>, Box<dyn Error>> {
    testkit::fixture(DIR, "video-completed.json")
}

/// A client for `server`, built the way `from_env` builds it, without retries.
fn client(server: &MockServer) -> Result<Token360Client, TransportError> {
    Token360Client::new(testkit::config(server, ENV, TOKEN)?)
}

#[tokio::test]
async fn every_video_fixture_is_read_from_the_videos_endpoint() -> TestResult {
    for (name, body) in job_fixtures()? {
        let value: serde_json::Value = serde_json::from_slice(&body)?;
        let id: JobId = value["id"].as_str().ok_or("fixture without a string id")?.parse()?;
        let server = MockServer::start().await;
        serve(&server, json(200, &body)).await;
        let fetched = client(&server)?.video(&id).await.map_err(|e| format!("{name}: {e}"))?;

        let request = only_request(&server).await?;
        assert_eq!(request.url.path(), format!("/v1/videos/{id}"), "{name}");
        let auth = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        assert_eq!(auth, Some(format!("Bearer {TOKEN}").as_str()), "{name}");

        let expected = ProviderRecord::from_slice(Endpoint::Token360Videos, &body)?;
        assert_eq!(fetched.record, expected, "{name}: record");
        assert_eq!(fetched.job, expected.normalize(), "{name}: normalized job");
        assert_eq!(fetched.job.provider, Provider::Token360, "{name}");
        assert_eq!(fetched.record.to_value(), value, "{name}: record does not round-trip");
    }
    Ok(())
}

#[tokio::test]
async fn the_completed_fixture_normalizes_to_a_completed_job() -> TestResult {
    let server = MockServer::start().await;
    serve(&server, json(200, &completed_fixture()?)).await;
    let source: &dyn JobSource = &client(&server)?;
    let fetched = source.fetch(&"your-video-id".parse()?).await?;
    assert_eq!(source.provider(), Provider::Token360);
    assert_eq!(fetched.job.status, JobStatus::Completed);
    assert_eq!(fetched.job.progress, Some(100));
    assert_eq!(fetched.job.id, "your-video-id");
    Ok(())
}

/// An OpenAI-style video object of the list: `created_at` seconds, a status, no URL.
fn video(id: &str, created_at: i64, status: &str) -> serde_json::Value {
    serde_json::json!({ "id": id, "object": "video", "status": status, "created_at": created_at, "progress": 50 })
}

/// Serves the account's videos newest first, `limit`/`after` paginated, as an OpenAI-style server does.
async fn serve_list(server: &MockServer, videos: Vec<serde_json::Value>) {
    Mock::given(method("GET"))
        .and(path("/v1/videos"))
        .respond_with(move |request: &Request| {
            let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
            let limit = query.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(20);
            let start = query
                .get("after")
                .and_then(|after| videos.iter().position(|v| v["id"] == after.as_str()).map(|i| i + 1))
                .unwrap_or(0);
            let page: Vec<_> = videos.iter().skip(start).take(limit).cloned().collect();
            let body = serde_json::json!({
                "object": "list", "data": page, "has_more": start + limit < videos.len(),
                "first_id": page.first().map(|v| v["id"].clone()), "last_id": page.last().map(|v| v["id"].clone()),
            });
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(server)
        .await;
}

async fn list_requests(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.url.path() == "/v1/videos")
        .map(|r| r.url.query().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_list_reads_only_the_pages_that_reach_the_watched_videos() -> TestResult {
    let server = MockServer::start().await;
    // 250 videos, newest first: video_249 … video_0, one second apart.
    let videos: Vec<_> =
        (0..250).rev().map(|i| video(&format!("video_{i}"), 1_800_000_000 + i, "in_progress")).collect();
    serve_list(&server, videos).await;
    let source = client(&server)?;
    let listing = JobSource::listing(&source).ok_or("token360 lists its videos")?;
    assert!(listing.covers(&"video_1".parse()?));

    // The watched videos are on the first page: one request.
    let scope = ListingScope::new(vec!["video_249".into(), "video_200".into()], None);
    let entries = listing.list(&scope).await?;
    assert_eq!(entries.len(), 100);
    assert_eq!(list_requests(&server).await, ["limit=100"]);
    let first = &entries[0];
    assert_eq!((first.id.as_str(), first.status, first.progress), ("video_249", Some(JobStatus::Running), Some(50)));
    assert_eq!(first.created_at.map(|t| t.as_second()), Some(1_800_000_249));

    // One watched video on the third page: three requests, following `after`.
    server.reset().await;
    serve_list(&server, (0..250).rev().map(|i| video(&format!("video_{i}"), 1_800_000_000 + i, "queued")).collect())
        .await;
    let entries = listing.list(&ListingScope::new(vec!["video_10".into()], None)).await?;
    assert_eq!(entries.len(), 250);
    assert_eq!(list_requests(&server).await, ["limit=100", "limit=100&after=video_150", "limit=100&after=video_50"]);

    // A video the list never shows stops at the oldest watched creation time, not at the end.
    server.reset().await;
    serve_list(&server, (0..250).rev().map(|i| video(&format!("video_{i}"), 1_800_000_000 + i, "queued")).collect())
        .await;
    let oldest = jiff::Timestamp::from_second(1_800_000_200)?;
    let entries = listing.list(&ListingScope::new(vec!["video_gone".into()], Some(oldest))).await?;
    // The second page reaches 60 s before the oldest watched video: no third page.
    assert_eq!(entries.len(), 200);
    assert_eq!(list_requests(&server).await.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_completed_openai_style_video_is_fetched_through_content_as_a_link_or_as_bytes() -> TestResult {
    let server = MockServer::start().await;
    let record = serde_json::json!({ "id": "video_1", "object": "video", "status": "completed", "created_at": 1 });
    // token360 documents a JSON link; the OpenAI API answers the file itself.
    Mock::given(path("/v1/videos/video_1/content"))
        .and(query_param("variant", "video"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({ "url": "https://files.example/v1.mp4?sig=1", "video_id": "video_1", "expires_in": 3600 }),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/videos/video_2/content"))
        .and(query_param("variant", "video"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"\0\0\0\x18ftypmp42 the video".to_vec(), "video/mp4"))
        .mount(&server)
        .await;
    let source = client(&server)?;
    let job = ProviderRecord::from_value(Endpoint::Token360Videos, record)?.normalize();
    assert!(job.outputs.is_empty(), "OpenAI's video object names no file");
    let outputs = JobSource::outputs(&source, &"video_1".parse()?, &job).await?;
    assert_eq!(outputs.len(), 1);
    assert!(source.serves(&outputs[0]), "the API serves it, with the token: {}", outputs[0].url);
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), 0, "naming the output asks nothing");

    let dir = tempfile::tempdir()?;
    let limits = DownloadConfig::new();
    let link = source.fetch_output(&"video_1".parse()?, &outputs[0], dir.path(), &limits).await?;
    assert!(matches!(&link, ServedOutput::Link(url) if url == "https://files.example/v1.mp4?sig=1"), "{link:?}");
    let video_2 = JobSource::outputs(&source, &"video_2".parse()?, &job).await?;
    let ServedOutput::File(file) = source.fetch_output(&"video_2".parse()?, &video_2[0], dir.path(), &limits).await?
    else {
        panic!("bytes are the file itself");
    };
    assert_eq!(file.content_type(), Some("video/mp4"));
    let kept = file.persist("v2.mp4", false).map_err(|e| e.error)?;
    assert_eq!(std::fs::read(&kept.path)?, b"\0\0\0\x18ftypmp42 the video");

    // A record that names its file needs no request.
    let with_url = ProviderRecord::from_slice(Endpoint::Token360Videos, &completed_fixture()?)?.normalize();
    let before = server.received_requests().await.map_or(0, |r| r.len());
    assert_eq!(JobSource::outputs(&source, &"your-video-id".parse()?, &with_url).await?, with_url.outputs);
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), before);
    Ok(())
}

#[tokio::test]
async fn openai_style_errors_map_to_typed_errors() -> TestResult {
    let envelope = |message: &str, kind: &str, code: &str| {
        format!(r#"{{"error":{{"message":"{message}","type":"{kind}","param":null,"code":"{code}"}}}}"#)
    };
    let cases = [
        (401u16, envelope("Invalid API key", "authentication_error", "invalid_api_key"), "Invalid API key"),
        (402, envelope("Insufficient balance", "insufficient_balance", "insufficient_balance"), "Insufficient balance"),
        (429, envelope("Rate limit exceeded", "rate_limit_error", "rate_limit_exceeded"), "Rate limit exceeded"),
        (503, envelope("The engine is overloaded", "server_error", "overloaded"), "The engine is overloaded"),
        (404, envelope("Video not found", "invalid_request_error", "not_found"), "Video not found"),
    ];
    let id: JobId = "video_6843f1a2b3c4".parse()?;
    for (status, body, message) in cases {
        let server = MockServer::start().await;
        serve(&server, json(status, body.as_bytes())).await;
        let err = client(&server)?.video(&id).await.err().ok_or(format!("{status}: expected an error"))?;
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.provider_message(), Some(message), "{status}");
        let details = err.provider_details().ok_or("status errors carry details")?;
        let documented: serde_json::Value = serde_json::from_str(&body)?;
        assert_eq!(details.error_type.as_deref(), documented["error"]["type"].as_str(), "{status}");
        assert_eq!(details.code.as_deref(), documented["error"]["code"].as_str(), "{status}");
        assert_eq!(details.param, None, "{status}: a null param is absent");
        let variant_ok = match status {
            401 => (err).kind() == ErrorKind::Unauthorized && err.to_string().contains("TOKEN360_API_KEY"),
            402 => (err).kind() == ErrorKind::PaymentRequired,
            429 => (err).kind() == ErrorKind::RateLimited && err.is_retryable(),
            503 => err.kind() == ErrorKind::Server && err.status() == Some(503) && err.is_retryable(),
            _ => (err).kind() == ErrorKind::NotFound,
        };
        assert!(variant_ok, "{status}: {err:?} / {err}");
        assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN), "{status}");
    }
    Ok(())
}

#[tokio::test]
async fn the_adapter_never_retries_on_its_own() -> TestResult {
    // A 429 with a zero Retry-After, then the record: the adapter reports the 429 after one request;
    // retrying is the caller's decision (genjob's error policy), never the adapter's.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            json(429, br#"{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}"#)
                .insert_header("Retry-After", "0"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve(&server, json(200, &completed_fixture()?)).await;
    let client = client(&server)?;
    let id = "your-video-id".parse()?;
    let err = client.video(&id).await.err().ok_or("expected the 429")?;
    assert!(err.kind() == ErrorKind::RateLimited && err.attempts() == 1, "{err:?}");
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1));
    // Whatever /content answers (here a record, not a link), it is asked once.
    drop(client.content(&id).await);
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2), "/content: one request too");
    Ok(())
}

#[tokio::test]
async fn an_opaque_id_travels_as_one_encoded_segment() -> TestResult {
    let server = MockServer::start().await;
    serve(&server, json(200, &completed_fixture()?)).await;
    client(&server)?.video(&"video_a%b{c}:d@e".parse()?).await?;
    assert_eq!(only_request(&server).await?.url.path(), "/v1/videos/video_a%25b%7Bc%7D:d@e");
    Ok(())
}

#[tokio::test]
async fn ids_that_would_change_the_path_are_refused() -> TestResult {
    // `/`, `?` and `#` are refused by the id parser; `..` passes it and must be refused by the transport.
    assert!("a/b".parse::<JobId>().is_err());
    let server = MockServer::start().await;
    serve(&server, json(200, &completed_fixture()?)).await;
    let err = client(&server)?.video(&"..".parse()?).await.err().ok_or("`..` must not be sent")?;
    assert!((err).kind() == ErrorKind::InvalidInput, "{err:?}");
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0));
    Ok(())
}

#[test]
fn from_lookup_requires_the_token360_api_key() {
    let err = TransportConfig::from_lookup(ENV, |_| None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("TOKEN360_API_KEY"), "{err}");
    // The useapi.net variable is not a stand-in for token360's.
    let wrong = TransportConfig::from_lookup(ENV, |k| (k == "USEAPI_TOKEN").then(|| TOKEN.to_owned()));
    assert!(wrong.as_ref().err().map(|e| e.kind()) == Some(ErrorKind::Config), "{wrong:?}");
}

#[test]
fn from_lookup_defaults_to_api_token360_ai_and_hides_the_token() -> TestResult {
    let config = TransportConfig::from_lookup(ENV, |k| (k == "TOKEN360_API_KEY").then(|| TOKEN.to_owned()))?;
    assert_eq!(config.base_url().as_str(), "https://api.token360.ai/");
    assert_eq!(config.token_hint(), "TOKEN360_API_KEY");
    let client = Token360Client::new(config)?;
    for shown in [format!("{client:?}"), format!("{client:#?}")] {
        assert!(!shown.contains(TOKEN), "the token leaked into Debug: {shown}");
        assert!(shown.contains("api.token360.ai"), "{shown}");
    }
    Ok(())
}
