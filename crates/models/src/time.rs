//! Provider timestamps kept as sent, with parsing on demand.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A timestamp string exactly as the provider sent it (ISO 8601 / RFC 3339).
///
/// Kept raw so that a record serializes back byte-for-byte and an odd format never fails a parse;
/// [`RawTime::timestamp`] interprets it when a caller needs the instant.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawTime(String);

impl RawTime {
    /// Wraps a provider timestamp string.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The string as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant it denotes, or `None` when it is not RFC 3339.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.0.parse().ok()
    }
}

impl fmt::Debug for RawTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for RawTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Converts Unix seconds (token360's `created_at`) into an instant, if in range.
pub(crate) fn from_unix_seconds(secs: i64) -> Option<Timestamp> {
    Timestamp::from_second(secs).ok()
}
