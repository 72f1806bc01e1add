//! Job sources from the environment (through the library's registry), and which provider a command-line id belongs to.

use crate::exit::CliError;
use genjob::dreamina::DreaminaClient;
use genjob::transport::{EnvNames, TransportConfig};
use genjob::{ConfigError, JobSource, Provider, TargetError, WatchTarget};
use std::sync::Arc;

/// Where settings are read from: the process environment in production, a map in tests.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Parses a command-line job id and decides its provider (`--provider` wins over the id's shape).
pub fn resolve_target(raw: &str, provider: Option<Provider>) -> Result<WatchTarget, CliError> {
    WatchTarget::resolve(raw, provider).map_err(|e| match e {
        TargetError::UnknownProvider { .. } => {
            CliError::usage(format!("{e}: pass `--provider token360` (or dreamina / google-flow)"))
        }
        other => CliError::usage(other.to_string()),
    })
}

/// The environment variables a built-in provider reads; `None` for a provider the CLI has no adapter for.
pub fn env_names(provider: Provider) -> Option<EnvNames> {
    genjob::providers::env_names(provider)
}

/// A provider's settings or adapter could not be had: a usage error naming what to set.
fn config_error(error: ConfigError) -> CliError {
    match error {
        ConfigError::Settings { source, .. } => CliError::transport(&source),
        other => CliError::usage(format!("{other}; the genjob command reads dreamina, google-flow and token360")),
    }
}

/// The Dreamina client configured from `USEAPI_TOKEN` / `USEAPI_BASE_URL`.
pub fn dreamina(lookup: Lookup<'_>) -> Result<DreaminaClient, CliError> {
    let names = env_names(Provider::Dreamina)
        .ok_or_else(|| config_error(ConfigError::NoAdapter { provider: Provider::Dreamina }))?;
    let config = TransportConfig::from_lookup(names, lookup).map_err(|e| CliError::transport(&e))?;
    DreaminaClient::new(config).map_err(|e| CliError::transport(&e))
}

/// One source for `provider`, configured from its environment variables.
pub fn source(provider: Provider, lookup: Lookup<'_>) -> Result<Arc<dyn JobSource>, CliError> {
    genjob::providers::source_from(provider, lookup).map_err(config_error)
}

/// The sources the given targets need, and only those: a missing token of an unused provider is fine.
pub fn sources_for(targets: &[WatchTarget], lookup: Lookup<'_>) -> Result<Vec<Arc<dyn JobSource>>, CliError> {
    genjob::providers::sources_for(targets.iter().map(|t| t.provider), lookup).map_err(config_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    const DREAMINA_ID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";

    #[test]
    fn provider_comes_from_the_id_or_the_flag() -> Result<(), CliError> {
        assert_eq!(resolve_target(DREAMINA_ID, None)?.provider, Provider::Dreamina);
        assert_eq!(resolve_target("video_abc", Some(Provider::Token360))?.provider, Provider::Token360);
        Ok(())
    }

    #[test]
    fn opaque_id_without_provider_says_what_to_pass() {
        let err = resolve_target("video_abc", None).err().map(|e| (e.exit, e.message));
        let (exit, message) = err.unwrap_or((Exit::Success, String::new()));
        assert_eq!(exit, Exit::Usage);
        assert!(message.contains("--provider token360"), "{message}");
    }

    #[test]
    fn missing_token_names_the_variable_and_only_needed_sources_are_built() -> Result<(), CliError> {
        let target = resolve_target("video_abc", Some(Provider::Token360))?;
        let only_useapi = |k: &str| (k == "USEAPI_TOKEN").then(|| "secret-value".to_owned());
        let err = sources_for(std::slice::from_ref(&target), &only_useapi).err();
        let message = err.map(|e| (e.exit, e.message)).unwrap_or((Exit::Success, String::new()));
        assert_eq!(message.0, Exit::Usage);
        assert!(message.1.contains("TOKEN360_API_KEY"), "{}", message.1);
        let dreamina = resolve_target(DREAMINA_ID, None)?;
        assert_eq!(sources_for(&[dreamina], &only_useapi)?.len(), 1);
        Ok(())
    }
}
