//! The command line: clap types for every subcommand.

use crate::exit::EXIT_CODES_HELP;
use clap::{Args, Parser, Subcommand};
use genjob::Provider;
use genjob::transport::DEFAULT_MAX_RESPONSE_SIZE;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Check, wait for and download AI media-generation jobs (useapi.net Dreamina and Google Flow, token360).
#[derive(Debug, Parser)]
#[command(name = "genjob", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a job's current state once.
    #[command(after_help = EXIT_CODES_HELP)]
    Status(StatusArgs),
    /// Wait until jobs reach a final state, with live progress; optionally download their outputs.
    #[command(after_help = EXIT_CODES_HELP)]
    Wait(WaitArgs),
    /// List every executing Dreamina job, grouped by account.
    #[command(after_help = EXIT_CODES_HELP)]
    Executing(ExecutingArgs),
    /// Turn a raw provider job record (JSON) into genjob's normalized JSON.
    #[command(after_help = EXIT_CODES_HELP)]
    Normalize(NormalizeArgs),
    /// Run a local server that imitates the providers' status APIs, seeded with demo jobs.
    Sandbox(SandboxArgs),
    /// Watch a mixed batch of jobs on an in-process, accelerated sandbox and download their outputs.
    Demo(DemoArgs),
    /// Run the watch service: an HTTP API over a durable store, signed webhooks when jobs end.
    Serve(ServeArgs),
}

/// Parses `--provider`; clap turns the error into a usage error (exit 2).
fn parse_provider(raw: &str) -> Result<Provider, String> {
    raw.parse::<Provider>().map_err(|e| e.to_string())
}

/// Parses `500ms`, `30s`, `5m`, `1h`.
fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("{e}; write e.g. 500ms, 30s, 5m or 1h"))
}

/// Parses a byte count: `1048576`, or with a binary unit `512KiB`, `8MiB`, `1GiB`.
fn parse_size(raw: &str) -> Result<u64, String> {
    let advice = "write a number of bytes, optionally with KiB, MiB or GiB (e.g. 1048576 or 64MiB)";
    let raw = raw.trim();
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown unit `{other}`; {advice}")),
    };
    let count: u64 = digits.parse().map_err(|_| format!("`{raw}` is not a size; {advice}"))?;
    count.checked_mul(multiplier).ok_or_else(|| format!("`{raw}` is too large; {advice}"))
}

/// Arguments of `genjob status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The job id, exactly as the provider returned it.
    #[arg(value_name = "JOB_ID")]
    pub id: String,
    /// The provider; required for token360's opaque ids, otherwise read from the id.
    #[arg(long, value_parser = parse_provider, value_name = "dreamina|google-flow|token360")]
    pub provider: Option<Provider>,
    /// Print the normalized job as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// Print the provider's record instead, as one JSON line: every field it sent, unknown ones and explicit nulls included.
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
    /// Give up after this long in all, retries included (e.g. 10s, 2m); exit 5 if no answer came.
    #[arg(long, value_parser = parse_duration, value_name = "DUR", default_value = "60s")]
    pub timeout: Duration,
}

/// Arguments of `genjob wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The job ids, exactly as the providers returned them.
    #[arg(value_name = "JOB_ID", required = true)]
    pub ids: Vec<String>,
    /// The provider of every id; required for token360's opaque ids, otherwise read from each id.
    #[arg(long, value_parser = parse_provider, value_name = "dreamina|google-flow|token360")]
    pub provider: Option<Provider>,
    /// Give up after this long (e.g. 30s, 5m, 1h); exit 5 if a job is still running.
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub timeout: Option<Duration>,
    /// Poll every job at this fixed interval instead of genjob's adaptive schedule.
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub every: Option<Duration>,
    /// Download the outputs of completed jobs into this directory (created if missing, checked before waiting).
    #[arg(long, value_name = "DIR")]
    pub download: Option<PathBuf>,
    /// Replace files that already exist in the download directory (by default a new name is chosen).
    #[arg(long, requires = "download")]
    pub overwrite: bool,
    /// Give up on one job's downloads after this long, however slowly the server sends (e.g. 10m).
    #[arg(long, value_parser = parse_duration, value_name = "DUR", requires = "download")]
    pub download_timeout: Option<Duration>,
    /// Print each job as one JSON line when it reaches its final state (timed-out jobs print nothing).
    #[arg(long)]
    pub json: bool,
    /// Accept the providers' callbacks (replyUrl / callback_url) on this address, e.g. 0.0.0.0:8080:
    /// a callback wakes its job, whose record is then read; polling goes on, sparser, as the fallback.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Accept only callback paths holding this secret as a segment (give providers
    /// http(s)://HOST/hooks/SECRET); for a receiver reachable from the internet.
    #[arg(long, value_name = "SECRET", requires = "listen")]
    pub listen_secret: Option<String>,
    /// Neither use nor update what genjob learned about how long jobs take (also GENJOB_NO_LEARN=1).
    ///
    /// By default `wait` keeps each finished job's time-to-finish in
    /// $XDG_CACHE_HOME/genjob/learned-durations.json (else ~/.cache/genjob/…) and plans its checks on it.
    #[arg(long)]
    pub no_learn: bool,
}

/// Arguments of `genjob executing`.
#[derive(Debug, Args)]
pub struct ExecutingArgs {
    /// Print the listing as one JSON line.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `genjob normalize`.
#[derive(Debug, Args)]
pub struct NormalizeArgs {
    /// The record's provider; detected from the record's shape when absent.
    #[arg(long, value_parser = parse_provider, value_name = "dreamina|google-flow|token360")]
    pub provider: Option<Provider>,
    /// The JSON file to read; `-` or nothing reads standard input.
    #[arg(value_name = "FILE|-")]
    pub file: Option<PathBuf>,
    /// Refuse input larger than this (bytes, or with KiB/MiB/GiB); the default is the limit on HTTP bodies.
    #[arg(long, value_parser = parse_size, value_name = "BYTES", default_value_t = DEFAULT_MAX_RESPONSE_SIZE)]
    pub max_size: u64,
}

/// Arguments of `genjob sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// How many times faster jobs run than documented; records, ids and ages follow the real clock.
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    pub speed: f64,
}

/// Arguments of `genjob serve` (the API token comes from GENJOB_SERVER_TOKEN, never the command line).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the API listens on.
    #[arg(long, default_value = "127.0.0.1:8780", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The store: `sqlite://FILE` (or a plain path), created with its migrations if missing; or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, shared by several replicas.
    #[arg(long, default_value = genjob_server::cfg::DEFAULT_DB, value_name = "URL")]
    pub db: String,
    /// Where the outputs of `download: true` watches are kept (created when first needed).
    #[arg(long, default_value = genjob_server::cfg::DEFAULT_OUTPUT_DIR, value_name = "DIR")]
    pub outputs: PathBuf,
    /// PostgreSQL: how long a replica holds a watch unrenewed (renewed every third of it); the
    /// watches of a replica that dies are taken over within this time (at least 1s).
    #[arg(long, value_parser = parse_duration, value_name = "DUR", default_value = "30s")]
    pub lease: Duration,
}

/// Arguments of `genjob demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to download the outputs of completed jobs.
    #[arg(long, default_value = "genjob-demo", value_name = "DIR")]
    pub out: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent_and_documents_exit_codes() {
        Cli::command().debug_assert();
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:") && help.contains("2, 8, 130, 3, 4, 7, 6, 5, 1, 0"), "{help}");
    }

    #[test]
    fn durations_and_providers_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_provider("google-flow"), Ok(Provider::GoogleFlow));
        assert!(parse_provider("midjourney").is_err());
    }

    #[test]
    fn sizes_parse_as_bytes_or_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("0"), Ok(0));
        for bad in ["", "MiB", "8MB", "-1", "1.5MiB", "99999999999999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
