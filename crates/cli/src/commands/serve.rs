//! `genjob serve`: starts the watch service of `genjob-server` and runs it until a signal.

use crate::cli::ServeArgs;
use crate::exit::{CliError, Exit};
use crate::output;
use crate::sources::Lookup;
use genjob::Watcher;
use genjob::models::webhook::WebhookSecret;
use genjob_server::cfg::{CallbackSecret, ServerConfig, ServerToken, parse_db};
use genjob_server::{Server, ServerError};

/// Runs the server until Ctrl-C, SIGTERM or SIGHUP; every watch stays in the store for the next start.
pub async fn run(args: ServeArgs, lookup: Lookup<'_>) -> Result<Exit, CliError> {
    let db = parse_db(&args.db).map_err(|e| CliError::usage(e.to_string()))?;
    let token = lookup("GENJOB_SERVER_TOKEN").unwrap_or_default();
    let token = ServerToken::new(&token).map_err(|e| CliError::usage(e.to_string()))?;
    let mut config = ServerConfig::new(args.listen, db, token);
    if let Some(secret) = lookup("GENJOB_WEBHOOK_SECRET").filter(|s| !s.trim().is_empty()) {
        let secret =
            WebhookSecret::parse(&secret).map_err(|e| CliError::usage(format!("GENJOB_WEBHOOK_SECRET: {e}")))?;
        config.webhook_secret = Some(secret);
    }
    if let Some(secret) = lookup("GENJOB_CALLBACK_SECRET").filter(|s| !s.trim().is_empty()) {
        config.callback_secret = Some(CallbackSecret::new(secret.trim()).map_err(|e| CliError::usage(e.to_string()))?);
    }
    config.output_dir = args.outputs;
    config.lease = args.lease;
    let watcher = Watcher::from_lookup(lookup).map_err(|e| CliError::usage(e.to_string()))?;
    let server = Server::start(config, watcher).await.map_err(|e| {
        let exit = match e {
            ServerError::Listen { .. } => Exit::Network,
            _ => Exit::Usage,
        };
        CliError { exit, message: e.to_string() }
    })?;
    output::stdout_line(&format!(
        "genjob serve listening on http://{} ({} unfinished watches picked up); press Ctrl-C to stop",
        server.addr(),
        server.resumed()
    ))?;
    stop_signal().await;
    eprintln!("genjob: stopping; unfinished watches and pending webhooks stay in the store");
    server.shutdown().await;
    Ok(Exit::Success)
}

/// Ctrl-C, SIGTERM or SIGHUP.
async fn stop_signal() {
    #[cfg(unix)]
    let (terminate, hang_up) = {
        use tokio::signal::unix::{SignalKind, signal};
        let wait = |kind| async move {
            match signal(kind) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        (wait(SignalKind::terminate()), wait(SignalKind::hangup()))
    };
    #[cfg(not(unix))]
    let (terminate, hang_up) = (std::future::pending::<()>(), std::future::pending::<()>());
    tokio::select! {
        Ok(()) = tokio::signal::ctrl_c() => {}
        () = terminate => {}
        () = hang_up => {}
    }
}
