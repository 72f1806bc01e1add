//! The JSON GET path: success, path encoding, status errors, retries, timeouts, bad bodies, limits.

use std::time::Duration;

use genjob_transport::{ErrorKind, HttpClient, ServerHints, TransportError};
use serde::Deserialize;
use serde_json::Value;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TOKEN, TestResult, chunked_response, client, config, expect_err, raw_server};

const DREAMINA_ID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn success_carries_value_raw_body_and_counts() -> TestResult {
    let server = MockServer::start().await;
    let body = r#"{"jobid":"j1","status":"completed",  "extra":{"kept":true}}"#;
    Mock::given(method("GET"))
        .and(path("/v1/dreamina/videos/j1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let client = client(&format!("{}/v1/dreamina/", server.uri()))?;

    let fetched = client.get_json::<Value>(&["videos", "j1"]).await?;

    assert_eq!(fetched.value["status"], "completed");
    assert_eq!(fetched.body.as_ref(), body.as_bytes(), "raw bytes are kept verbatim");
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.attempts, 1);
    assert_eq!(fetched.retry_after, None);
    let received = server.received_requests().await.unwrap_or_default();
    let headers = &received[0].headers;
    assert_eq!(headers.get("authorization").map(|v| v.as_bytes()), Some(format!("Bearer {TOKEN}").as_bytes()));
    assert_eq!(headers.get("accept").map(|v| v.as_bytes()), Some(&b"application/json"[..]));
    assert_eq!(
        headers.get("user-agent").map(|v| v.as_bytes()),
        Some(concat!("genjob/", env!("CARGO_PKG_VERSION")).as_bytes())
    );
    Ok(())
}

#[tokio::test]
async fn real_form_ids_arrive_as_one_raw_segment() -> TestResult {
    let ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        .to_vec();
    let (addr, heads) = raw_server(vec![ok.clone(), ok.clone(), ok]).await?;
    // Without a trailing slash on the base the segments still go under its path.
    let client = client(&format!("http://{addr}/v1/dreamina"))?;

    client.get_json::<Value>(&["videos", DREAMINA_ID]).await?;
    client.get_json::<Value>(&["jobs", "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow"]).await?;
    client.get_json::<Value>(&["odd", "50%\"<{x}>`"]).await?;

    let heads = heads.await?;
    let lines: Vec<&str> = heads.iter().filter_map(|h| h.lines().next()).collect();
    assert_eq!(
        lines,
        [
            format!("GET /v1/dreamina/videos/{DREAMINA_ID} HTTP/1.1"),
            "GET /v1/dreamina/jobs/j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow HTTP/1.1".to_owned(),
            "GET /v1/dreamina/odd/50%25%22%3C%7Bx%7D%3E%60 HTTP/1.1".to_owned(),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn invalid_segments_never_reach_the_network() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let client = client(&server.uri())?;

    for bad in ["", "..", "a/b", "id?x=1", "id#frag", "two words", "line\nbreak"] {
        let error = expect_err(client.get_json::<Value>(&["videos", bad]).await);
        assert!((error).kind() == ErrorKind::InvalidInput, "{bad:?}: {error}");
        assert_eq!(error.status(), None);
        assert!(!error.is_retryable());
    }
    assert_eq!(requests(&server).await, 0);
    Ok(())
}

/// One row per status: what the server sends and what the caller must be able to read.
struct StatusCase {
    status: u16,
    body: &'static str,
    message: &'static str,
    advice: &'static str,
    retryable: bool,
}

#[tokio::test]
async fn every_error_status_maps_to_its_variant_with_the_provider_message() -> TestResult {
    let cases = [
        StatusCase {
            status: 400,
            body: r#"{"error":"Parameter jobid is invalid"}"#,
            message: "Parameter jobid is invalid",
            advice: "check the id",
            retryable: false,
        },
        StatusCase {
            status: 401,
            body: r#"{"error":"Unauthorized"}"#,
            message: "Unauthorized",
            advice: "check TEST_TOKEN",
            retryable: false,
        },
        StatusCase {
            status: 402,
            body: r#"{"error":{"message":"Insufficient balance","type":"insufficient_balance","param":null,"code":"insufficient_balance"}}"#,
            message: "Insufficient balance",
            advice: "add credits",
            retryable: false,
        },
        StatusCase {
            status: 403,
            body: r#"{"error":"Forbidden"}"#,
            message: "Forbidden",
            advice: "may read this resource",
            retryable: false,
        },
        StatusCase {
            status: 404,
            body: r#"{"error":"Job not found"}"#,
            message: "Job not found",
            advice: "retention period",
            retryable: false,
        },
        StatusCase {
            status: 410,
            body: r#"{"error":"Job expired"}"#,
            message: "Job expired",
            advice: "no longer be fetched",
            retryable: false,
        },
        StatusCase {
            status: 429,
            body: r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}"#,
            message: "Rate limit reached",
            advice: "wait",
            retryable: true,
        },
        StatusCase {
            status: 500,
            body: r#"{"error":"Internal error"}"#,
            message: "Internal error",
            advice: "try again later",
            retryable: true,
        },
        StatusCase {
            status: 503,
            body: r#"{"error":{"message":"Engine overloaded","type":"server_error"}}"#,
            message: "Engine overloaded",
            advice: "try again later",
            retryable: true,
        },
        StatusCase {
            status: 596,
            body: r#"{"error":"Account session expired","code":596}"#,
            message: "Account session expired",
            advice: "(re-add it), retrying will not help",
            retryable: false,
        },
        StatusCase {
            status: 418,
            body: r#"{"error":"I'm a teapot"}"#,
            message: "I'm a teapot",
            advice: "unexpected HTTP status 418",
            retryable: false,
        },
    ];
    let server = MockServer::start().await;
    for case in &cases {
        Mock::given(path(format!("/s/{}", case.status)))
            .respond_with(ResponseTemplate::new(case.status).set_body_raw(case.body, "application/json"))
            .mount(&server)
            .await;
    }
    // 596 is what an adapter declares (useapi.net: the account's session expired); the rest is HTTP.
    let declared = config(&server.uri())?.with_status_kind(596, ErrorKind::AccountUnavailable);
    let client = HttpClient::new(declared)?;

    for case in &cases {
        let code = case.status.to_string();
        let error = expect_err(client.get_json::<Value>(&["s", &code]).await);
        let variant_ok = match case.status {
            400 => (error).kind() == ErrorKind::BadRequest,
            401 => (error).kind() == ErrorKind::Unauthorized,
            402 => (error).kind() == ErrorKind::PaymentRequired,
            403 => (error).kind() == ErrorKind::Forbidden,
            404 => (error).kind() == ErrorKind::NotFound,
            410 => (error).kind() == ErrorKind::Gone,
            429 => (error).kind() == ErrorKind::RateLimited,
            500 | 503 => (error).kind() == ErrorKind::Server,
            596 => (error).kind() == ErrorKind::AccountUnavailable,
            _ => (error).kind() == ErrorKind::UnexpectedStatus,
        };
        assert!(variant_ok, "HTTP {}: wrong kind {error:?}", case.status);
        assert_eq!(error.status(), Some(case.status));
        assert_eq!(error.provider_message(), Some(case.message), "HTTP {}", case.status);
        assert_eq!(error.is_retryable(), case.retryable, "HTTP {}", case.status);
        assert_eq!(error.attempts(), 1);
        let text = error.to_string();
        assert!(text.contains(case.message) && text.contains(case.advice), "HTTP {}: {text}", case.status);
    }
    let payment = expect_err(client.get_json::<Value>(&["s", "402"]).await);
    let details = payment.provider_details().cloned().unwrap_or_default();
    assert_eq!(details.error_type.as_deref(), Some("insufficient_balance"));
    assert_eq!(details.code.as_deref(), Some("insufficient_balance"));
    Ok(())
}

#[tokio::test]
async fn retry_after_comes_from_header_seconds_or_date_else_body() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(path("/header"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "30")
                .set_body_raw(r#"{"error":"busy","retryAfter":5}"#, "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/date"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"))
        .mount(&server)
        .await;
    Mock::given(path("/body"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_raw(r#"{"error":"All accounts busy","retryAfter":12}"#, "application/json"),
        )
        .mount(&server)
        .await;
    // The body's key counts because the adapter declares it (an undeclared key is just text).
    let undeclared = expect_err(client(&server.uri())?.get_json::<Value>(&["body"]).await);
    assert_eq!(undeclared.retry_after(), None);
    let hints = ServerHints::NONE.with_retry_after_body_key("retryAfter");
    let client = HttpClient::new(config(&server.uri())?.with_server_hints(hints))?;

    let header = expect_err(client.get_json::<Value>(&["header"]).await);
    assert_eq!(header.retry_after(), Some(Duration::from_secs(30)), "the header wins over the body");
    let date = expect_err(client.get_json::<Value>(&["date"]).await);
    assert_eq!(date.retry_after(), Some(Duration::ZERO), "a past date means now");
    let body = expect_err(client.get_json::<Value>(&["body"]).await);
    assert_eq!(body.retry_after(), Some(Duration::from_secs(12)));
    assert!(body.to_string().contains("wait 12s"), "{body}");
    Ok(())
}

#[tokio::test]
async fn a_503_is_reported_after_one_attempt_however_the_next_would_answer() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(503)).up_to_n_times(1).mount(&server).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"ok":true}"#, "application/json"))
        .mount(&server)
        .await;
    let client = client(&server.uri())?;

    // Trying again would succeed, but that is the caller's decision: the transport sends one request.
    let error = expect_err(client.get_json::<Value>(&["jobs", "1"]).await);

    assert!(error.kind() == ErrorKind::Server && error.attempts() == 1 && error.is_retryable(), "{error:?}");
    assert_eq!(requests(&server).await, 1);
    let fetched = client.get_json::<Value>(&["jobs", "1"]).await?;
    assert_eq!((fetched.value["ok"].as_bool(), fetched.attempts), (Some(true), 1));
    Ok(())
}

#[tokio::test]
async fn a_429_returns_at_once_with_its_retry_after() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let client = client(&server.uri())?;

    let error = expect_err(client.get_json::<Value>(&["jobs", "1"]).await);

    assert!(error.kind() == ErrorKind::RateLimited && error.attempts() == 1, "{error:?}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(requests(&server).await, 1);
    Ok(())
}

#[tokio::test]
async fn account_session_expired_is_never_retried() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(596).set_body_raw(r#"{"error":"Session expired"}"#, "application/json"))
        .mount(&server)
        .await;
    let declared = config(&server.uri())?.with_status_kind(596, ErrorKind::AccountUnavailable);
    let client = HttpClient::new(declared)?;

    let error = expect_err(client.get_json::<Value>(&["jobs", "1"]).await);

    assert!(error.kind() == ErrorKind::AccountUnavailable && error.attempts() == 1, "{error:?}");
    assert_eq!(requests(&server).await, 1);
    Ok(())
}

#[tokio::test]
async fn a_slow_server_hits_the_request_timeout() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("{}", "application/json").set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let config = crate::common::config(&server.uri())?.with_request_timeout(Duration::from_millis(200));
    let client = genjob_transport::HttpClient::new(config)?;

    let error = expect_err(client.get_json::<Value>(&["jobs", "1"]).await);

    assert!(error.kind() == ErrorKind::Timeout && error.attempts() == 1, "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(requests(&server).await, 1);
    Ok(())
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_network_error() -> TestResult {
    // Bind then drop a listener to get a port nobody listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let client = client(&format!("http://{addr}/v1/"))?;

    let error = expect_err(client.get_json::<Value>(&["jobs", "1"]).await);

    assert!(error.kind() == ErrorKind::Network && error.attempts() == 1, "{error:?}");
    assert!(error.is_retryable());
    Ok(())
}

/// An HTML 502 from a proxy is classified by its status: a retryable `Server` error (one attempt) whose
/// provider details keep an excerpt of the page (there is no message to parse).
#[tokio::test]
async fn an_html_502_page_is_reported_with_an_excerpt() -> TestResult {
    let server = MockServer::start().await;
    let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>";
    Mock::given(any()).respond_with(ResponseTemplate::new(502).set_body_raw(page, "text/html")).mount(&server).await;
    let client = client(&server.uri())?;

    let error = expect_err(client.get_json::<Value>(&["jobs", "1"]).await);

    assert!(error.kind() == ErrorKind::Server && error.status() == Some(502) && error.attempts() == 1, "{error:?}");
    assert_eq!(error.provider_message(), None);
    let excerpt = error.provider_details().and_then(|d| d.excerpt.clone()).unwrap_or_default();
    assert!(excerpt.starts_with("<html>  <head><title>502 Bad Gateway"), "{excerpt}");
    assert!(error.to_string().contains("502 Bad Gateway"), "{error}");
    Ok(())
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // the field exists to make a shape mismatch possible
struct Job {
    jobid: String,
}

#[tokio::test]
async fn bodies_that_are_not_the_expected_json_are_invalid_responses() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(path("/truncated"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"jobid":"j1","status":"compl"#, "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/shape"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"status":"completed"}"#, "application/json"))
        .mount(&server)
        .await;
    let page = format!("<!DOCTYPE html><html><body>{}</body></html>", "ü".repeat(300));
    Mock::given(path("/html"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "text/html; charset=utf-8"))
        .mount(&server)
        .await;
    let client = client(&server.uri())?;

    let truncated = expect_err(client.get_json::<Job>(&["truncated"]).await);
    assert_eq!(
        (truncated.kind(), truncated.status(), truncated.attempts()),
        (ErrorKind::InvalidResponse, Some(200), 1)
    );
    let detail = truncated.detail();
    assert!(detail.contains("(content type application/json)"), "{detail}");
    assert!(detail.contains(r#"body starts with "{\"jobid\":\"j1\",\"status\":\"compl""#), "{detail}");
    assert!(detail.contains("EOF"), "serde's text is kept: {detail}");
    assert!(!truncated.is_retryable());

    let shape = expect_err(client.get_json::<Job>(&["shape"]).await);
    assert!(
        shape.kind() == ErrorKind::InvalidResponse && shape.detail().contains("missing field `jobid`"),
        "{shape:?}"
    );

    let html = expect_err(client.get_json::<Job>(&["html"]).await);
    assert_eq!(html.kind(), ErrorKind::InvalidResponse);
    let detail = html.detail();
    assert!(detail.contains("(content type text/html; charset=utf-8)"), "{detail}");
    let excerpt = detail.split("body starts with ").nth(1).unwrap_or_default();
    // The excerpt is quoted: 200 characters between the quotes.
    assert_eq!(excerpt.trim_matches('"').chars().count(), 200, "{excerpt}");
    assert!(excerpt.starts_with("\"<!DOCTYPE html><html><body>üü"), "{excerpt}");
    // Not retried: a wrong body is not a passing condition.
    assert_eq!(requests(&server).await, 3);
    Ok(())
}

#[tokio::test]
async fn an_oversized_body_with_content_length_is_refused() -> TestResult {
    let server = MockServer::start().await;
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(4096));
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(big, "application/json"))
        .mount(&server)
        .await;
    let config = crate::common::config(&server.uri())?.with_max_response_size(1024);
    let client = genjob_transport::HttpClient::new(config)?;

    let error = expect_err(client.get_json::<Value>(&["jobs", "1"]).await);

    assert!(error.kind() == ErrorKind::TooLarge && error.detail() == "1024" && error.attempts() == 1, "{error:?}");
    Ok(())
}

#[tokio::test]
async fn an_oversized_chunked_body_is_refused_while_streaming() -> TestResult {
    // 64 chunks of 1 KiB without Content-Length against a 4 KiB limit.
    let (addr, heads) = raw_server(vec![chunked_response("application/json", 64, 1024)]).await?;
    let config = crate::common::config(&format!("http://{addr}/"))?.with_max_response_size(4096);
    let client = genjob_transport::HttpClient::new(config)?;

    let error = expect_err(client.get_json::<Value>(&["jobs", "1"]).await);

    assert!(error.kind() == ErrorKind::TooLarge && error.detail() == "4096" && error.attempts() == 1, "{error:?}");
    assert_eq!(heads.await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_chunked_body_within_the_limit_is_read_whole() -> TestResult {
    let mut response =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for part in [r#"{"status":"#, r#""completed"}"#] {
        response.extend_from_slice(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes());
    }
    response.extend_from_slice(b"0\r\n\r\n");
    let (addr, _) = raw_server(vec![response]).await?;
    let client = client(&format!("http://{addr}/"))?;

    let fetched = client.get_json::<Value>(&["jobs", "1"]).await?;

    assert_eq!(fetched.value["status"], "completed");
    Ok(())
}

#[tokio::test]
async fn an_api_answer_is_accepted_only_from_the_configured_host() -> TestResult {
    let api = MockServer::start().await;
    let other = MockServer::start().await;
    // Same host and port: the header must survive, proving the next assertion can fail.
    Mock::given(path("/same"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", format!("{}/landing", api.uri())))
        .mount(&api)
        .await;
    Mock::given(path("/landing"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(&api)
        .await;
    // Another host name and port.
    let foreign = format!("http://localhost:{}/landing", other.address().port());
    Mock::given(path("/away"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", foreign.as_str()))
        .mount(&api)
        .await;
    Mock::given(path("/landing"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(&other)
        .await;
    let client = client(&api.uri())?;

    client.get_json::<Value>(&["same"]).await?;
    let refused = expect_err(client.get_json::<Value>(&["away"]).await);
    assert!(refused.kind() == ErrorKind::InvalidResponse && refused.to_string().contains("another host"), "{refused}");

    let at_api = api.received_requests().await.unwrap_or_default();
    let landing = at_api.iter().find(|r| r.url.path() == "/landing").map(|r| r.headers.contains_key("authorization"));
    assert_eq!(landing, Some(true), "same-host redirects keep the header");
    let away = at_api.iter().find(|r| r.url.path() == "/away").map(|r| r.headers.contains_key("authorization"));
    assert_eq!(away, Some(true));
    let at_other = other.received_requests().await.unwrap_or_default();
    assert!(at_other.is_empty(), "another host is never asked: {at_other:?}");
    Ok(())
}

#[tokio::test]
async fn bad_base_urls_are_refused_up_front() -> TestResult {
    for base in
        ["ftp://example.com/", "mailto:ops@example.com", "https://u:p@example.com/", "https://example.com/v1?x=1"]
    {
        let result = client(base);
        let error = match result {
            Ok(client) => panic!("{base} was accepted: {client:?}"),
            Err(error) => error,
        };
        let error = error.downcast::<TransportError>().map_err(|e| format!("{base}: {e}"))?;
        assert!((error).kind() == ErrorKind::Config, "{base}: {error:?}");
    }
    Ok(())
}
