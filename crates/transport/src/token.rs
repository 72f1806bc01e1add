//! The API token newtype that keeps the secret out of every printed form.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::TransportError;

/// A provider API token; `Debug` and `Display` print `ApiToken(***)`, never the secret.
///
/// The secret is readable only inside this crate, where it becomes the `Authorization` header
/// of API requests; no other code path can leak it into logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a token, trimming surrounding whitespace (a newline left by `echo` or a file is common).
    ///
    /// Fails with an [`ErrorKind::Config`](crate::ErrorKind::Config) error when the token is empty or holds whitespace or control
    /// characters, which cannot travel in an HTTP header; the error never repeats the token.
    pub fn new(token: impl Into<String>) -> Result<Self, TransportError> {
        let token = token.into();
        let trimmed = token.trim();
        if trimmed.is_empty() {
            return Err(TransportError::config(
                "the API token is empty; set it to the token shown in the provider's dashboard",
            ));
        }
        if !trimmed.chars().all(|c| c.is_ascii_graphic()) {
            return Err(TransportError::config(
                "the API token holds spaces, control or non-ASCII characters; copy it again without extra characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The secret itself; kept crate-private so only the request builder can read it.
    pub(crate) fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the token in `text` with `***`.
    ///
    /// Provider error bodies are quoted in our errors, and a server may echo the token it rejected.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if text.contains(self.0.as_str()) {
            Cow::Owned(text.replace(self.0.as_str(), "***"))
        } else {
            Cow::Borrowed(text)
        }
    }
}

impl FromStr for ApiToken {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_forms_hide_the_secret() -> Result<(), TransportError> {
        let token = ApiToken::new("  user:s3cr3t-value\n")?;
        assert_eq!(format!("{token}"), "ApiToken(***)");
        assert_eq!(format!("{token:?}"), "ApiToken(***)");
        assert_eq!(format!("{token:#?}"), "ApiToken(***)");
        assert_eq!(token.expose_secret(), "user:s3cr3t-value");
        Ok(())
    }

    #[test]
    fn rejects_tokens_that_cannot_be_a_header() {
        for bad in ["", "   ", "two words", "tab\there", "ünïcode"] {
            let err = ApiToken::new(bad).err();
            assert_eq!(err.as_ref().map(|e| e.kind()), Some(crate::ErrorKind::Config), "{bad:?}");
            if let Some(err) = err
                && !bad.trim().is_empty()
            {
                assert!(!err.to_string().contains(bad.trim()));
            }
        }
    }

    #[test]
    fn redact_replaces_every_occurrence() -> Result<(), TransportError> {
        let token = ApiToken::new("abc123")?;
        assert_eq!(token.redact("bad token abc123 (abc123)"), "bad token *** (***)");
        assert!(matches!(token.redact("nothing here"), Cow::Borrowed(_)));
        Ok(())
    }
}
