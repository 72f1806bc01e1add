//! What groups jobs that take about as long: provider, kind, model and the request's size.

use genjob_models::{JobKind, Provider, RequestProfile};
use serde::{Deserialize, Serialize};

/// The longest model name kept in a key.
pub(crate) const MAX_TEXT: usize = 64;

/// What groups jobs that take about as long: provider, kind, model and the request's size.
///
/// A lookup falls back from the full key to the same model with any request size, then to the
/// provider and kind alone, whichever has [`MIN_FINISHED`](super::MIN_FINISHED) samples first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DurationKey {
    /// The service that runs the job.
    pub provider: Provider,
    /// What the job produces, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<JobKind>,
    /// The model, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The request's clip length, resolution and output count, where the record gives them.
    #[serde(default, skip_serializing_if = "RequestProfile::is_empty")]
    pub profile: RequestProfile,
}

impl DurationKey {
    /// A key; the model name is trimmed and cut to a few dozen characters (it is a grouping key).
    pub fn new(provider: Provider, kind: Option<JobKind>, model: Option<&str>, profile: RequestProfile) -> Self {
        let model = model.map(|m| m.trim().chars().take(MAX_TEXT).collect::<String>()).filter(|m| !m.is_empty());
        Self { provider, kind, model, profile }
    }

    /// The key of every job of a provider and kind, whatever the model and request.
    pub fn for_kind(provider: Provider, kind: Option<JobKind>) -> Self {
        Self::new(provider, kind, None, RequestProfile::default())
    }

    /// This key, then the same model with any request, then the provider and kind: most specific first.
    pub(crate) fn levels(&self) -> Vec<DurationKey> {
        let mut levels = vec![self.clone()];
        for coarser in [
            Self::new(self.provider, self.kind, self.model.as_deref(), RequestProfile::default()),
            Self::for_kind(self.provider, self.kind),
        ] {
            if !levels.contains(&coarser) {
                levels.push(coarser);
            }
        }
        levels
    }

    pub(crate) fn sanitized(self) -> Self {
        Self::new(self.provider, self.kind, self.model.as_deref(), self.profile)
    }
}
