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

/// Decodes `bytes` as one job record and normalizes it.
pub fn normalize(bytes: &[u8], provider: Option<Provider>, origin: &str) -> Result<genjob::Job, CliError> {
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
    let (bytes, origin) = match args.file.as_deref() {
        None => (read_stdin()?, "standard input".to_owned()),
        Some(p) if p == Path::new("-") => (read_stdin()?, "standard input".to_owned()),
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}; check the path", path.display())))?;
            (bytes, path.display().to_string())
        }
    };
    let job = normalize(&bytes, args.provider, &origin)?;
    output::stdout_line(&output::job_json(&job)?);
    Ok(Exit::Success)
}

fn read_stdin() -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("cannot read standard input: {e}")))?;
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
    fn bad_input_is_a_usage_error() {
        for body in [&b"not json"[..], br#"{"error": "Unauthorized"}"#, br#"[1, 2]"#] {
            let exit = normalize(body, None, "test").err().map(|e| e.exit);
            assert_eq!(exit, Some(Exit::Usage), "{}", String::from_utf8_lossy(body));
        }
    }
}
