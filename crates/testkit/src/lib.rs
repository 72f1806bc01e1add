//! Test helpers the adapter crates share: the documented fixtures, and a wiremock server to serve them.
//!
//! Only what every adapter test needs lives here; what an adapter does differently stays in its tests.
//! With the `browser` feature, [`browser`] starts headless Chromium for the dashboard's tests and the bench;
//! with `relay`, [`relay`] puts a server a test can cut off behind a TCP relay.

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(feature = "relay")]
pub mod relay;

use genjob_transport::{EnvNames, TransportConfig, TransportError};
use std::error::Error;
use std::path::PathBuf;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// What a test returns: `?` works on any error.
pub type TestResult = Result<(), Box<dyn Error>>;

/// A fixture file name and its bytes.
pub type Fixture = (String, Vec<u8>);

/// `fixtures/<dir>` of the workspace (e.g. `dreamina/videos`).
pub fn fixtures_dir(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(dir)
}

/// The bytes of `fixtures/<dir>/<name>`.
pub fn fixture(dir: &str, name: &str) -> Result<Vec<u8>, Box<dyn Error>> {
    let path = fixtures_dir(dir).join(name);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}

/// Every job-record fixture (not `error-*`) of `fixtures/<dir>`, sorted by name; an empty directory is an error.
pub fn job_fixtures(dir: &str) -> Result<Vec<Fixture>, Box<dyn Error>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir(dir))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !name.starts_with("error-") {
            let body = fixture(dir, &name)?;
            found.push((name, body));
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(format!("no job fixtures under {dir}").into());
    }
    Ok(found)
}

/// The configuration an adapter builds from its environment variables, pointed at `server`
/// with `token` (every request is one request: the transport never retries).
pub fn config(server: &MockServer, names: EnvNames, token: &str) -> Result<TransportConfig, TransportError> {
    let uri = server.uri();
    TransportConfig::from_lookup(names, |k| {
        if k == names.token {
            Some(token.to_owned())
        } else if k == names.base_url {
            Some(uri.clone())
        } else {
            None
        }
    })
}

/// A JSON answer with `status`.
pub fn json(status: u16, body: &[u8]) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_vec(), "application/json")
}

/// Answers every GET with `response`.
pub async fn serve(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("GET")).respond_with(response).mount(server).await;
}

/// The one request the server received; an error when there were none or several.
pub async fn only_request(server: &MockServer) -> Result<Request, Box<dyn Error>> {
    let mut requests = server.received_requests().await.ok_or("request recording is off")?;
    if requests.len() != 1 {
        return Err(format!("expected exactly one request, got {}", requests.len()).into());
    }
    Ok(requests.remove(0))
}

/// The request's `Authorization` header, if any.
pub fn authorization(request: &Request) -> Option<&str> {
    request.headers.get("authorization").and_then(|v| v.to_str().ok())
}
