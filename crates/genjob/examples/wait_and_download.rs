//! A first genjob program: wait for jobs and download their outputs, with `genjob` (and tokio) alone.
//!
//! Against the built-in sandbox, in two shells:
//!
//! ```sh
//! genjob sandbox --listen 127.0.0.1:8787     # prints a few job ids to try
//! USEAPI_TOKEN=sandbox USEAPI_BASE_URL=http://127.0.0.1:8787 \
//!   cargo run -p genjob --example wait_and_download -- <JOB_ID>...
//! ```
//!
//! Against the real services, set `USEAPI_TOKEN` and/or `TOKEN360_API_KEY` instead. Files go to
//! `./outputs` (or `GENJOB_OUTPUTS`); the program exits non-zero unless every job completed and
//! every file arrived.

use genjob::{DownloadPlan, StreamExt, WaitError, WatchEvent, WatchTarget, Watcher};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A source for every provider whose token is set: USEAPI_TOKEN, TOKEN360_API_KEY.
    let watcher = Watcher::from_env()?;
    // Dreamina and Google Flow ids name their provider; token360's need `WatchTarget::resolve(id, Some(..))`.
    let targets = std::env::args().skip(1).map(|id| WatchTarget::resolve(&id, None)).collect::<Result<Vec<_>, _>>()?;
    let dir = std::env::var("GENJOB_OUTPUTS").unwrap_or_else(|_| "outputs".to_owned());
    // The directory is created (or refused) here, before any waiting.
    let mut watch =
        watcher.watch(targets).with_timeout(Duration::from_secs(600)).with_downloads(DownloadPlan::new(dir))?;
    let mut all_well = true;
    while let Some(event) = watch.next().await {
        match event {
            WatchEvent::Progress(progress) => println!("… {progress}"),
            WatchEvent::Ended(ended) => match ended.result {
                Ok(done) => println!("✓ {} completed after {} reads", ended.id, done.polls),
                Err(WaitError::JobFailed(failed)) => {
                    all_well = false;
                    println!("✗ {} failed: {}", ended.id, genjob::failure_summary(&failed.job));
                }
                Err(WaitError::TimedOut { elapsed, .. }) => {
                    all_well = false;
                    println!("… {} still running after {elapsed:?}", ended.id);
                }
                Err(other) => {
                    all_well = false;
                    println!("✗ {other}");
                }
            },
            WatchEvent::Downloaded(downloaded) => match downloaded.result {
                Ok(files) => files.iter().for_each(|f| println!("↓ {} ({} bytes)", f.path.display(), f.bytes)),
                Err(e) => {
                    all_well = false;
                    println!("✗ {e}");
                }
            },
            // Events added in later versions.
            _ => {}
        }
    }
    if all_well { Ok(()) } else { Err("not every job completed with its files".into()) }
}
