//! `genjob executing`: every executing Dreamina job, by account, in one request.

use crate::cli::ExecutingArgs;
use crate::exit::{CliError, Exit};
use crate::output;
use crate::sources::{self, Lookup};

/// Runs `genjob executing`.
pub async fn run(args: ExecutingArgs, lookup: Lookup<'_>) -> Result<Exit, CliError> {
    let client = sources::dreamina(lookup)?;
    let listing = client.executing_jobs().await.map_err(|e| CliError::transport(&e))?;
    if args.json {
        let line = serde_json::to_string(&listing).map_err(|e| CliError {
            exit: Exit::InvalidResponse,
            message: format!("cannot render the listing: {e}"),
        })?;
        output::stdout_line(&line)?;
        return Ok(Exit::Success);
    }
    let total = listing.total.into_option().unwrap_or(listing.jobs().count() as u64);
    output::stdout_line(&format!("{total} executing Dreamina job(s)"))?;
    for (account, jobs) in listing.accounts() {
        output::stdout_line(&format!("{} ({} job(s))", output::safe(account), jobs.len()))?;
        let rows: Vec<Vec<String>> = jobs
            .iter()
            .map(|j| {
                vec![
                    format!("  {}", j.jobid),
                    j.model.as_deref().unwrap_or("-").to_owned(),
                    j.elapsed_seconds.as_option().map_or_else(|| "-".to_owned(), |s| format!("{s}s")),
                ]
            })
            .collect();
        if !rows.is_empty() {
            output::stdout_line(&output::table(&["  job", "model", "elapsed"], &rows))?;
        }
    }
    Ok(Exit::Success)
}
