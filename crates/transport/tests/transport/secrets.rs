//! The token never appears in errors, Debug output or tracing lines, even when a server echoes it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use genjob_transport::{ApiToken, DownloadConfig, Downloader, ErrorKind, HttpClient, TransportError};
use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TOKEN, TestResult, chunked_response, client, config, expect_err, raw_server};

/// Renders an error every way a caller might print it, sources included.
fn renderings(error: &TransportError) -> String {
    let mut text = format!("{error}\n{error:?}\n{error:#?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!("\n{cause}\n{cause:?}"));
        source = cause.source();
    }
    text
}

/// Collects every kind of error this crate can produce, with servers that echo the token.
async fn errors_of_every_kind() -> Result<Vec<TransportError>, Box<dyn std::error::Error>> {
    let server = MockServer::start().await;
    let echo_json = format!(r#"{{"error":"invalid token {TOKEN}","retryAfter":1}}"#);
    let echo_envelope =
        format!(r#"{{"error":{{"message":"bad key {TOKEN}","type":"{TOKEN}","param":"{TOKEN}","code":"{TOKEN}"}}}}"#);
    for status in [400u16, 401, 402, 403, 404, 410, 429, 500, 596, 418] {
        let body = if status % 2 == 0 { &echo_json } else { &echo_envelope };
        Mock::given(path(format!("/s/{status}")))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body.as_str(), "application/json"))
            .mount(&server)
            .await;
    }
    Mock::given(path("/html"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(format!("<html>token={TOKEN}</html>"), "text/html"))
        .mount(&server)
        .await;
    Mock::given(path("/invalid"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(format!("{{\"echo\":\"{TOKEN}\""), "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![b'x'; 4096], "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/small"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("ok", "text/plain"))
        .mount(&server)
        .await;
    Mock::given(path("/gone"))
        .respond_with(ResponseTemplate::new(410).set_body_raw(TOKEN, "text/plain"))
        .mount(&server)
        .await;
    let base = server.uri();
    let small = config(&base)?
        .with_request_timeout(Duration::from_millis(200))
        .with_max_response_size(1024)
        .with_status_kind(596, ErrorKind::AccountUnavailable);
    let client = HttpClient::new(small)?;
    let files =
        Downloader::new(DownloadConfig::new().with_max_size(1024).with_idle_timeout(Duration::from_millis(200)))?;

    let mut errors = Vec::new();
    for status in ["400", "401", "402", "403", "404", "410", "429", "500", "596", "418"] {
        errors.push(expect_err(client.get_json::<Value>(&["s", status]).await));
    }
    for endpoint in ["html", "invalid", "slow", "big"] {
        errors.push(expect_err(client.get_json::<Value>(&[endpoint]).await));
    }
    errors.push(expect_err(client.get_json::<Value>(&[&format!("{TOKEN} x")]).await));
    let refused = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let offline = crate::common::client(&format!("http://{refused}/"))?;
    errors.push(expect_err(offline.get_json::<Value>(&["x"]).await));

    let dir = tempfile::tempdir()?;
    errors.push(expect_err(files.download(&format!("{base}/gone?{TOKEN}"), dir.path(), "f").await));
    errors.push(expect_err(files.download(&format!("{base}/big"), dir.path(), "f").await));
    errors.push(expect_err(files.download(&format!("{base}/small?{TOKEN}"), &dir.path().join("none"), "f").await));
    errors.push(expect_err(files.download(&format!("{base}/x?sig={TOKEN}"), dir.path(), "../f").await));
    errors.push(expect_err(files.download(&format!("nope?{TOKEN}"), dir.path(), "f").await));
    let mut cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
    cut.extend_from_slice(TOKEN.as_bytes());
    let (addr, _) = raw_server(vec![cut, chunked_response(TOKEN, 8, 512)]).await?;
    let raw = client_with_limit(&format!("http://{addr}/"))?;
    errors.push(expect_err(files.download(&format!("http://{addr}/cut"), dir.path(), "f").await));
    errors.push(expect_err(raw.get_json::<Value>(&["chunked"]).await));

    errors.push(expect_err(ApiToken::new(format!("{TOKEN} {TOKEN}"))));
    errors.push(expect_err(crate::common::client("ftp://example.com/").map_err(
        |e| match e.downcast::<TransportError>() {
            Ok(error) => *error,
            Err(other) => panic!("not a TransportError: {other}"),
        },
    )));
    Ok(errors)
}

fn client_with_limit(base: &str) -> Result<HttpClient, Box<dyn std::error::Error>> {
    Ok(HttpClient::new(config(base)?.with_max_response_size(1024))?)
}

#[tokio::test]
async fn no_error_of_any_kind_shows_the_token() -> TestResult {
    let errors = errors_of_every_kind().await?;

    let kinds: std::collections::BTreeSet<String> = errors.iter().map(|e| format!("{:?}", e.kind())).collect();
    for kind in [
        "BadRequest",
        "Unauthorized",
        "PaymentRequired",
        "Forbidden",
        "NotFound",
        "Gone",
        "RateLimited",
        "Server",
        "AccountUnavailable",
        "UnexpectedStatus",
        "Timeout",
        "Network",
        "InvalidResponse",
        "TooLarge",
        "Truncated",
        "DownloadStatus",
        "Io",
        "InvalidInput",
        "Config",
    ] {
        assert!(kinds.contains(kind), "no {kind} error was produced: {kinds:?}");
    }
    for error in &errors {
        let text = renderings(error);
        assert!(!text.contains(TOKEN), "token leaked: {text}");
    }
    // The echoed message is still useful, with the token masked.
    let unauthorized = errors.iter().find(|e| e.status() == Some(401)).map(|e| e.to_string()).unwrap_or_default();
    assert!(unauthorized.contains("bad key ***") && unauthorized.contains("TEST_TOKEN"), "{unauthorized}");
    Ok(())
}

#[tokio::test]
async fn config_and_client_debug_hide_the_token() -> TestResult {
    let config = config("https://api.example.com/v1/")?;
    let client = HttpClient::new(config.clone())?;
    for text in [format!("{config:?}"), format!("{config:#?}"), format!("{client:?}"), format!("{}", config.token())] {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains("ApiToken(***)"), "{text}");
    }
    Ok(())
}

/// A `MakeWriter` target that keeps everything written, for inspecting tracing output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut out) = self.0.lock() {
            out.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tracing_records_requests_without_the_token() -> TestResult {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so the default subscriber sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(path("/v1/videos/j-1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(format!(r#"{{"echo":"{TOKEN}"}}"#), "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/videos/j-2"))
        .respond_with(
            ResponseTemplate::new(401).set_body_raw(format!(r#"{{"error":"bad {TOKEN}"}}"#), "application/json"),
        )
        .mount(&server)
        .await;
    let client = client(&format!("{}/v1/", server.uri()))?;
    client.get_json::<Value>(&["videos", "j-1"]).await?;
    let _ = client.get_json::<Value>(&["videos", "j-2"]).await;
    let dir = tempfile::tempdir()?;
    let files = Downloader::new(DownloadConfig::new())?;
    let _ = files.download(&format!("{}/v1/videos/j-1", server.uri()), dir.path(), "j.json").await?;

    let logs = captured.0.lock().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
    assert!(logs.contains("genjob_http"), "{logs}");
    assert!(logs.contains("path=\"/v1/videos/j-1\"") || logs.contains("path=/v1/videos/j-1"), "{logs}");
    assert!(logs.contains("status=401"), "{logs}");
    assert!(logs.contains("genjob_download"), "{logs}");
    assert!(!logs.contains(TOKEN), "{logs}");
    Ok(())
}
