//! Prints the normalized status of one token360 video task as JSON.
//!
//! ```sh
//! TOKEN360_API_KEY=... cargo run -p genjob-token360 --example token360_status -- <video_id>
//! ```
//!
//! `TOKEN360_BASE_URL` points the client elsewhere (a sandbox); it defaults to `https://api.token360.ai`.

use std::process::ExitCode;

use genjob_token360::{ENV, Token360Client};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(raw) = std::env::args().nth(1) else {
        eprintln!("usage: token360_status <video_id>   (needs {} in the environment)", ENV.token);
        return ExitCode::from(2);
    };
    let id = match raw.parse() {
        Ok(id) => id,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let client = match Token360Client::from_env() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match client.video(&id).await {
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
