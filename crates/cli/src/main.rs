//! The `genjob` command: check, wait for, download and report AI media-generation jobs.

mod cli;
mod commands;
mod demo;
mod exit;
mod learned;
mod output;
mod sources;

use clap::Parser;
use cli::{Cli, Command};
use exit::{CliError, Exit};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // clap prints its own usage errors and exits 2 (help and version exit 0).
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let exit = match run(cli) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("genjob: error: {e}");
            e.exit
        }
    };
    ExitCode::from(exit.code())
}

fn run(cli: Cli) -> Result<Exit, CliError> {
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
        }
    })
}
