//! A started sandbox plus a reqwest client, and helpers to read JSON and compare key lists.

use std::error::Error;
use std::time::Duration;

use genjob_sandbox::{Sandbox, SandboxConfig, SimClock};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub type TestResult = Result<(), Box<dyn Error + Send + Sync>>;

pub const TOKEN: &str = "sandbox-test-token";

/// A callback URL nothing listens on (the discard port): jobs that need a `reply_url` but no
/// receiver post there, refused at once without leaving the machine.
pub const NOWHERE: &str = "http://127.0.0.1:9/webhook";

/// A running sandbox and a client that sends its token.
pub struct Harness {
    pub sandbox: Sandbox,
    pub client: reqwest::Client,
}

/// An answer from the sandbox, body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

/// A sandbox at real speed: tests move its clock by hand with `advance` so stages are exact.
pub async fn start() -> Result<Harness, Box<dyn Error + Send + Sync>> {
    start_with(SandboxConfig {
        clock: Some(SimClock::new(1.0)?),
        token: Some(TOKEN.to_owned()),
        ..SandboxConfig::default()
    })
    .await
}

/// A sandbox whose clock moves only by `advance` (a billionth of real speed), so two requests
/// see the same simulated millisecond and their answers can be compared whole.
pub async fn start_still() -> Result<Harness, Box<dyn Error + Send + Sync>> {
    start_with(SandboxConfig {
        clock: Some(SimClock::new(1e-9)?),
        token: Some(TOKEN.to_owned()),
        ..SandboxConfig::default()
    })
    .await
}

pub async fn start_with(config: SandboxConfig) -> Result<Harness, Box<dyn Error + Send + Sync>> {
    let sandbox = Sandbox::start(([127, 0, 0, 1], 0).into(), config).await?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    Ok(Harness { sandbox, client })
}

/// Percent-encodes a path segment the way careful clients send job ids (`:` → `%3A`, `@` → `%40`).
pub fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    pub fn advance(&self, secs: u64) {
        self.sandbox.clock().advance(Duration::from_secs(secs));
    }

    pub fn advance_ms(&self, ms: u64) {
        self.sandbox.clock().advance(Duration::from_millis(ms));
    }

    /// GET `path` with the token.
    pub async fn get(&self, path: &str) -> Result<Answer, Box<dyn Error + Send + Sync>> {
        self.send(self.client.get(self.url(path)).bearer_auth(TOKEN)).await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, Box<dyn Error + Send + Sync>> {
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Answer { status, headers, json })
    }

    /// GET `path` and insist on 200.
    pub async fn record(&self, path: &str) -> Result<Value, Box<dyn Error + Send + Sync>> {
        let answer = self.get(path).await?;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {:?}", answer.json);
        Ok(answer.json)
    }
}

/// The keys of a JSON object in order (empty for non-objects).
pub fn keys(value: &Value) -> Vec<&str> {
    value.as_object().map(|map| map.keys().map(String::as_str).collect()).unwrap_or_default()
}

pub fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The numeric `Expires` of a sandbox output URL.
pub fn expires_of(url: &str) -> i64 {
    url.split_once("?Expires=").and_then(|(_, secs)| secs.parse().ok()).unwrap_or_default()
}
