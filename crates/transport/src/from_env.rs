//! Building a configuration from environment variables, the way every adapter and the CLI do.

use crate::client::redacted_url_text;
use crate::{ApiToken, TransportConfig, TransportError};
use url::Url;

/// Where a provider's settings come from: the variable names and the default base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvNames {
    /// Variable holding the API token (`EXAMPLE_TOKEN`).
    pub token: &'static str,
    /// Variable overriding the base URL (`EXAMPLE_BASE_URL`).
    pub base_url: &'static str,
    /// Base URL when the variable is unset.
    pub default_base_url: &'static str,
}

impl TransportConfig {
    /// Reads the token and base URL named by `names` through `lookup` (pass `|k| std::env::var(k).ok()`).
    ///
    /// A missing token is an error naming the variable; the token's value never appears in any error.
    pub fn from_lookup(names: EnvNames, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, TransportError> {
        let raw = lookup(names.token).filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            TransportError::config(format!("{} is not set; export {}=<your API token>", names.token, names.token))
        })?;
        let token = ApiToken::new(raw).map_err(|e| TransportError::config(format!("{}: {e}", names.token)))?;
        let base = lookup(names.base_url).filter(|b| !b.trim().is_empty());
        let base_text = base.as_deref().unwrap_or(names.default_base_url).trim();
        // Users put credentials in URLs (`http://user:token@host/`, `?key=token`): never echo those parts.
        let shown = redacted_url_text(base_text);
        let base_url = Url::parse(base_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                TransportError::config(format!(
                    "{} is `{shown}`, which is not an http(s) URL; unset it or fix it",
                    names.base_url
                ))
            })?;
        if !base_url.username().is_empty()
            || base_url.password().is_some()
            || base_url.query().is_some()
            || base_url.fragment().is_some()
        {
            return Err(TransportError::config(format!(
                "{} (`{shown}`) holds credentials, a query or a fragment, which the base URL must not; \
                     remove them and put the token in {}",
                names.base_url, names.token
            )));
        }
        Ok(TransportConfig::new(base_url, token).with_token_hint(names.token))
    }

    /// [`TransportConfig::from_lookup`] over the process environment.
    pub fn from_env(names: EnvNames) -> Result<Self, TransportError> {
        Self::from_lookup(names, |k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: EnvNames =
        EnvNames { token: "X_TOKEN", base_url: "X_BASE_URL", default_base_url: "https://api.example.invalid" };

    #[test]
    fn missing_token_names_the_variable() {
        let err = TransportConfig::from_lookup(NAMES, |_| None).unwrap_err().to_string();
        assert!(err.contains("X_TOKEN is not set"), "{err}");
    }

    #[test]
    fn base_url_defaults_and_overrides() {
        let config =
            TransportConfig::from_lookup(NAMES, |k| (k == "X_TOKEN").then(|| "secret-123".to_owned())).unwrap();
        assert_eq!(config.base_url().as_str(), "https://api.example.invalid/");
        let bad = TransportConfig::from_lookup(NAMES, |k| match k {
            "X_TOKEN" => Some("secret-123".to_owned()),
            _ => Some("ftp:/nowhere".to_owned()),
        })
        .unwrap_err()
        .to_string();
        assert!(bad.contains("X_BASE_URL") && !bad.contains("secret-123"), "{bad}");
    }

    #[test]
    fn credentials_in_the_base_url_are_refused_and_never_repeated() {
        let bases = [
            "http://user:url-s3cret@127.0.0.1:8787/",
            "http://url-s3cret@127.0.0.1/",
            "http://127.0.0.1/?key=url-s3cret",
            "http://127.0.0.1/#url-s3cret",
            "ftp://user:url-s3cret@127.0.0.1/",
            "user:url-s3cret@127.0.0.1",
            "not a url ?key=url-s3cret",
        ];
        for base in bases {
            let error = TransportConfig::from_lookup(NAMES, |k| match k {
                "X_TOKEN" => Some("token-value".to_owned()),
                _ => Some(base.to_owned()),
            })
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(error.contains("X_BASE_URL") && !error.contains("url-s3cret"), "{base}: {error}");
        }
    }
}
