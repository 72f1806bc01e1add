//! The pooled HTTP client and the JSON GET path every adapter uses: single attempts, classified.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::error::{ProviderMessage, excerpt};
use crate::path::validate_segment;
use crate::{ApiToken, ErrorKind, ServerHints, TransportConfig, TransportError};

/// How much of an error body is read to find the provider's message; the rest is dropped.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// A decoded API response with what the caller needs to log, store or pace its next request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fetched<T> {
    /// The decoded body.
    pub value: T,
    /// The body exactly as received, so callers can keep the provider's JSON losslessly.
    pub body: Bytes,
    /// The HTTP status (a 2xx).
    pub status: u16,
    /// Requests sent, the successful one included.
    pub attempts: u32,
    /// Time from the first request to the decoded value, retry delays included.
    pub elapsed: Duration,
    /// A `Retry-After` (or `retry-after-ms`) hint on the successful response, if the server sent one.
    pub retry_after: Option<Duration>,
    /// The poll interval the server suggests (the header its adapter declared), if it sent one.
    pub poll_after: Option<Duration>,
}

/// The one connection-pooled client of a provider; cheap to clone, clones share the pool.
///
/// Redirects: up to 10 are followed within the configured host and port; a redirect to another
/// host is not followed, and the answer is refused as invalid ([`ErrorKind::InvalidResponse`]):
/// an API answer is accepted only from the configured host, and the token never leaves it.
/// Downloads ([`Downloader`](crate::Downloader)) follow redirects anywhere, and never carry the
/// token: it is added per API request, not as a client default.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: TransportConfig,
    authorization: HeaderValue,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client; fails with an [`ErrorKind::Config`](crate::ErrorKind::Config) error on a base URL that cannot take
    /// path segments (not http/https, or with credentials, query or fragment).
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let base = config.base_url();
        let problem = if !matches!(base.scheme(), "http" | "https") {
            Some("the base URL must use http or https")
        } else if base.cannot_be_a_base() {
            Some("the base URL cannot take a path")
        } else if !base.username().is_empty() || base.password().is_some() {
            Some("the base URL must not hold credentials; pass the token as ApiToken")
        } else if base.query().is_some() || base.fragment().is_some() {
            Some("the base URL must not have a query or fragment")
        } else {
            None
        };
        if let Some(problem) = problem {
            // The credentials or query being refused may be secrets: never repeat them.
            return Err(TransportError::config(format!("{problem} (got {})", redacted_url_text(base.as_str()))));
        }

        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", config.token().expose_secret()))
            .map_err(|_| TransportError::config("the API token cannot be sent in a header; copy it again"))?;
        // Marks the value so HTTP-level debug output prints it as "Sensitive".
        authorization.set_sensitive(true);

        let http = reqwest::Client::builder()
            .user_agent(config.user_agent())
            .connect_timeout(config.connect_timeout())
            .redirect(same_host_redirects(base))
            .build()
            .map_err(|e| TransportError::config(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
        Ok(Self { inner: Arc::new(Inner { http, config, authorization }) })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &TransportConfig {
        &self.inner.config
    }

    /// The URL `get_json` would request: each segment percent-encoded as one path segment
    /// under the base URL's path.
    pub fn endpoint(&self, segments: &[&str]) -> Result<Url, TransportError> {
        for segment in segments {
            validate_segment(segment, self.inner.config.token())?;
        }
        let mut url = self.inner.config.base_url().clone();
        url.path_segments_mut()
            .map_err(|()| TransportError::config("the base URL cannot take a path"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// GETs `segments` under the base URL with the token, in one attempt, and decodes the JSON body
    /// as `T` (use `serde_json::Value` to keep any shape). Never retried here: the caller decides.
    pub async fn get_json<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<Fetched<T>, TransportError> {
        self.get_json_query(segments, &[]).await
    }

    /// GETs `segments` with `query` parameters (encoded as `application/x-www-form-urlencoded`), in one attempt.
    pub async fn get_json_query<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Fetched<T>, TransportError> {
        let mut url = self.endpoint(segments)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let started = Instant::now();
        let ok = self.get_once(&url).await.map_err(|e| e.with_attempts(1))?;
        Ok(Fetched {
            value: ok.value,
            body: ok.body,
            status: ok.status,
            attempts: 1,
            elapsed: started.elapsed(),
            retry_after: ok.retry_after,
            poll_after: ok.poll_after,
        })
    }

    async fn get_once<T: DeserializeOwned>(&self, url: &Url) -> Result<Decoded<T>, TransportError> {
        let span = tracing::debug_span!(
            "genjob_http",
            method = "GET",
            host = url.host_str().unwrap_or_default(),
            path = url.path(),
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let outcome = self.exchange(url).instrument(span.clone()).await;
        span.record("elapsed_ms", started.elapsed().as_millis());
        match &outcome {
            Ok(_) => tracing::debug!(parent: &span, "decoded"),
            Err(error) => tracing::debug!(parent: &span, error = %error, "failed"),
        }
        outcome
    }

    /// Sends one GET with the token and turns an error status into a [`TransportError`]; returns a
    /// successful response with the server's hints.
    async fn send(&self, url: &Url, accept: &'static str) -> Result<Answered, TransportError> {
        let config = &self.inner.config;
        let timeout = config.request_timeout();
        let mut request = self
            .inner
            .http
            .get(url.clone())
            .header(AUTHORIZATION, self.inner.authorization.clone())
            .header(ACCEPT, accept);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let mut response = request.send().await.map_err(|e| self.request_error(e, timeout))?;
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        let hints = config.server_hints();
        let retry_after = retry_after_header(response.headers(), hints);
        let poll_after = hints.poll_after_ms_header.and_then(|name| millis_header(response.headers(), name));

        if response.status().is_redirection() {
            let location = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok());
            let shown = location.map_or_else(|| "nowhere".to_owned(), redacted_url_text);
            let detail = format!(
                "the API redirected to {shown}, another host than the configured one; genjob accepts API \
                 answers only from the configured host (check the base URL)"
            );
            return Err(TransportError::new(ErrorKind::InvalidResponse, detail).with_status(status));
        }
        if !response.status().is_success() {
            let body = read_prefix(&mut response, ERROR_BODY_LIMIT.min(config.max_response_size())).await;
            let (message, body_retry_after) = ProviderMessage::parse(&body, config.token(), hints.retry_after_body_key);
            return Err(TransportError::from_status(
                status,
                message,
                retry_after.or(body_retry_after),
                config.token_hint(),
                config.status_kinds(),
            ));
        }
        Ok(Answered { response, status, retry_after, poll_after })
    }

    /// GETs `segments` with `query` from an endpoint that may answer either JSON (a link to the file,
    /// say) or the file itself, as OpenAI-style `/content` endpoints do: decided by the answer's
    /// content type. A file is streamed into `dir` under a temporary name (at most `max_file_size`
    /// bytes, each chunk within `idle`), complete or not at all. One attempt, with the token: only for
    /// the API's own host, never for a file host.
    pub async fn get_json_or_file(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        dir: &std::path::Path,
        max_file_size: u64,
        idle: Duration,
    ) -> Result<JsonOrFile, TransportError> {
        let mut url = self.endpoint(segments)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let answered = self.send(&url, "application/json, */*;q=0.5").await.map_err(|e| e.with_attempts(1))?;
        let is_json = content_type(answered.response.headers())
            .is_some_and(|t| t.split(';').next().is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json")));
        if is_json {
            let decoded = self.decode::<serde_json::Value>(answered).await.map_err(|e| e.with_attempts(1))?;
            return Ok(JsonOrFile::Json(decoded.value));
        }
        crate::download::body_to_file(answered.response, &url, dir, max_file_size, idle)
            .await
            .map(JsonOrFile::File)
            .map_err(|e| e.with_attempts(1))
    }

    async fn exchange<T: DeserializeOwned>(&self, url: &Url) -> Result<Decoded<T>, TransportError> {
        let answered = self.send(url, "application/json").await?;
        self.decode(answered).await
    }

    /// Reads and decodes a successful answer's JSON body, within the size limit.
    async fn decode<T: DeserializeOwned>(&self, answered: Answered) -> Result<Decoded<T>, TransportError> {
        let config = &self.inner.config;
        let timeout = config.request_timeout();
        let Answered { mut response, status, retry_after, poll_after } = answered;
        let content_type = content_type(response.headers());
        let body = read_limited(&mut response, config.max_response_size()).await.map_err(|e| match e {
            LimitedReadError::TooLarge => {
                TransportError::new(ErrorKind::TooLarge, config.max_response_size().to_string()).with_status(status)
            }
            LimitedReadError::Http(e) => self.request_error(e, timeout),
        })?;
        // A key given twice counts once, the last, whatever the type: the verdict `genjob normalize`
        // and the models' decoders give the same bytes.
        let value = genjob_models::decode_last_key_wins(&body).map_err(|e| {
            let detail = format!(
                "{e} (content type {}); body starts with {:?}",
                content_type.as_deref().unwrap_or("none"),
                excerpt(&body, config.token())
            );
            TransportError::new(ErrorKind::InvalidResponse, detail).with_status(status)
        })?;
        Ok(Decoded { value, body, status, retry_after, poll_after })
    }

    /// Maps a reqwest failure to a timeout or a network error, without the token or query strings.
    fn request_error(&self, error: reqwest::Error, timeout: Option<Duration>) -> TransportError {
        request_error(error, timeout.unwrap_or_default(), Some(self.inner.config.token()))
    }
}

/// Follows up to 10 redirects that stay on `base`'s host and port; stops at any other, so the
/// redirect itself comes back and is refused.
fn same_host_redirects(base: &Url) -> reqwest::redirect::Policy {
    let (host, port) = (base.host_str().map(str::to_ascii_lowercase), base.port_or_known_default());
    reqwest::redirect::Policy::custom(move |attempt| {
        let url = attempt.url();
        let same = url.host_str().map(str::to_ascii_lowercase) == host && url.port_or_known_default() == port;
        if !same {
            attempt.stop()
        } else if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else {
            attempt.follow()
        }
    })
}

/// Maps a reqwest failure to a timeout or a network error, without URL credentials or query strings.
pub(crate) fn request_error(error: reqwest::Error, timeout: Duration, token: Option<&ApiToken>) -> TransportError {
    if error.is_timeout() {
        return TransportError::timeout(timeout);
    }
    let url = error.url().map(redacted_url);
    let chain = error_chain(&error.without_url());
    let detail = match url {
        Some(url) => format!("{url}: {chain}"),
        None => chain,
    };
    let detail = token.map_or_else(|| detail.clone(), |t| t.redact(&detail).into_owned());
    TransportError::new(ErrorKind::Network, detail)
}

/// What an endpoint that may serve a file answered: one or the other, by design.
#[derive(Debug)]
pub enum JsonOrFile {
    /// A JSON document (for a `/content` endpoint: where to download the file).
    Json(serde_json::Value),
    /// The file itself, complete, under a temporary name: give it its name with
    /// [`FetchedFile::persist`](crate::FetchedFile::persist).
    File(crate::FetchedFile),
}

/// A successful response, before its body is read.
struct Answered {
    response: reqwest::Response,
    status: u16,
    retry_after: Option<Duration>,
    poll_after: Option<Duration>,
}

/// One successful attempt.
struct Decoded<T> {
    value: T,
    body: Bytes,
    status: u16,
    retry_after: Option<Duration>,
    poll_after: Option<Duration>,
}

pub(crate) enum LimitedReadError {
    TooLarge,
    Http(reqwest::Error),
}

/// Reads the whole body, refusing it as soon as it is known to exceed `limit`: up front from
/// `Content-Length`, else while streaming, so an oversized body is never buffered whole.
async fn read_limited(response: &mut reqwest::Response, limit: u64) -> Result<Bytes, LimitedReadError> {
    let announced = response.content_length();
    if announced.is_some_and(|len| len > limit) {
        return Err(LimitedReadError::TooLarge);
    }
    let capacity = announced.unwrap_or(8 * 1024).min(limit);
    let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(LimitedReadError::Http)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(LimitedReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Reads at most `limit` bytes of an error body; a broken body yields what arrived, since the
/// status alone already says what happened.
async fn read_prefix(response: &mut reqwest::Response, limit: u64) -> Bytes {
    let mut body = BytesMut::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = usize::try_from(limit).unwrap_or(usize::MAX).saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() as u64 >= limit {
            break;
        }
    }
    body.freeze()
}

/// An error and its sources joined with ": ", so the root cause (e.g. "Connection refused") shows.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The URL without credentials, query or fragment: signed URLs carry their signature in the query.
pub(crate) fn redacted_url(url: &Url) -> String {
    let mut shown = url.clone();
    let had_query = shown.query().is_some();
    shown.set_query(None);
    shown.set_fragment(None);
    // Both fail only for URLs that cannot hold credentials, which then hold none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if had_query { format!("{shown}?…") } else { shown.to_string() }
}

/// A URL given as text, for a message: without credentials, query or fragment, even when it does not parse.
///
/// The query is cut at the first `?` or `#`, and anything before an `@` in the authority is dropped.
pub(crate) fn redacted_url_text(text: &str) -> String {
    let (kept, had_query) = match text.find(['?', '#']) {
        Some(at) => (&text[..at], true),
        None => (text, false),
    };
    let (scheme, rest) = kept.find("://").map_or(("", kept), |at| kept.split_at(at + 3));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}{host}{path}{}", if had_query { "?…" } else { "" })
}

pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The wait a server asks for: the millisecond header its adapter declared, else `Retry-After` as
/// delay-seconds or an HTTP date (a date in the past means "now").
pub(crate) fn retry_after_header(headers: &HeaderMap, hints: ServerHints) -> Option<Duration> {
    hints.retry_after_ms_header.and_then(|name| millis_header(headers, name)).or_else(|| retry_after_seconds(headers))
}

/// A header holding a whole number of milliseconds.
fn millis_header(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_millis)
}

fn retry_after_seconds(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let at = PARSER.parse_timestamp(value).ok()?;
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(retry_after) {
            headers.insert(RETRY_AFTER, value);
        }
        headers
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let none = ServerHints::NONE;
        assert_eq!(retry_after_header(&headers("7"), none), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_header(&headers("Wed, 21 Oct 2015 07:28:00 GMT"), none), Some(Duration::ZERO));
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let http_date =
            jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&soon).unwrap_or_default();
        let wait = retry_after_header(&headers(&http_date), none).unwrap_or_default();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{http_date} gave {wait:?}");
        assert_eq!(retry_after_header(&headers("soon"), none), None);
        assert_eq!(retry_after_header(&HeaderMap::new(), none), None);
        // A provider's own millisecond headers count only where its adapter declared them.
        let mut precise = HeaderMap::new();
        precise.insert("x-retry-ms", HeaderValue::from_static("1500"));
        precise.insert("x-poll-ms", HeaderValue::from_static("2500"));
        precise.insert(RETRY_AFTER, HeaderValue::from_static("9"));
        let declared = ServerHints::NONE.with_retry_after_ms_header("x-retry-ms");
        assert_eq!(
            retry_after_header(&precise, declared),
            Some(Duration::from_millis(1500)),
            "the precise header wins"
        );
        assert_eq!(retry_after_header(&precise, none), Some(Duration::from_secs(9)), "undeclared: ignored");
        assert_eq!(millis_header(&precise, "x-poll-ms"), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn redacted_url_drops_signature_and_credentials() -> Result<(), url::ParseError> {
        let url = Url::parse("https://u:p@cdn.example/v/1.mp4?X-Signature=abc#frag")?;
        assert_eq!(redacted_url(&url), "https://cdn.example/v/1.mp4?…");
        let url = Url::parse("https://cdn.example/v/1.mp4")?;
        assert_eq!(redacted_url(&url), "https://cdn.example/v/1.mp4");
        Ok(())
    }

    #[test]
    fn redacted_url_text_drops_secrets_from_any_text() {
        let cases = [
            ("http://user:s3cret@host:8080/v1/?key=s3cret#s3cret", "http://host:8080/v1/?…"),
            ("https://s3cret@api.example", "https://api.example"),
            ("https://a@b:s3cret@api.example/x", "https://api.example/x"),
            ("ftp://user:s3cret@host/", "ftp://host/"),
            ("user:s3cret@host/path", "host/path"),
            ("api.example?token=s3cret", "api.example?…"),
            ("http://api.example/", "http://api.example/"),
            ("", ""),
        ];
        for (text, shown) in cases {
            assert_eq!(redacted_url_text(text), shown, "{text}");
        }
    }

    #[test]
    fn a_base_url_with_credentials_is_refused_without_repeating_them() -> Result<(), Box<dyn std::error::Error>> {
        for base in ["http://user:s3cret@127.0.0.1/", "http://127.0.0.1/?key=s3cret", "http://127.0.0.1/#s3cret"] {
            let config = TransportConfig::new(Url::parse(base)?, crate::ApiToken::new("token-value")?);
            let error = HttpClient::new(config).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("base URL must not") && !error.contains("s3cret"), "{base}: {error}");
        }
        Ok(())
    }
}
