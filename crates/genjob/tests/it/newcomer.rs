//! The crate's first example, run as a newcomer would run it: the built program, `genjob` alone, its
//! settings from the environment, against the sandbox on 127.0.0.1.

use genjob_sandbox::{JobSpec, Sandbox, SandboxConfig};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// `target/<profile>/examples/wait_and_download`: `cargo test` builds examples before running tests.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("tests run from target/<profile>/deps");
    profile_dir.join("examples").join(format!("wait_and_download{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_example_waits_for_three_jobs_and_downloads_their_outputs() {
    let binary = example_binary();
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds the examples; build it with `cargo build -p genjob --examples`",
        binary.display()
    );
    let config = SandboxConfig { token: Some("sandbox-token".to_owned()), ..SandboxConfig::default() };
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let done = Duration::from_secs(600);
    let ids = [
        sandbox.add_job(JobSpec::dreamina_video().with_age(done)),
        sandbox.add_job(JobSpec::dreamina_image().with_age(done)),
        sandbox.add_job(JobSpec::google_flow_video().with_age(done)),
    ];
    let outputs = tempfile::tempdir().unwrap();
    let dir = outputs.path().join("not-yet-made");
    let run = tokio::task::spawn_blocking({
        let (base, dir) = (sandbox.base_url().to_owned(), dir.clone());
        move || {
            Command::new(binary)
                .args(ids)
                .env_clear()
                .env("USEAPI_TOKEN", "sandbox-token")
                .env("USEAPI_BASE_URL", base)
                .env("GENJOB_OUTPUTS", dir)
                .output()
        }
    });
    let output = tokio::time::timeout(Duration::from_secs(120), run).await.unwrap().unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}\n{stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.matches("✓").count(), 3, "{stdout}");
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(files >= 3, "the download directory was created and holds every job's files: {files}\n{stdout}");
    let stats = sandbox.stats();
    assert!(stats.files >= 3 && stats.files_with_authorization == 0, "no token reaches a file host: {stats:?}");
}
