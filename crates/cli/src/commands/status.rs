//! `genjob status`: read one job once, through the same tracker `wait` uses, and show it.

use crate::cli::StatusArgs;
use crate::exit::{CliError, Exit};
use crate::output;
use crate::sources::{self, Lookup};
use genjob::{RetryTransient, WatchOptions, Watcher};
use std::sync::Arc;

/// Runs `genjob status`: exit 0 whenever the job was read, whatever its state.
///
/// The record goes through the status tracker, so a Dreamina job still `created` an hour after its
/// creation shows as failed (408), exactly as `genjob wait` would report it. `--raw` prints the
/// provider's record itself instead, as it was sent.
pub async fn run(args: StatusArgs, lookup: Lookup<'_>) -> Result<Exit, CliError> {
    let target = sources::resolve_target(&args.id, args.provider)?;
    let source = sources::source(target.provider, lookup)?;
    // A one-off read rides out a brief overload (a few attempts), within `--timeout` in all.
    let errors = RetryTransient::new().with_attempt_limit(Some(4)).with_time_limit(None);
    let options = WatchOptions::new().with_error_policy(Arc::new(errors));
    let watcher = Watcher::new().with_source(source).with_options(options);
    let read = watcher.read(target, args.timeout).await;
    let snapshot = read.map_err(|e| CliError { exit: Exit::from_wait(&e), message: e.to_string() })?;
    if args.raw {
        // The record as parsed, serialized back: lossless, so this is what the provider sent.
        output::stdout_line(&snapshot.record.to_value().to_string())?;
    } else if args.json {
        output::stdout_line(&output::job_json(&snapshot.job)?)?;
    } else {
        let mut text = output::describe(&snapshot.job);
        if snapshot.timed_out_locally {
            text.push_str("\nnote      still `created` an hour after creation: failed by the 1-hour rule (the provider will say so too)");
        }
        output::stdout_line(&text)?;
    }
    Ok(Exit::Success)
}
