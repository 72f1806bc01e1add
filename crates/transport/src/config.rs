//! Transport settings: a plain value the caller can build and swap.

use std::time::Duration;

use url::Url;

use crate::{ApiToken, ErrorKind};

/// Default cap on an API response body: job records are a few KiB, 8 MiB leaves ample room.
pub const DEFAULT_MAX_RESPONSE_SIZE: u64 = 8 * 1024 * 1024;

/// Default cap on a downloaded file: generated videos are tens of MiB; 2 GiB bounds disk use.
pub const DEFAULT_MAX_DOWNLOAD_SIZE: u64 = 2 * 1024 * 1024 * 1024;

/// Where a provider puts its hints beyond standard HTTP: declared by its adapter, read by the transport.
///
/// The transport reads `Retry-After` (seconds or a date) and the common `{"error": …}` bodies
/// (a string, or an object with `message`, `type`, `code`, `param`) for every API; anything a
/// provider adds on top is named here by its adapter, so the transport names no provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerHints {
    /// A header holding the wait before the next request in milliseconds; it wins over `Retry-After`.
    pub retry_after_ms_header: Option<&'static str>,
    /// A header holding the interval the server suggests between polls of a running job, in milliseconds.
    pub poll_after_ms_header: Option<&'static str>,
    /// A key of an error body (at its top or inside its `error` object) holding a wait in seconds.
    pub retry_after_body_key: Option<&'static str>,
}

impl ServerHints {
    /// No hint beyond standard HTTP.
    pub const NONE: Self = Self { retry_after_ms_header: None, poll_after_ms_header: None, retry_after_body_key: None };

    /// Declares a millisecond retry header.
    pub const fn with_retry_after_ms_header(mut self, name: &'static str) -> Self {
        self.retry_after_ms_header = Some(name);
        self
    }

    /// Declares a millisecond poll-interval header.
    pub const fn with_poll_after_ms_header(mut self, name: &'static str) -> Self {
        self.poll_after_ms_header = Some(name);
        self
    }

    /// Declares the error-body key holding a wait in seconds.
    pub const fn with_retry_after_body_key(mut self, key: &'static str) -> Self {
        self.retry_after_body_key = Some(key);
        self
    }
}

/// Everything [`HttpClient`](crate::HttpClient) needs to talk to one provider's API.
///
/// `Debug` is safe to log: the token prints as `ApiToken(***)`.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    base_url: Url,
    token: ApiToken,
    token_hint: &'static str,
    status_kinds: Vec<(u16, ErrorKind)>,
    hints: ServerHints,
    user_agent: String,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
    max_response_size: u64,
}

impl TransportConfig {
    /// Settings for the API under `base_url` (e.g. `https://api.example.com/v1/`) with defaults:
    /// user agent `genjob/<version>`, 10 s connect timeout, no request timeout of its own (the
    /// caller bounds each request: the genjob watcher with its one `request_timeout` option) and
    /// 8 MiB responses. Every request is a single attempt: retrying is the caller's business.
    pub fn new(base_url: Url, token: ApiToken) -> Self {
        Self {
            base_url,
            token,
            token_hint: "the configured API token",
            status_kinds: Vec::new(),
            hints: ServerHints::NONE,
            user_agent: concat!("genjob/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: None,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
        }
    }

    /// Names where the token comes from (e.g. `"EXAMPLE_TOKEN"`), so a 401 tells the user what to fix.
    pub fn with_token_hint(mut self, hint: &'static str) -> Self {
        self.token_hint = hint;
        self
    }

    /// Declares what a provider-specific status means (e.g. a status the provider uses for "this
    /// account can no longer be used", which retrying cannot fix); other statuses keep their HTTP meaning.
    pub fn with_status_kind(mut self, status: u16, kind: ErrorKind) -> Self {
        self.status_kinds.retain(|(s, _)| *s != status);
        self.status_kinds.push((status, kind));
        self
    }

    /// Declares where the provider puts its hints beyond standard HTTP (its adapter does this).
    pub fn with_server_hints(mut self, hints: ServerHints) -> Self {
        self.hints = hints;
        self
    }

    /// The hints declared with [`TransportConfig::with_server_hints`].
    pub fn server_hints(&self) -> ServerHints {
        self.hints
    }

    /// The statuses declared with [`TransportConfig::with_status_kind`].
    pub fn status_kinds(&self) -> &[(u16, ErrorKind)] {
        &self.status_kinds
    }

    /// Replaces the `User-Agent` header value.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets how long establishing a connection (TCP + TLS) may take.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bounds each API request, body included, for callers that use an adapter alone (the genjob
    /// watcher bounds every request itself, with its `request_timeout` option).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sets the largest API response body accepted, in bytes.
    pub fn with_max_response_size(mut self, bytes: u64) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// The API base URL every request path is appended to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The API token (prints redacted).
    pub fn token(&self) -> &ApiToken {
        &self.token
    }

    /// Where the token comes from, as quoted in 401 errors.
    pub fn token_hint(&self) -> &'static str {
        self.token_hint
    }

    /// The `User-Agent` header value.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The request timeout, when one was set.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The largest API response body accepted, in bytes.
    pub fn max_response_size(&self) -> u64 {
        self.max_response_size
    }
}
