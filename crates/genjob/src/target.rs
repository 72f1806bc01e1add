//! What to watch: a job id and the provider that runs it.

use genjob_models::{JobId, JobIdParseError, Provider};

/// A job to watch: its id and the provider that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchTarget {
    /// The job id.
    pub id: JobId,
    /// The provider.
    pub provider: Provider,
}

/// Why a job id given by a person cannot be watched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The id is not usable as a job id at all.
    #[error("job id `{raw}`: {source}")]
    InvalidId {
        /// The id as given (control characters shown escaped).
        raw: String,
        /// Why it was refused.
        #[source]
        source: JobIdParseError,
    },
    /// The id names another provider than the one given.
    #[error("job id `{raw}` is a {own} job id, not a {given} one; drop the provider or pass `{own}`")]
    WrongProvider {
        /// The id as given.
        raw: String,
        /// The provider given.
        given: Provider,
        /// The provider the id names.
        own: Provider,
    },
    /// The id does not say which provider runs it (token360 ids are opaque).
    #[error(
        "cannot tell the provider of job id `{raw}` from its shape (some providers' ids are opaque); name the provider"
    )]
    UnknownProvider {
        /// The id as given.
        raw: String,
    },
}

impl WatchTarget {
    /// A target whose provider is read from the id; `None` for opaque ids (token360), which need [`WatchTarget::with_provider`].
    pub fn from_id(id: JobId) -> Option<Self> {
        Some(Self { provider: id.provider()?, id })
    }

    /// A target with an explicit provider.
    pub fn with_provider(id: JobId, provider: Provider) -> Self {
        Self { id, provider }
    }

    /// Parses an id as a person gave it; an explicit `provider` wins over what the id's shape says.
    ///
    /// ```
    /// use genjob::{Provider, WatchTarget};
    /// let dreamina = WatchTarget::resolve("j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina", None)?;
    /// assert_eq!(dreamina.provider, Provider::Dreamina);
    /// let token360 = WatchTarget::resolve("video_abc123", Some(Provider::Token360))?;
    /// assert_eq!(token360.id.as_str(), "video_abc123");
    /// assert!(WatchTarget::resolve("video_abc123", None).is_err());
    /// // An id that names its provider is never read from another one.
    /// let dreamina_id = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";
    /// assert!(WatchTarget::resolve(dreamina_id, Some(Provider::Token360)).is_err());
    /// # Ok::<(), genjob::TargetError>(())
    /// ```
    pub fn resolve(raw: &str, provider: Option<Provider>) -> Result<Self, TargetError> {
        let shown = || raw.escape_debug().to_string();
        let id = JobId::parse(raw).map_err(|source| TargetError::InvalidId { raw: shown(), source })?;
        match provider {
            Some(given) if id.provider().is_some_and(|own| own != given) => {
                let own = id.provider().unwrap_or(given);
                Err(TargetError::WrongProvider { raw: shown(), given, own })
            }
            Some(provider) => Ok(Self::with_provider(id, provider)),
            None => Self::from_id(id).ok_or_else(|| TargetError::UnknownProvider { raw: shown() }),
        }
    }
}
