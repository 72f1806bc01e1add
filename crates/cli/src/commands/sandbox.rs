//! `genjob sandbox`: a local imitation of the providers' status APIs, seeded with demo jobs.

use crate::cli::SandboxArgs;
use crate::exit::{CliError, Exit};
use crate::output;
use genjob_sandbox::{Pace, Sandbox, SandboxConfig, SandboxError, demo_jobs};

/// The token the standalone sandbox accepts (it is a local toy, so a fixed value is fine).
pub const SANDBOX_TOKEN: &str = "sandbox-token";

/// Maps a sandbox failure to an exit code: a bad `--speed` is a usage error, the rest is the network's.
pub fn sandbox_error(e: &SandboxError) -> CliError {
    let exit = match e {
        SandboxError::InvalidSpeed { .. } => Exit::Usage,
        _ => Exit::Network,
    };
    CliError { exit, message: e.to_string() }
}

/// Runs `genjob sandbox` until Ctrl-C.
pub async fn run(args: SandboxArgs) -> Result<Exit, CliError> {
    // Its clients watch on the real clock, so `--speed` runs the jobs faster, never the clock:
    // records and ids stay dated in real time, however long the sandbox runs.
    let config = SandboxConfig {
        speed: args.speed,
        pace: Pace::RealClock,
        token: Some(SANDBOX_TOKEN.to_owned()),
        ..SandboxConfig::default()
    };
    // `serve_forever` logs the seeded ids only through tracing; starting the sandbox here lets us print them.
    let sandbox = Sandbox::start(args.listen, config).await.map_err(|e| sandbox_error(&e))?;
    let base = sandbox.base_url();
    output::stdout_line(&format!(
        "genjob sandbox listening on {base} (jobs run {}× faster; times follow the real clock); press Ctrl-C to stop",
        args.speed
    ))?;
    output::stdout_line("\nexport these to point genjob at it:")?;
    for line in [
        format!("export USEAPI_BASE_URL={base}"),
        format!("export USEAPI_TOKEN={SANDBOX_TOKEN}"),
        format!("export TOKEN360_BASE_URL={base}"),
        format!("export TOKEN360_API_KEY={SANDBOX_TOKEN}"),
        // OpenAI's SDKs read these; the OpenAI-style video below answers them as OpenAI does.
        format!("export OPENAI_BASE_URL={base}/v1"),
        format!("export OPENAI_API_KEY={SANDBOX_TOKEN}"),
    ] {
        output::stdout_line(&format!("  {line}"))?;
    }
    output::stdout_line("\nseeded jobs (token360 ids need --provider token360):")?;
    for spec in demo_jobs() {
        let kind = if spec.openai_style { format!("{} (openai-style)", spec.kind) } else { spec.kind.to_string() };
        let id = sandbox.add_job(spec);
        output::stdout_line(&format!("  {kind:<30} {id}"))?;
    }
    sandbox
        .serve_until(async {
            // Without a signal handler, keep serving rather than stop at once.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .map_err(|e| sandbox_error(&e))?;
    Ok(Exit::Success)
}
