//! `genjob normalize`: a raw provider job record in, the normalized JSON contract out.

use crate::cli::NormalizeArgs;
use crate::exit::{CliError, Exit};
use crate::output;
use genjob::models::{Endpoint, detect_endpoint};
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
        Provider::Token360 => Endpoint::Token360Videos,
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
    let record = match provider {
        Some(p) => ProviderRecord::from_value(endpoint_for(p, &value), value),
        None => ProviderRecord::detect(value),
    }
    .map_err(|e| CliError::usage(format!("{origin}: {e}")))?;
    Ok(record.normalize())
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
    output::stdout_line(&output::job_json(&job)?);
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
    fn bad_input_is_a_usage_error() {
        for body in [&b"not json"[..], br#"{"error": "Unauthorized"}"#, br#"[1, 2]"#] {
            let exit = normalize(body, None, "test").err().map(|e| e.exit);
            assert_eq!(exit, Some(Exit::Usage), "{}", String::from_utf8_lossy(body));
        }
    }
}
