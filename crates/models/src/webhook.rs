//! Signing and verifying genjob's outgoing webhooks (the Standard Webhooks scheme); pure, no IO.
//!
//! A receiver checks a delivery with the server's secret and the three headers it came with:
//!
//! ```
//! use genjob_models::webhook::{WebhookHeaders, WebhookSecret};
//! use jiff::Timestamp;
//!
//! let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let body = br#"{"type":"job.completed"}"#;
//! let now = Timestamp::from_second(1_700_000_000)?;
//! // What `genjob serve` sends (here signed on the spot to show the shape).
//! let signature = secret.sign("msg_1", now.as_second(), body);
//! let headers = WebhookHeaders { id: "msg_1", timestamp: "1700000000", signature: &signature };
//! secret.verify(&headers, body, now)?;
//! // A changed body, a stale timestamp or another secret are refused.
//! assert!(secret.verify(&headers, br#"{"type":"job.failed"}"#, now).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The signature is `v1,` + base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`,
//! keyed with the secret's bytes (the base64 after `whsec_`). The `webhook-signature` header may
//! carry several space-separated signatures (while a secret is rotated); one match is enough.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use std::fmt;

/// How far a delivery's timestamp may be from the receiver's clock (either way): replay protection.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

const PREFIX: &str = "whsec_";

/// A webhook signing secret; `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

/// The three headers of a delivery, as received.
#[derive(Debug, Clone, Copy)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`: the same for every attempt of one delivery (de-duplicate on it).
    pub id: &'a str,
    /// `webhook-timestamp`: seconds since the Unix epoch, when the attempt was signed.
    pub timestamp: &'a str,
    /// `webhook-signature`: space-separated `v1,<base64>` signatures.
    pub signature: &'a str,
}

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookSecretError {
    /// Not `whsec_` followed by base64.
    #[error("a webhook secret is `whsec_` followed by base64 (at least 16 bytes); this one is not")]
    Malformed,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookVerifyError {
    /// `webhook-timestamp` is not a number of seconds.
    #[error("the webhook-timestamp header is not a number of seconds")]
    BadTimestamp,
    /// The timestamp is more than [`TIMESTAMP_TOLERANCE_SECS`] away from now: a replay, or a wrong clock.
    #[error("the webhook-timestamp is {offset_secs} s away from now (at most {TIMESTAMP_TOLERANCE_SECS} allowed)")]
    StaleTimestamp {
        /// Timestamp minus now, in seconds.
        offset_secs: i64,
    },
    /// No `v1` signature in the header matches the body.
    #[error("no signature in webhook-signature matches this body and secret")]
    NoMatch,
}

impl WebhookSecret {
    /// A secret of these bytes (take at least 24 random bytes).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Reads `whsec_<base64>` (the prefix may be left out).
    pub fn parse(text: &str) -> Result<Self, WebhookSecretError> {
        let encoded = text.trim().strip_prefix(PREFIX).unwrap_or(text.trim());
        let bytes = STANDARD.decode(encoded).map_err(|_| WebhookSecretError::Malformed)?;
        if bytes.len() < 16 {
            return Err(WebhookSecretError::Malformed);
        }
        Ok(Self(bytes))
    }

    /// The secret as `whsec_<base64>`, for handing to a receiver; keep it out of logs.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` value for one attempt: `v1,<base64 HMAC-SHA256>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, &timestamp.to_string(), body).finalize().into_bytes()))
    }

    /// Checks a delivery: its timestamp is within [`TIMESTAMP_TOLERANCE_SECS`] of `now` and one of
    /// its `v1` signatures matches (compared in constant time).
    pub fn verify(&self, headers: &WebhookHeaders<'_>, body: &[u8], now: Timestamp) -> Result<(), WebhookVerifyError> {
        let timestamp: i64 = headers.timestamp.trim().parse().map_err(|_| WebhookVerifyError::BadTimestamp)?;
        let offset_secs = timestamp.saturating_sub(now.as_second());
        if offset_secs.abs() > TIMESTAMP_TOLERANCE_SECS {
            return Err(WebhookVerifyError::StaleTimestamp { offset_secs });
        }
        let matches = headers
            .signature
            .split_whitespace()
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|b64| STANDARD.decode(b64).ok())
            .any(|sig| self.mac(headers.id, headers.timestamp.trim(), body).verify_slice(&sig).is_ok());
        if matches { Ok(()) } else { Err(WebhookVerifyError::NoMatch) }
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("whsec_***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks specification (and svix's libraries).
    #[test]
    fn the_specification_example_verifies() -> Result<(), Box<dyn std::error::Error>> {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
        let body = br#"{"test": 2432232314}"#;
        let sig = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let headers = WebhookHeaders { id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signature: &sig };
        let now = Timestamp::from_second(1614265330 + 60)?;
        assert_eq!(secret.verify(&headers, body, now), Ok(()));
        let late = Timestamp::from_second(1614265330 + 301)?;
        assert!(matches!(secret.verify(&headers, body, late), Err(WebhookVerifyError::StaleTimestamp { .. })));
        let other = WebhookSecret::from_bytes([7u8; 32]);
        assert_eq!(other.verify(&headers, body, now), Err(WebhookVerifyError::NoMatch));
        let several = format!("v1,AAAA {sig}");
        let rotated = WebhookHeaders { signature: &several, ..headers };
        assert_eq!(secret.verify(&rotated, body, now), Ok(()));
        Ok(())
    }

    #[test]
    fn a_secret_is_never_shown_and_round_trips() {
        let secret = WebhookSecret::from_bytes([1u8; 24]);
        assert_eq!(format!("{secret:?} {secret}"), "WebhookSecret(***) whsec_***");
        assert_eq!(WebhookSecret::parse(&secret.expose()), Ok(secret));
        assert_eq!(WebhookSecret::parse("whsec_short"), Err(WebhookSecretError::Malformed));
    }
}
