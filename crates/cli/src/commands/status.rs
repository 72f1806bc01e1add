//! `genjob status`: read one job once and show it.

use crate::cli::StatusArgs;
use crate::exit::{CliError, Exit};
use crate::output;
use crate::sources::{self, Lookup};

/// Runs `genjob status`: exit 0 whenever the job was read, whatever its state.
pub async fn run(args: StatusArgs, lookup: Lookup<'_>) -> Result<Exit, CliError> {
    let target = sources::resolve_target(&args.id, args.provider)?;
    let source = sources::source(target.provider, lookup)?;
    let fetched = source.fetch(&target.id).await.map_err(|e| CliError::transport(&e))?;
    if args.json {
        output::stdout_line(&output::job_json(&fetched.job)?);
    } else {
        output::stdout_line(&output::describe(&fetched.job));
    }
    Ok(Exit::Success)
}
