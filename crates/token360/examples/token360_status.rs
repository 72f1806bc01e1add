//! Prints the normalized status of one token360 video task as JSON, and where its file is.
//!
//! ```sh
//! TOKEN360_API_KEY=... cargo run -p genjob-token360 --example token360_status -- <video_id>
//! ```
//!
//! `TOKEN360_BASE_URL` points the client elsewhere (a sandbox); it defaults to `https://api.token360.ai`.

use genjob_token360::{JobStatus, Token360Client};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::args().nth(1).ok_or("usage: token360_status <video_id>   (needs TOKEN360_API_KEY)")?.parse()?;
    let client = Token360Client::from_env()?;
    let job = client.video(&id).await?.job;
    println!("{}", serde_json::to_string_pretty(&job)?);
    // OpenAI-style records name no file: `/content` does.
    if job.status == JobStatus::Completed && job.outputs.is_empty() {
        println!("file: {:?}", client.content(&id).await?.url.as_option());
    }
    Ok(())
}
