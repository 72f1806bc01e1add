//! Prints the normalized status of one Dreamina job as JSON, or every executing job.
//!
//! ```sh
//! USEAPI_TOKEN=... cargo run -p genjob-dreamina --example dreamina_status -- '<jobid>'
//! USEAPI_TOKEN=... cargo run -p genjob-dreamina --example dreamina_status -- --executing
//! ```
//!
//! The id's type letter picks `/videos` or `/images`. `USEAPI_BASE_URL` points the client
//! elsewhere (a sandbox); it defaults to `https://api.useapi.net`.

use genjob_dreamina::DreaminaClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1).ok_or("usage: dreamina_status <jobid> | --executing   (needs USEAPI_TOKEN)")?;
    let client = DreaminaClient::from_env()?;
    let json = if arg == "--executing" {
        serde_json::to_string_pretty(&client.executing_jobs().await?)?
    } else {
        serde_json::to_string_pretty(&client.job(&arg.parse()?).await?.job)?
    };
    println!("{json}");
    Ok(())
}
