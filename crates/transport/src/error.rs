//! The transport's error type and the parsing of provider error bodies.

use std::fmt;
use std::time::Duration;

use crate::ApiToken;

/// The longest excerpt of a body quoted in an error, in characters.
const EXCERPT_CHARS: usize = 200;

/// The longest provider message kept, in characters; a server could send a whole page.
const MESSAGE_CHARS: usize = 1000;

/// What kind of failure a [`TransportError`] is; it decides whether retrying can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration cannot work (bad base URL, bad token, client construction failed).
    Config,
    /// Input refused before any request was sent (a path segment, a download URL or file name).
    InvalidInput,
    /// HTTP 400: the server rejected the request as malformed.
    BadRequest,
    /// HTTP 401: the API token is missing, wrong or revoked.
    Unauthorized,
    /// HTTP 402: the subscription or the credits ran out.
    PaymentRequired,
    /// HTTP 403: the token may not read this resource.
    Forbidden,
    /// HTTP 404: no such resource.
    NotFound,
    /// HTTP 410: the resource existed but has expired.
    Gone,
    /// HTTP 429: too many requests or no free capacity; wait before asking again.
    RateLimited,
    /// HTTP 5xx: the server failed; usually temporary.
    Server,
    /// A status the adapter declared fatal for the account (see [`TransportConfig::with_status_kind`](crate::TransportConfig::with_status_kind)).
    AccountUnavailable,
    /// Any other non-success status.
    UnexpectedStatus,
    /// No response (or no next body chunk) in time.
    Timeout,
    /// The connection failed or broke (DNS, refused, reset, TLS, redirect loop).
    Network,
    /// A success status whose body is not the expected JSON.
    InvalidResponse,
    /// The body exceeded the configured maximum.
    TooLarge,
    /// A download ended before all its bytes arrived.
    Truncated,
    /// A download answered with a non-success status.
    DownloadStatus,
    /// Writing a downloaded file failed.
    Io,
}

impl ErrorKind {
    /// The kind of a non-success API status, before any adapter-declared exception.
    fn of_status(status: u16) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            402 => Self::PaymentRequired,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            410 => Self::Gone,
            429 => Self::RateLimited,
            500..=599 => Self::Server,
            _ => Self::UnexpectedStatus,
        }
    }
}

/// Everything that can go wrong between building a request and holding its decoded result.
///
/// One struct with a [`kind`](TransportError::kind): what the server said ([`ProviderMessage`]),
/// its status, the `Retry-After` it asked for, and the number of requests sent (retries included).
/// It never holds the API token: provider text and caller input are scrubbed of it first.
#[derive(Debug)]
pub struct TransportError {
    kind: ErrorKind,
    status: Option<u16>,
    message: Option<Box<ProviderMessage>>,
    retry_after: Option<Duration>,
    attempts: u32,
    /// What went wrong in words (reason, URL, limit, byte counts), already scrubbed.
    detail: String,
    source: Option<std::io::Error>,
}

// By hand: an `io::Error` is not `Clone`; a copy keeps its kind and words.
impl Clone for TransportError {
    fn clone(&self) -> Self {
        Self {
            kind: self.kind,
            status: self.status,
            message: self.message.clone(),
            retry_after: self.retry_after,
            attempts: self.attempts,
            detail: self.detail.clone(),
            source: self.source.as_ref().map(|e| std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}

impl TransportError {
    /// An error of `kind`, described by `detail` (which must not hold a secret).
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self { kind, status: None, message: None, retry_after: None, attempts: 0, detail: detail.into(), source: None }
    }

    /// A configuration error: what is wrong and how to fix it.
    pub fn config(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, reason)
    }

    /// No answer within `timeout`.
    pub fn timeout(timeout: Duration) -> Self {
        Self::new(ErrorKind::Timeout, format!("{timeout:?}"))
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets what the server said.
    pub fn with_message(mut self, message: ProviderMessage) -> Self {
        self.message = Some(Box::new(message));
        self
    }

    /// Sets the delay the server asked for.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Sets the number of requests sent.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// Sets the operating system's error behind an [`ErrorKind::Io`].
    pub fn with_source(mut self, source: std::io::Error) -> Self {
        self.source = Some(source);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status behind this error, if a response was received.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The words describing the failure (a reason, a URL without its query, a limit).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Whether trying again later can succeed: 429, 5xx, timeouts, broken connections, cut downloads.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            ErrorKind::RateLimited
            | ErrorKind::Server
            | ErrorKind::Timeout
            | ErrorKind::Network
            | ErrorKind::Truncated => true,
            ErrorKind::DownloadStatus => self.status.is_some_and(|s| s == 429 || (500..=599).contains(&s)),
            _ => false,
        }
    }

    /// Whether a download failed because its signed URL expired (403 or 410): fetch the job again.
    pub fn is_expired_url(&self) -> bool {
        self.kind == ErrorKind::DownloadStatus && matches!(self.status, Some(403 | 410))
    }

    /// The delay the server asked for before the next request, if it named one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The provider's error message text, if the error body carried one.
    pub fn provider_message(&self) -> Option<&str> {
        self.provider_details().and_then(|m| m.message.as_deref())
    }

    /// Everything parsed from the provider's error body (message, type, code, param, excerpt).
    pub fn provider_details(&self) -> Option<&ProviderMessage> {
        self.message.as_deref()
    }

    /// The number of requests sent before this error (0 when none was).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Maps a non-success API status to an error; `declared` holds the adapter's own statuses.
    pub(crate) fn from_status(
        status: u16,
        message: ProviderMessage,
        retry_after: Option<Duration>,
        token_hint: &'static str,
        declared: &[(u16, ErrorKind)],
    ) -> Self {
        let kind =
            declared.iter().find(|(s, _)| *s == status).map_or_else(|| ErrorKind::of_status(status), |(_, k)| *k);
        // A 401 names where the token comes from, so the message says what to fix.
        let detail = if kind == ErrorKind::Unauthorized { token_hint.to_owned() } else { String::new() };
        Self::new(kind, detail).with_status(status).with_message(message).with_retry_after(retry_after)
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (detail, attempts) = (&self.detail, self.attempts);
        let status = self.status.map_or_else(|| "?".to_owned(), |s| s.to_string());
        let message = self.message.as_deref().cloned().unwrap_or_default();
        match self.kind {
            ErrorKind::Config => write!(f, "invalid transport configuration: {detail}"),
            ErrorKind::InvalidInput => f.write_str(detail),
            ErrorKind::BadRequest => {
                write!(f, "the provider rejected the request (HTTP 400): {message}; check the id and parameters")
            }
            ErrorKind::Unauthorized => {
                write!(f, "the provider rejected the API token (HTTP 401): {message}; check {detail}")
            }
            ErrorKind::PaymentRequired => write!(
                f,
                "payment required (HTTP 402): {message}; renew the subscription or add credits with the provider"
            ),
            ErrorKind::Forbidden => {
                write!(f, "access denied (HTTP 403): {message}; check that this token's account may read this resource")
            }
            ErrorKind::NotFound => write!(
                f,
                "not found (HTTP 404): {message}; check the id (providers delete jobs after their retention period)"
            ),
            ErrorKind::Gone => {
                write!(f, "gone (HTTP 410): {message}; the record has expired and can no longer be fetched")
            }
            ErrorKind::RateLimited => write!(
                f,
                "rate limited (HTTP 429) after {attempts} attempt(s): {message}; {}",
                wait_advice(self.retry_after)
            ),
            ErrorKind::Server => {
                write!(f, "server error (HTTP {status}) after {attempts} attempt(s): {message}; try again later")
            }
            ErrorKind::AccountUnavailable => write!(
                f,
                "the provider account cannot be used (HTTP {status}): {message}; fix the account at the provider \
                 (re-add it), retrying will not help"
            ),
            ErrorKind::UnexpectedStatus => write!(f, "unexpected HTTP status {status}: {message}"),
            ErrorKind::Timeout => write!(
                f,
                "no response within {detail} after {attempts} attempt(s); check the network or raise the request timeout"
            ),
            ErrorKind::Network => {
                write!(f, "network error after {attempts} attempt(s): {detail}; check the network and the base URL")
            }
            ErrorKind::InvalidResponse => write!(f, "the response (HTTP {status}) is not the expected JSON: {detail}"),
            ErrorKind::TooLarge => {
                write!(f, "the response exceeds the {detail}-byte limit; raise the size limit if it is expected")
            }
            ErrorKind::Truncated => write!(f, "the download ended after {detail}; the connection was cut, try again"),
            ErrorKind::DownloadStatus => {
                write!(f, "download of {detail} failed with HTTP {status}{}", download_advice(self.status.unwrap_or(0)))
            }
            ErrorKind::Io => match &self.source {
                Some(source) => write!(f, "cannot {detail}: {source}"),
                None => write!(f, "cannot {detail}"),
            },
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn std::error::Error + 'static))
    }
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

/// What a server said in an error body.
///
/// The common JSON error shapes are read: `{"error": "..."}` (sometimes with `code` beside it) and
/// `{"error": {"message", "type", "param", "code"}}`, plus the wait-in-seconds key an adapter
/// declares ([`ServerHints`](crate::ServerHints)). A body with neither (an HTML error page) keeps a
/// short `excerpt` instead.
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
    /// Parses an error body; also returns the wait in seconds under `retry_key` (the adapter's
    /// declared key), when the body carries one.
    pub(crate) fn parse(body: &[u8], token: &ApiToken, retry_key: Option<&str>) -> (Self, Option<Duration>) {
        let mut parsed = Self::default();
        let mut retry_after = None;
        let waited = |object: &serde_json::Map<String, serde_json::Value>| {
            retry_key.and_then(|k| object.get(k)).and_then(seconds)
        };
        if let Ok(serde_json::Value::Object(top)) = serde_json::from_slice(body) {
            retry_after = waited(&top);
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
                    retry_after = retry_after.or_else(|| waited(error));
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
    fn parses_the_plain_envelope_with_code() {
        let (msg, retry) = ProviderMessage::parse(br#"{"error":"Account session expired","code":596}"#, &token(), None);
        assert_eq!(msg.message.as_deref(), Some("Account session expired"));
        assert_eq!(msg.code.as_deref(), Some("596"));
        assert_eq!(retry, None);
        assert_eq!(msg.excerpt, None);
    }

    #[test]
    fn parses_an_error_object_with_fields() {
        let (msg, _) = ProviderMessage::parse(
            br#"{"error":{"message":"Balance too low","type":"insufficient_balance","param":null,"code":"insufficient_balance"}}"#,
            &token(),
            None,
        );
        assert_eq!(msg.message.as_deref(), Some("Balance too low"));
        assert_eq!(msg.error_type.as_deref(), Some("insufficient_balance"));
        assert_eq!(msg.param, None);
        assert_eq!(msg.to_string(), r#""Balance too low" (type insufficient_balance, code insufficient_balance)"#);
    }

    #[test]
    fn retry_after_in_body_as_number_or_string() {
        let key = Some("retryAfter");
        let (_, retry) = ProviderMessage::parse(br#"{"error":"busy","retryAfter":12}"#, &token(), key);
        assert_eq!(retry, Some(Duration::from_secs(12)));
        let (_, retry) = ProviderMessage::parse(br#"{"error":{"message":"busy","retryAfter":"1.5"}}"#, &token(), key);
        assert_eq!(retry, Some(Duration::from_millis(1500)));
        let (_, retry) = ProviderMessage::parse(br#"{"error":"busy","retryAfter":-3}"#, &token(), key);
        assert_eq!(retry, None);
    }

    #[test]
    fn html_page_keeps_a_char_safe_excerpt() {
        let page = format!("<html>\n<body>{}</body></html>", "é".repeat(500));
        let (msg, _) = ProviderMessage::parse(page.as_bytes(), &token(), None);
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
        let map = |s| TransportError::from_status(s, ProviderMessage::default(), None, "X", &[]);
        for s in [400, 401, 402, 403, 404, 410, 429, 500, 502, 503, 596, 418, 302] {
            assert_eq!(map(s).status(), Some(s));
        }
        assert_eq!(map(596).kind(), ErrorKind::Server, "a plain 5xx unless an adapter declares otherwise");
        assert!(map(596).is_retryable());
        let declared = TransportError::from_status(
            596,
            ProviderMessage::default(),
            None,
            "X",
            &[(596, ErrorKind::AccountUnavailable)],
        );
        assert_eq!(declared.kind(), ErrorKind::AccountUnavailable);
        assert!(!declared.is_retryable());
        assert_eq!(map(418).kind(), ErrorKind::UnexpectedStatus);
        assert!(map(401).to_string().contains("check X"));
    }
}
