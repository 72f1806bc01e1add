//! The openai-python client's `retrieve`, `poll`, `list` and `download_content` against the sandbox,
//! as a user testing their own OpenAI-style code would run them (`openai_python.py` beside this file).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use genjob_sandbox::{JobSpec, Pace, SandboxConfig};
use serde_json::{Value, json};

use crate::support::{Harness, TOKEN, TestResult, start_with};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http/openai_python.py");

/// Why the client cannot run here, if it cannot: no `python3`, or no `openai` module for it.
fn missing_client() -> Option<&'static str> {
    match Command::new("python3").args(["-c", "import openai"]).output() {
        Err(_) => Some("no python3 on PATH"),
        Ok(output) if !output.status.success() => {
            Some("python3 has no openai module (python3 -m pip install 'openai>=2.2', as .ci/run does)")
        }
        Ok(_) => None,
    }
}

/// Runs the script against the sandbox, with the client's settings in its environment.
async fn run_script(h: &Harness, done: &str, running: &str, out: &Path) -> Result<Output, std::io::Error> {
    let mut command = Command::new("python3");
    command
        .arg(SCRIPT)
        .env("OPENAI_BASE_URL", format!("{}/v1", h.sandbox.base_url()))
        .env("OPENAI_API_KEY", TOKEN)
        .env("GENJOB_DONE_ID", done)
        .env("GENJOB_RUNNING_ID", running)
        .env("GENJOB_OUT_DIR", out)
        // Requests to 127.0.0.1 must never go through a proxy the machine may be set up with.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("OPENAI_ORG_ID")
        .env_remove("OPENAI_PROJECT_ID");
    // The script bounds itself (60 s alarm, 20 s per request); the sandbox keeps serving meanwhile.
    tokio::task::spawn_blocking(move || command.output()).await.map_err(std::io::Error::other)?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_retrieves_polls_lists_and_downloads_the_video_bytes() -> TestResult {
    if let Some(reason) = missing_client() {
        println!("skipped: {reason}");
        eprintln!("skipped: {reason}");
        return Ok(());
    }
    // The client runs on the real clock: the sandbox keeps to it and runs only the jobs faster.
    let config = SandboxConfig {
        speed: 100.0,
        pace: Pace::RealClock,
        token: Some(TOKEN.to_owned()),
        ..SandboxConfig::default()
    };
    let h = start_with(config).await?;
    let done = h.sandbox.add_job(JobSpec::token360_video().with_openai_style().with_age(Duration::from_secs(600)));
    // 90 s at speed 100: done within a second, so `poll` sees it queued or running first.
    let running = h.sandbox.add_job(JobSpec::token360_video().with_openai_style());
    let out = tempfile::tempdir()?;

    let run = run_script(&h, &done, &running, out.path()).await?;
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the script failed ({}):\n{stdout}\n{stderr}", run.status);
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())?;
    assert_eq!(seen["retrieved"], "completed", "{seen}");
    assert_eq!(seen["polled"], "completed", "this client has `videos.poll`: {seen}");
    assert_eq!(seen["listed"], json!([running, done]), "newest first, followed page by page");
    assert_eq!(
        seen["content_types"],
        json!({"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"})
    );

    // The written file is the video, byte for byte: what `/content` answers for this job.
    let video =
        h.client.get(h.url(&format!("/v1/videos/{done}/content"))).bearer_auth(TOKEN).send().await?.bytes().await?;
    assert_eq!(&video[4..8], b"ftyp");
    assert!(std::fs::read(out.path().join("x.mp4"))? == video, "x.mp4 is not the video");
    assert!(std::fs::read(out.path().join("video.mp4"))? == video, "video.mp4 is not the video");
    assert!(std::fs::read(out.path().join("thumbnail.webp"))?.starts_with(b"RIFF"));
    assert!(std::fs::read(out.path().join("spritesheet.jpg"))?.starts_with(b"\xff\xd8\xff"));

    let stats = h.sandbox.stats();
    assert!(stats.token360 >= 2, "retrieve and at least one poll read the record: {stats:?}");
    assert_eq!((stats.token360_list, stats.token360_content), (2, 5), "{stats:?}");
    Ok(())
}
