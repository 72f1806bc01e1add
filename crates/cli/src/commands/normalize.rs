//! `genjob normalize`: a raw provider job record in, the normalized JSON contract out.

use crate::cli::NormalizeArgs;
use crate::exit::{CliError, Exit};
use crate::output;
use genjob::models::{Endpoint, ErrorBody, detect_endpoint};
use genjob::{Provider, ProviderRecord};
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// The endpoint a record of `provider` comes from; Dreamina's videos/images split is read from the shape.
fn endpoint_for(provider: Provider, value: &Value) -> Endpoint {
    match provider {
        Provider::Dreamina => match detect_endpoint(value) {
            Ok(Endpoint::DreaminaImages) => Endpoint::DreaminaImages,
            _ => Endpoint::DreaminaVideos,
        },
        Provider::GoogleFlow => Endpoint::GoogleFlowJobs,
        // `--provider` only parses the built-in names; anything else is read as token360's shape.
        _ => Endpoint::Token360Videos,
    }
}

/// The UTF-8 byte-order mark some editors (Windows Notepad, PowerShell's `Out-File`) put before JSON.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes `bytes` as one job record and normalizes it.
pub fn normalize(bytes: &[u8], provider: Option<Provider>, origin: &str) -> Result<genjob::Job, CliError> {
    // JSON forbids the mark, but it says nothing about the record: a saved file should still read.
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        CliError::usage(format!("{origin} is not JSON: {e}; pass a job record as returned by the provider"))
    })?;
    if let Some(refusal) = error_response(&value, origin) {
        return Err(refusal);
    }
    let record = match provider {
        Some(p) => ProviderRecord::from_value(endpoint_for(p, &value), value),
        None => ProviderRecord::detect(value),
    }
    .map_err(|e| CliError::usage(format!("{origin}: {e}")))?;
    Ok(record.normalize())
}

/// The refusal for a provider's error body (`{"error": "Unauthorized"}`, token360's `{"error": {"message", …}}`).
///
/// Someone who saved a failed request's answer should hear that, not "cannot tell which provider".
/// A token360 record of a failed video also has an `error` object, so only JSON that is no record's
/// shape counts as an error body.
fn error_response(value: &Value, origin: &str) -> Option<CliError> {
    if detect_endpoint(value).is_ok() {
        return None;
    }
    let body: ErrorBody = serde_json::from_value(value.clone()).ok()?;
    // The text comes from a file: quoted and escaped, so control characters cannot reach the terminal.
    let message = body.message().map_or_else(|| "no message".to_owned(), |m| format!("{:?}", shortened(m)));
    let code = body.code().map(|c| format!(" (code {:?})", shortened(&c))).unwrap_or_default();
    Some(CliError::usage(format!(
        "{origin} is a provider's error response, not a job record: {message}{code}; \
         normalize reads the record a status request returns when it succeeds"
    )))
}

/// At most 200 characters of a quoted text, so a huge message does not flood the terminal.
fn shortened(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Runs `genjob normalize`.
pub fn run(args: NormalizeArgs) -> Result<Exit, CliError> {
    let limit = args.max_size;
    let (bytes, origin) = match args.file.as_deref() {
        None => read_stdin(limit)?,
        Some(p) if p == Path::new("-") => read_stdin(limit)?,
        Some(path) => {
            let origin = path.display().to_string();
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::usage(format!("cannot read {origin}: {e}; check the path")))?;
            (read_bounded(file, limit, &origin)?, origin)
        }
    };
    let job = normalize(&bytes, args.provider, &origin)?;
    output::stdout_line(&output::job_json(&job)?)?;
    Ok(Exit::Success)
}

fn read_stdin(limit: u64) -> Result<(Vec<u8>, String), CliError> {
    let origin = "standard input".to_owned();
    Ok((read_bounded(std::io::stdin().lock(), limit, &origin)?, origin))
}

/// Reads at most `limit` bytes and refuses more.
///
/// `genjob normalize /dev/zero`, or a pipe that never ends, would otherwise grow until memory runs out.
fn read_bounded(reader: impl Read, limit: u64, origin: &str) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly the limit" from "more than the limit".
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("cannot read {origin}: {e}")))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(CliError::usage(format!(
            "{origin} holds more than {limit} bytes, the most `genjob normalize` reads; \
             pass --max-size BYTES (e.g. --max-size 64MiB) to read a larger record"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_or_takes_the_provider() -> Result<(), CliError> {
        let body = br#"{"id": "video_123", "object": "video", "status": "in_progress", "progress": 40}"#;
        let job = normalize(body, None, "test")?;
        assert_eq!((job.provider, job.progress), (Provider::Token360, Some(40)));
        let forced = normalize(body, Some(Provider::Token360), "test")?;
        assert_eq!(forced, job);
        Ok(())
    }

    #[test]
    fn a_byte_order_mark_is_skipped() -> Result<(), CliError> {
        let body = b"\xEF\xBB\xBF{\"id\": \"video_123\", \"object\": \"video\", \"status\": \"queued\"}";
        assert_eq!(normalize(body, None, "test")?.provider, Provider::Token360);
        Ok(())
    }

    #[test]
    fn input_is_read_up_to_the_limit_and_no_further() {
        let read = |len: usize, limit: u64| read_bounded(&vec![b' '; len][..], limit, "test").map(|b| b.len());
        let read = |len, limit| read(len, limit).map_err(|e| e.exit);
        assert_eq!(read(10, 10), Ok(10));
        assert_eq!(read(11, 10), Err(Exit::Usage));
        assert_eq!(read(0, 0), Ok(0));
        assert_eq!(read(5, u64::MAX), Ok(5));
    }

    #[test]
    fn error_bodies_are_named_with_their_message() {
        let cases: [(&[u8], &str); 3] = [
            (br#"{"error": "Unauthorized", "code": 401}"#, r#"error response, not a job record: "Unauthorized" (code "401")"#),
            (
                br#"{"error": {"message": "Rate limit\u001b[2J", "type": "rate_limit_error", "param": null, "code": "rate_limited"}}"#,
                r#": "Rate limit\u{1b}[2J" (code "rate_limited")"#,
            ),
            (br#"{"error": {"type": "server_error"}}"#, "error response, not a job record: no message"),
        ];
        for (body, expected) in cases {
            for provider in [None, Some(Provider::Token360), Some(Provider::Dreamina)] {
                let err = normalize(body, provider, "test").err().map(|e| (e.exit, e.message));
                let (exit, message) = err.unwrap_or((Exit::Success, String::new()));
                assert_eq!(exit, Exit::Usage);
                assert!(message.contains(expected), "{message}");
                assert!(!message.contains('\u{1b}'), "{message}");
            }
        }
        // A token360 record of a failed video carries an `error` object and is still a record.
        let failed =
            br#"{"id": "video_1", "object": "video", "status": "failed", "error": {"code": "x", "message": "m"}}"#;
        assert!(normalize(failed, None, "test").is_ok());
    }

    #[test]
    fn long_messages_are_shortened() {
        assert_eq!(shortened("short"), "short");
        let long = "é".repeat(500);
        assert_eq!(shortened(&long).chars().count(), 201);
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for body in [&b"not json"[..], br#"{"error": "Unauthorized"}"#, br#"[1, 2]"#] {
            let exit = normalize(body, None, "test").err().map(|e| e.exit);
            assert_eq!(exit, Some(Exit::Usage), "{}", String::from_utf8_lossy(body));
        }
    }
}
