//! The transport's error type and the parsing of provider error bodies.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::ApiToken;

/// The longest excerpt of a body quoted in an error, in characters.
const EXCERPT_CHARS: usize = 200;

/// The longest provider message kept, in characters; a server could send a whole page.
const MESSAGE_CHARS: usize = 1000;

/// Everything that can go wrong between building a request and holding its decoded result.
///
/// HTTP status errors carry what the provider said ([`ProviderMessage`]); errors from a network
/// exchange carry `attempts`, the number of requests sent (retries included). No variant ever
/// holds the API token: provider text is scrubbed of it before it is stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The configuration cannot work (bad base URL, bad token, client construction failed).
    #[error("invalid transport configuration: {reason}")]
    Config {
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// A path segment was refused before any request was sent.
    #[error("invalid path segment {segment:?}: {reason}; pass the id exactly as the provider returned it")]
    InvalidSegment {
        /// The refused segment.
        segment: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A download was refused before any request was sent (bad URL or file name).
    #[error("cannot download {url}: {reason}")]
    InvalidDownload {
        /// The URL without its query (signed URLs carry their signature there).
        url: String,
        /// Why it was refused.
        reason: String,
    },

    /// HTTP 400: the provider rejected the request as malformed.
    #[error("the provider rejected the request (HTTP 400): {message}; check the id and parameters")]
    InvalidRequest {
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// Requests sent.
        attempts: u32,
    },

    /// HTTP 401: the API token is missing, wrong or revoked.
    #[error("the provider rejected the API token (HTTP 401): {message}; check {token_hint}")]
    Unauthorized {
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// Where the token comes from (from the config).
        token_hint: &'static str,
        /// Requests sent.
        attempts: u32,
    },

    /// HTTP 402: the subscription or the credits ran out.
    #[error("payment required (HTTP 402): {message}; renew the subscription or add credits with the provider")]
    PaymentRequired {
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// Requests sent.
        attempts: u32,
    },

    /// HTTP 403: the token may not read this resource.
    #[error("access denied (HTTP 403): {message}; check that this token's account may read this resource")]
    Forbidden {
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// Requests sent.
        attempts: u32,
    },

    /// HTTP 404: no such record (wrong id, or deleted after the provider's retention period).
    #[error("not found (HTTP 404): {message}; check the id (providers delete jobs after their retention period)")]
    NotFound {
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// Requests sent.
        attempts: u32,
    },

    /// HTTP 410: the record existed but has expired.
    #[error("gone (HTTP 410): {message}; the record has expired and can no longer be fetched")]
    Expired {
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// Requests sent.
        attempts: u32,
    },

    /// HTTP 429: too many requests or no free capacity; wait before asking again.
    #[error("rate limited (HTTP 429) after {attempts} attempt(s): {message}; {}", wait_advice(*.retry_after))]
    RateLimited {
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// The delay the server asked for (`Retry-After` header, else `retryAfter` in the body).
        retry_after: Option<Duration>,
        /// Requests sent.
        attempts: u32,
    },

    /// HTTP 5xx (except 596): the provider failed; usually temporary.
    #[error("server error (HTTP {status}) after {attempts} attempt(s): {message}; try again later")]
    Server {
        /// The HTTP status.
        status: u16,
        /// What the provider said (for HTML error pages: an excerpt of the page).
        message: Box<ProviderMessage>,
        /// The delay the server asked for, if any.
        retry_after: Option<Duration>,
        /// Requests sent.
        attempts: u32,
    },

    /// HTTP 596 (useapi.net): the provider account's session expired; never retried.
    #[error(
        "the provider account's session expired (HTTP 596): {message}; re-add the account at the provider, retrying will not help"
    )]
    AccountSessionExpired {
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// Requests sent.
        attempts: u32,
    },

    /// Any other non-success status.
    #[error("unexpected HTTP status {status}: {message}")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// What the provider said.
        message: Box<ProviderMessage>,
        /// Requests sent.
        attempts: u32,
    },

    /// No response (or no next body chunk) within the request timeout.
    #[error(
        "no response within {timeout:?} after {attempts} attempt(s); check the network or raise the request timeout"
    )]
    Timeout {
        /// The timeout that ran out.
        timeout: Duration,
        /// Requests sent.
        attempts: u32,
    },

    /// The connection failed or broke (DNS, refused, reset, TLS, redirect loop).
    #[error("network error after {attempts} attempt(s): {detail}; check the network and the base URL")]
    Network {
        /// The underlying error chain (URLs without query).
        detail: String,
        /// Requests sent.
        attempts: u32,
    },

    /// A success status whose body is not the expected JSON (HTML page, truncated JSON, wrong shape).
    #[error(
        "the response (HTTP {status}, content type {}) is not the expected JSON: {reason}; body starts with {excerpt:?}",
        content_type.as_deref().unwrap_or("none")
    )]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// The first characters of the body (at most 200).
        excerpt: String,
        /// The decoder's explanation (serde's message with line and column).
        reason: String,
        /// Requests sent.
        attempts: u32,
    },

    /// The body exceeded the configured maximum; reading stopped there.
    #[error(
        "the response exceeds the {limit}-byte limit; raise max_response_size / max_download_size if it is expected"
    )]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// Requests sent.
        attempts: u32,
    },

    /// A download body ended early (connection closed before all bytes arrived).
    #[error(
        "the download ended after {received} bytes{}; the connection was cut, try again",
        expected.map(|e| format!(" of {e}")).unwrap_or_default()
    )]
    Truncated {
        /// The announced length, if the server sent one.
        expected: Option<u64>,
        /// The bytes actually received.
        received: u64,
        /// Requests sent.
        attempts: u32,
    },

    /// A download answered with a non-success status.
    #[error("download of {url} failed with HTTP {status}{}", download_advice(*.status))]
    DownloadStatus {
        /// The HTTP status.
        status: u16,
        /// The URL without its query (the signature stays out of messages).
        url: String,
        /// The delay the server asked for, if any.
        retry_after: Option<Duration>,
        /// Requests sent.
        attempts: u32,
    },

    /// Writing the downloaded file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

fn wait_advice(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(delay) => format!("the server asked to wait {delay:?} before the next request"),
        None => "wait before the next request".to_owned(),
    }
}

fn download_advice(status: u16) -> &'static str {
    match status {
        403 | 410 => "; the signed URL has probably expired: fetch the job again for a fresh URL",
        429 => "; too many downloads, wait and try again",
        500..=599 => "; the file server failed, try again later",
        _ => "",
    }
}

impl TransportError {
    /// The HTTP status behind this error, if a response was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::InvalidRequest { .. } => Some(400),
            Self::Unauthorized { .. } => Some(401),
            Self::PaymentRequired { .. } => Some(402),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Expired { .. } => Some(410),
            Self::RateLimited { .. } => Some(429),
            Self::AccountSessionExpired { .. } => Some(596),
            Self::Server { status, .. }
            | Self::Unexpected { status, .. }
            | Self::InvalidResponse { status, .. }
            | Self::DownloadStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying again later can succeed: 429, 5xx except 596, timeouts, broken connections.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. }
            | Self::Server { .. }
            | Self::Timeout { .. }
            | Self::Network { .. }
            | Self::Truncated { .. } => true,
            Self::DownloadStatus { status, .. } => *status == 429 || is_retryable_5xx(*status),
            _ => false,
        }
    }

    /// Whether a download failed because its signed URL expired (403 or 410): fetch the job again.
    pub fn is_expired_url(&self) -> bool {
        matches!(self, Self::DownloadStatus { status: 403 | 410, .. })
    }

    /// The delay the server asked for before the next request, if it named one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. }
            | Self::Server { retry_after, .. }
            | Self::DownloadStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The provider's error message text, if the error body carried one.
    pub fn provider_message(&self) -> Option<&str> {
        self.provider_details().and_then(|m| m.message.as_deref())
    }

    /// Everything parsed from the provider's error body (message, type, code, param, excerpt).
    pub fn provider_details(&self) -> Option<&ProviderMessage> {
        match self {
            Self::InvalidRequest { message, .. }
            | Self::Unauthorized { message, .. }
            | Self::PaymentRequired { message, .. }
            | Self::Forbidden { message, .. }
            | Self::NotFound { message, .. }
            | Self::Expired { message, .. }
            | Self::RateLimited { message, .. }
            | Self::Server { message, .. }
            | Self::AccountSessionExpired { message, .. }
            | Self::Unexpected { message, .. } => Some(message.as_ref()),
            _ => None,
        }
    }

    /// The number of requests sent before this error, for errors from a network exchange.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Self::InvalidRequest { attempts, .. }
            | Self::Unauthorized { attempts, .. }
            | Self::PaymentRequired { attempts, .. }
            | Self::Forbidden { attempts, .. }
            | Self::NotFound { attempts, .. }
            | Self::Expired { attempts, .. }
            | Self::RateLimited { attempts, .. }
            | Self::Server { attempts, .. }
            | Self::AccountSessionExpired { attempts, .. }
            | Self::Unexpected { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::Network { attempts, .. }
            | Self::InvalidResponse { attempts, .. }
            | Self::TooLarge { attempts, .. }
            | Self::Truncated { attempts, .. }
            | Self::DownloadStatus { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// Sets the attempt count once the retry loop knows it (single attempts report 0 until then).
    pub(crate) fn with_attempts(mut self, count: u32) -> Self {
        match &mut self {
            Self::InvalidRequest { attempts, .. }
            | Self::Unauthorized { attempts, .. }
            | Self::PaymentRequired { attempts, .. }
            | Self::Forbidden { attempts, .. }
            | Self::NotFound { attempts, .. }
            | Self::Expired { attempts, .. }
            | Self::RateLimited { attempts, .. }
            | Self::Server { attempts, .. }
            | Self::AccountSessionExpired { attempts, .. }
            | Self::Unexpected { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::Network { attempts, .. }
            | Self::InvalidResponse { attempts, .. }
            | Self::TooLarge { attempts, .. }
            | Self::Truncated { attempts, .. }
            | Self::DownloadStatus { attempts, .. } => *attempts = count,
            _ => {}
        }
        self
    }

    /// Maps a non-success API status to its variant.
    pub(crate) fn from_status(
        status: u16,
        message: ProviderMessage,
        retry_after: Option<Duration>,
        token_hint: &'static str,
    ) -> Self {
        let attempts = 0;
        // Boxed: the message is the bulk of the error, and errors travel in every Result.
        let message = Box::new(message);
        match status {
            400 => Self::InvalidRequest { message, attempts },
            401 => Self::Unauthorized { message, token_hint, attempts },
            402 => Self::PaymentRequired { message, attempts },
            403 => Self::Forbidden { message, attempts },
            404 => Self::NotFound { message, attempts },
            410 => Self::Expired { message, attempts },
            429 => Self::RateLimited { message, retry_after, attempts },
            596 => Self::AccountSessionExpired { message, attempts },
            s if is_retryable_5xx(s) => Self::Server { status, message, retry_after, attempts },
            _ => Self::Unexpected { status, message, attempts },
        }
    }
}

fn is_retryable_5xx(status: u16) -> bool {
    (500..=599).contains(&status) && status != 596
}

/// What a provider said in an error body.
///
/// useapi.net sends `{"error": "..."}` (sometimes with `code`); token360 sends the OpenAI-style
/// `{"error": {"message", "type", "param", "code"}}`. A body with neither (an HTML error page)
/// keeps a short `excerpt` instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderMessage {
    /// The human-readable message.
    pub message: Option<String>,
    /// The error type (`rate_limit_error`, `invalid_request_error`, ...).
    pub error_type: Option<String>,
    /// The error code, numbers rendered as text.
    pub code: Option<String>,
    /// The parameter the error is about.
    pub param: Option<String>,
    /// The start of a body that carried no recognisable message (at most 200 characters).
    pub excerpt: Option<String>,
}

impl ProviderMessage {
    /// Parses an error body; also returns the `retryAfter` seconds some 429 bodies carry.
    pub(crate) fn parse(body: &[u8], token: &ApiToken) -> (Self, Option<Duration>) {
        let mut parsed = Self::default();
        let mut retry_after = None;
        if let Ok(serde_json::Value::Object(top)) = serde_json::from_slice(body) {
            retry_after = top.get("retryAfter").and_then(seconds);
            match top.get("error") {
                Some(serde_json::Value::String(text)) => {
                    parsed.message = Some(clean(text, token));
                    parsed.code = top.get("code").and_then(|c| scalar(c, token));
                }
                Some(serde_json::Value::Object(error)) => {
                    parsed.message = error.get("message").and_then(|m| scalar(m, token));
                    parsed.error_type = error.get("type").and_then(|t| scalar(t, token));
                    parsed.code = error.get("code").and_then(|c| scalar(c, token));
                    parsed.param = error.get("param").and_then(|p| scalar(p, token));
                    retry_after = retry_after.or_else(|| error.get("retryAfter").and_then(seconds));
                }
                _ => parsed.message = top.get("message").and_then(|m| scalar(m, token)),
            }
        }
        if parsed.message.is_none() && !body.is_empty() {
            parsed.excerpt = Some(excerpt(body, token));
        }
        (parsed, retry_after)
    }
}

impl fmt::Display for ProviderMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message, &self.excerpt) {
            (Some(message), _) => write!(f, "{message:?}")?,
            (None, Some(excerpt)) => write!(f, "no error message, body starts with {excerpt:?}")?,
            (None, None) => f.write_str("no error message")?,
        }
        let details: Vec<String> = [("type", &self.error_type), ("code", &self.code), ("param", &self.param)]
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name} {v}")))
            .collect();
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

/// A string or number rendered as text, cleaned; `null` and other shapes are absent.
fn scalar(value: &serde_json::Value, token: &ApiToken) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(clean(text, token)),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A non-negative number of seconds, as a JSON number or numeric string.
fn seconds(value: &serde_json::Value) -> Option<Duration> {
    let secs = match value {
        serde_json::Value::Number(number) => number.as_f64()?,
        serde_json::Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

/// Scrubs the token, bounds the length and flattens control characters to keep messages one line.
fn clean(text: &str, token: &ApiToken) -> String {
    token.redact(text).chars().take(MESSAGE_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The first 200 characters of a body, decoded lossily, without the token or line breaks.
pub(crate) fn excerpt(body: &[u8], token: &ApiToken) -> String {
    // Redact before cutting, so a token straddling the cut cannot leave a prefix behind; only a
    // head of the body is decoded, since it may be megabytes long.
    let head = &body[..body.len().min(4 * (EXCERPT_CHARS + token.expose_secret().len()))];
    let text = String::from_utf8_lossy(head);
    token.redact(&text).chars().take(EXCERPT_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> ApiToken {
        ApiToken::new("tok-123").unwrap_or_else(|e| panic!("valid test token: {e}"))
    }

    #[test]
    fn parses_useapi_shape_with_code() {
        let (msg, retry) = ProviderMessage::parse(br#"{"error":"Account session expired","code":596}"#, &token());
        assert_eq!(msg.message.as_deref(), Some("Account session expired"));
        assert_eq!(msg.code.as_deref(), Some("596"));
        assert_eq!(retry, None);
        assert_eq!(msg.excerpt, None);
    }

    #[test]
    fn parses_openai_envelope() {
        let (msg, _) = ProviderMessage::parse(
            br#"{"error":{"message":"Balance too low","type":"insufficient_balance","param":null,"code":"insufficient_balance"}}"#,
            &token(),
        );
        assert_eq!(msg.message.as_deref(), Some("Balance too low"));
        assert_eq!(msg.error_type.as_deref(), Some("insufficient_balance"));
        assert_eq!(msg.param, None);
        assert_eq!(msg.to_string(), r#""Balance too low" (type insufficient_balance, code insufficient_balance)"#);
    }

    #[test]
    fn retry_after_in_body_as_number_or_string() {
        let (_, retry) = ProviderMessage::parse(br#"{"error":"busy","retryAfter":12}"#, &token());
        assert_eq!(retry, Some(Duration::from_secs(12)));
        let (_, retry) = ProviderMessage::parse(br#"{"error":{"message":"busy","retryAfter":"1.5"}}"#, &token());
        assert_eq!(retry, Some(Duration::from_millis(1500)));
        let (_, retry) = ProviderMessage::parse(br#"{"error":"busy","retryAfter":-3}"#, &token());
        assert_eq!(retry, None);
    }

    #[test]
    fn html_page_keeps_a_char_safe_excerpt() {
        let page = format!("<html>\n<body>{}</body></html>", "é".repeat(500));
        let (msg, _) = ProviderMessage::parse(page.as_bytes(), &token());
        assert_eq!(msg.message, None);
        let excerpt = msg.excerpt.unwrap_or_default();
        assert_eq!(excerpt.chars().count(), 200);
        assert!(excerpt.starts_with("<html> <body>éé"), "{excerpt}");
    }

    #[test]
    fn excerpt_never_keeps_part_of_the_token() {
        let token = ApiToken::new("abcdefghij").unwrap_or_else(|e| panic!("{e}"));
        // The token straddles the 200-character cut.
        let body = format!("{}abcdefghij", "x".repeat(195));
        let excerpt = excerpt(body.as_bytes(), &token);
        assert_eq!(excerpt, format!("{}***", "x".repeat(195)));
        let cut_mid_utf8 = [0xe2, 0x82];
        assert_eq!(super::excerpt(&cut_mid_utf8, &token), "\u{fffd}");
    }

    #[test]
    fn status_mapping() {
        let map = |s| TransportError::from_status(s, ProviderMessage::default(), None, "X").status();
        for s in [400, 401, 402, 403, 404, 410, 429, 500, 502, 503, 596, 418, 302] {
            assert_eq!(map(s), Some(s));
        }
        let err = TransportError::from_status(596, ProviderMessage::default(), None, "X");
        assert!(matches!(err, TransportError::AccountSessionExpired { .. }));
        assert!(!err.is_retryable());
        let err = TransportError::from_status(418, ProviderMessage::default(), None, "X");
        assert!(matches!(err, TransportError::Unexpected { .. }));
    }
}
