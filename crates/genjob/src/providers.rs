//! The adapters compiled into this build (one cargo feature each), and sources built from the
//! environment: the one place the facade lists them. What each provider *is* (its variables, its
//! base URL, its windows, its errors) is declared by its adapter crate, not here.

use genjob_models::Provider;
use genjob_transport::{EnvNames, JobSource, TransportConfig, TransportError};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The adapter crates of the enabled features, re-exported at the crate's root.
pub mod adapters {
    /// The useapi.net Dreamina adapter (feature `dreamina`).
    #[cfg(feature = "dreamina")]
    pub use genjob_dreamina as dreamina;
    /// The useapi.net Google Flow adapter (feature `google-flow`).
    #[cfg(feature = "google-flow")]
    pub use genjob_google_flow as google_flow;
    /// The token360 adapter (feature `token360`).
    #[cfg(feature = "token360")]
    pub use genjob_token360 as token360;
}

/// An adapter this build can construct: the provider it reads, its variables, and how to build it.
#[derive(Debug, Clone, Copy)]
struct Adapter {
    provider: Provider,
    env: EnvNames,
    build: fn(TransportConfig) -> Result<Arc<dyn JobSource>, TransportError>,
}

/// The adapters of the enabled features, in a stable order.
const ADAPTERS: &[Adapter] = &[
    #[cfg(feature = "dreamina")]
    Adapter {
        provider: genjob_dreamina::PROVIDER,
        env: genjob_dreamina::ENV,
        build: |config| Ok(Arc::new(genjob_dreamina::DreaminaClient::new(config)?)),
    },
    #[cfg(feature = "google-flow")]
    Adapter {
        provider: genjob_google_flow::PROVIDER,
        env: genjob_google_flow::ENV,
        build: |config| Ok(Arc::new(genjob_google_flow::GoogleFlowClient::new(config)?)),
    },
    #[cfg(feature = "token360")]
    Adapter {
        provider: genjob_token360::PROVIDER,
        env: genjob_token360::ENV,
        build: |config| Ok(Arc::new(genjob_token360::Token360Client::new(config)?)),
    },
];

/// Why sources could not be built from the environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// This build has no adapter for the provider (its cargo feature is off, or it is a custom one).
    #[error(
        "this build of genjob has no adapter for provider `{provider}`; enable its cargo feature or add its source yourself"
    )]
    NoAdapter {
        /// The provider.
        provider: Provider,
    },
    /// The provider's settings are missing or invalid (the message names the variable to set).
    #[error("{provider}: {source}")]
    Settings {
        /// The provider.
        provider: Provider,
        /// What is wrong, naming the variable; never the token's value.
        #[source]
        source: TransportError,
    },
    /// No provider's token is set.
    #[error("no provider is configured: set {}", wanted_variables())]
    NothingConfigured,
}

fn wanted_variables() -> String {
    let names: BTreeSet<&str> = ADAPTERS.iter().map(|a| a.env.token).collect();
    if names.is_empty() {
        "(no adapter is compiled in)".to_owned()
    } else {
        names.into_iter().collect::<Vec<_>>().join(" or ")
    }
}

/// The providers this build has an adapter for.
pub fn compiled_in() -> Vec<Provider> {
    ADAPTERS.iter().map(|a| a.provider).collect()
}

/// The variables a compiled-in provider reads its settings from.
pub fn env_names(provider: Provider) -> Option<EnvNames> {
    ADAPTERS.iter().find(|a| a.provider == provider).map(|a| a.env)
}

/// One source for `provider`, configured through `lookup` (e.g. `|name| std::env::var(name).ok()`).
pub fn source_from(
    provider: Provider,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn JobSource>, ConfigError> {
    let adapter = ADAPTERS.iter().find(|a| a.provider == provider).ok_or(ConfigError::NoAdapter { provider })?;
    let settings = |source| ConfigError::Settings { provider, source };
    let config = TransportConfig::from_lookup(adapter.env, lookup).map_err(settings)?;
    (adapter.build)(config).map_err(settings)
}

/// The sources for exactly these providers: a missing token of a provider not asked for is fine.
pub fn sources_for(
    providers: impl IntoIterator<Item = Provider>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Arc<dyn JobSource>>, ConfigError> {
    let wanted: BTreeSet<Provider> = providers.into_iter().collect();
    wanted.into_iter().map(|p| source_from(p, lookup)).collect()
}

impl crate::Watcher {
    /// A watcher with a source for every compiled-in provider whose token is set in the process
    /// environment (`USEAPI_TOKEN`, `TOKEN360_API_KEY`, and their optional `*_BASE_URL`).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), genjob::ConfigError> {
    /// let watcher = genjob::Watcher::from_env()?;
    /// # let _ = watcher; Ok(()) }
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// As [`Watcher::from_env`], reading settings through `lookup` (a map in tests, a secrets store …).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut watcher = Self::new();
        let mut any = false;
        for adapter in ADAPTERS {
            // A provider whose token is not set is simply not configured; a set but broken one is an error.
            if lookup(adapter.env.token).is_none_or(|t| t.trim().is_empty()) {
                continue;
            }
            watcher = watcher.with_source(source_from(adapter.provider, lookup)?);
            any = true;
        }
        if any { Ok(watcher) } else { Err(ConfigError::NothingConfigured) }
    }
}
