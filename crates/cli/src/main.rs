//! The `genjob` command: check, wait for, download and report AI media-generation jobs.

/// `eprintln!` that drops the line when stderr cannot be written (`2>/dev/full`, a closed pipe)
/// instead of panicking as std's does: a diagnostic nobody can read must not turn a run into exit 101.
/// Defined before the modules, so it replaces std's in every one of them.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprint!` that drops the text when stderr cannot be written, like [`eprintln!`] above.
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stderr().lock(), $($arg)*);
    }};
}

mod cli;
mod commands;
mod demo;
mod exit;
mod learned;
mod output;
mod redact;
mod sources;

use clap::Parser;
use cli::{Cli, Command};
use exit::{CliError, Exit};
use redact::{RedactedStderr, Redactor};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Every token the environment holds, so that nothing printed on stderr can show one.
    let redactor = Arc::new(Redactor::from_lookup(&sources::process_env));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, &redactor),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let for_logs = Arc::clone(&redactor);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a terminal: in a log file or a pipe they are noise.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(move || RedactedStderr::new(Arc::clone(&for_logs)))
        .init();
    let exit = match run(cli, &redactor) {
        Ok(exit) => exit,
        Err(e) => {
            // An empty message has nothing to say (stdout was closed: the reader left).
            if !e.message.is_empty() {
                eprintln!("genjob: error: {}", redact::for_terminal(&redactor.redact(&e.message)));
            }
            e.exit
        }
    };
    ExitCode::from(exit.code())
}

/// Prints clap's usage error (exit 2; help and version exit 0), redacted: clap quotes the values it refuses.
fn usage_error(error: &clap::Error, redactor: &Redactor) -> ExitCode {
    let text = error.render().to_string();
    let shown = redactor.redact(&text);
    if shown == text {
        // Nothing secret: clap prints it itself, with colours on a terminal.
        error.exit();
    }
    if error.use_stderr() {
        eprint!("{shown}");
    } else if let Err(e) = output::stdout_text(&shown) {
        return ExitCode::from(e.exit.code());
    }
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(Exit::Usage.code()))
}

/// Refuses a job id that is a configured token, before it can be printed or sent in a URL.
fn refuse_tokens_as_ids(command: &Command, redactor: &Redactor) -> Result<(), CliError> {
    let ids: &[String] = match command {
        Command::Status(args) => std::slice::from_ref(&args.id),
        Command::Wait(args) => &args.ids,
        _ => &[],
    };
    match ids.iter().find_map(|id| redactor.token_variable(id)) {
        Some(variable) => Err(CliError::usage(format!(
            "a job id given is the value of {variable}: pass the id the provider returned for the job, not the API token"
        ))),
        None => Ok(()),
    }
}

fn run(cli: Cli, redactor: &Redactor) -> Result<Exit, CliError> {
    refuse_tokens_as_ids(&cli.command, redactor)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError { exit: Exit::Network, message: format!("cannot start the async runtime: {e}") })?;
    let lookup = sources::process_env;
    runtime.block_on(async {
        match cli.command {
            Command::Status(args) => commands::status::run(args, &lookup).await,
            Command::Wait(args) => commands::wait::run(args, &lookup).await,
            Command::Executing(args) => commands::executing::run(args, &lookup).await,
            Command::Normalize(args) => commands::normalize::run(args),
            Command::Sandbox(args) => commands::sandbox::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Serve(args) => commands::serve::run(args, &lookup).await,
        }
    })
}
