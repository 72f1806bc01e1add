//! Prints the normalized status of one Dreamina job as JSON, or every executing job.
//!
//! ```sh
//! USEAPI_TOKEN=... cargo run -p genjob-dreamina --example dreamina_status -- '<jobid>'
//! USEAPI_TOKEN=... cargo run -p genjob-dreamina --example dreamina_status -- --executing
//! ```
//!
//! The id's type letter picks `/videos` or `/images`. `USEAPI_BASE_URL` points the client
//! elsewhere (a sandbox); it defaults to `https://api.useapi.net`.

use std::process::ExitCode;

use genjob_dreamina::{DreaminaClient, ENV};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(raw) = std::env::args().nth(1) else {
        eprintln!("usage: dreamina_status <jobid> | --executing   (needs {} in the environment)", ENV.token);
        return ExitCode::from(2);
    };
    let client = match DreaminaClient::from_env() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let printed = if raw == "--executing" {
        match client.executing_jobs().await {
            Ok(listing) => serde_json::to_string_pretty(&listing),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let id = match raw.parse() {
            Ok(id) => id,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        match client.job(&id).await {
            Ok(fetched) => serde_json::to_string_pretty(&fetched.job),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    match printed {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot print the result: {e}");
            ExitCode::FAILURE
        }
    }
}
