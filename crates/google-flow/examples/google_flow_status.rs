//! Prints the normalized status of one Google Flow job as JSON.
//!
//! ```sh
//! USEAPI_TOKEN=... cargo run -p genjob-google-flow --example google_flow_status -- '<jobid>'
//! ```
//!
//! `USEAPI_BASE_URL` points the client elsewhere (a sandbox); it defaults to `https://api.useapi.net`.

use std::process::ExitCode;

use genjob_google_flow::{ENV, GoogleFlowClient};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(raw) = std::env::args().nth(1) else {
        eprintln!("usage: google_flow_status <jobid>   (needs {} in the environment)", ENV.token);
        return ExitCode::from(2);
    };
    let id = match raw.parse() {
        Ok(id) => id,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let client = match GoogleFlowClient::from_env() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match client.job(&id).await {
        Ok(fetched) => match serde_json::to_string_pretty(&fetched.job) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot print the job: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
