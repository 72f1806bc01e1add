//! Prints the normalized status of one Google Flow job as JSON.
//!
//! ```sh
//! USEAPI_TOKEN=... cargo run -p genjob-google-flow --example google_flow_status -- '<jobid>'
//! ```
//!
//! `USEAPI_BASE_URL` points the client elsewhere (a sandbox); it defaults to `https://api.useapi.net`.

use genjob_google_flow::GoogleFlowClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::args().nth(1).ok_or("usage: google_flow_status <jobid>   (needs USEAPI_TOKEN)")?.parse()?;
    let job = GoogleFlowClient::from_env()?.job(&id).await?.job;
    println!("{}", serde_json::to_string_pretty(&job)?);
    Ok(())
}
