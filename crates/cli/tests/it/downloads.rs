//! `genjob wait --download` end to end: names that never collide or clobber, extensions from the
//! server, files made with the user's umask, the directory checked first, and no `.part` left behind.

use crate::common::files::{FileServer, Files, PNG, TRICKLING_MP4, names_in};
use crate::common::{TOKEN, env_for, genjob, sandbox};
use genjob_sandbox::JobSpec;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_job_twice_and_an_existing_file_are_never_overwritten() {
    let server = FileServer::start(PNG).await;
    let env = env_for(&server.base, TOKEN);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_string_lossy().into_owned();
    // A file the user already has under the name genjob would pick.
    std::fs::write(dir.path().join("video_abc-0.png"), b"mine").expect("write");

    let run =
        genjob(&["wait", "video_abc", "video_abc", "--provider", "token360", "--download", &out], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(names_in(dir.path()), ["video_abc-0-2.png", "video_abc-0-3.png", "video_abc-0.png"], "{run:?}");
    assert_eq!(
        std::fs::read(dir.path().join("video_abc-0.png")).expect("read"),
        b"mine",
        "the user's file is untouched"
    );

    let again =
        genjob(&["wait", "video_abc", "--provider", "token360", "--download", &out, "--overwrite"], &env, None).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(std::fs::read(dir.path().join("video_abc-0.png")).expect("read").len(), 4096, "asked to overwrite");
    assert_eq!(names_in(dir.path()).len(), 3, "no new name when overwriting was asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_very_long_id_gets_a_short_stable_name() {
    let server = FileServer::start(Files { content_type: "video/mp4", trickle: false }).await;
    let env = env_for(&server.base, TOKEN);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_string_lossy().into_owned();
    let long = format!("video_{}", "x".repeat(300));
    let run = genjob(&["wait", &long, "--provider", "token360", "--download", &out], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let names = names_in(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].len() <= 200 && names[0].ends_with("-0.mp4") && names[0].starts_with("video_xxx"), "{names:?}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_created_with_the_users_umask() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let id = sandbox.add_job(JobSpec::token360_video().with_age(Duration::from_secs(600)));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_string_lossy().into_owned();
    let run = genjob(&["wait", &id, "--provider", "token360", "--download", &out], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    // A file this process creates the ordinary way gets 0666 minus the same umask genjob inherited.
    let reference = dir.path().join("reference");
    std::fs::write(&reference, b"").expect("write");
    let expected = std::fs::metadata(&reference).expect("stat").permissions().mode() & 0o777;
    let downloaded = names_in(dir.path()).into_iter().find(|n| n.ends_with(".mp4")).expect("a video");
    let mode = std::fs::metadata(dir.path().join(downloaded)).expect("stat").permissions().mode() & 0o777;
    assert_eq!(format!("{mode:o}"), format!("{expected:o}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_download_directory_is_refused_before_any_request() {
    let server = FileServer::start(PNG).await;
    let env = env_for(&server.base, TOKEN);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let under_a_file = file.join("out").to_string_lossy().into_owned();
    let run = genjob(&["wait", "video_abc", "--provider", "token360", "--download", &under_a_file], &env, None).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("download directory"), "{run:?}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0, "nothing was waited on first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_download_is_bounded_by_its_own_timeout() {
    let server = FileServer::start(TRICKLING_MP4).await;
    let env = env_for(&server.base, TOKEN);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_string_lossy().into_owned();
    let started = Instant::now();
    let run = genjob(
        &["wait", "video_slow", "--provider", "token360", "--download", &out, "--download-timeout", "2s"],
        &env,
        None,
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("download timeout"), "{run:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert_eq!(names_in(dir.path()), Vec::<String>::new(), "no file and no `.part`");
}

/// Sends `signal` (`TERM`, `HUP` …) to `genjob wait --download` once its download has begun: it
/// must end with 130, say `why` on stderr, and leave no `.part` file behind.
#[cfg(unix)]
pub(crate) async fn a_signal_during_a_download_leaves_no_part_file(signal: &'static str, why: &str) {
    let server = FileServer::start(TRICKLING_MP4).await;
    let env = env_for(&server.base, TOKEN);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        let child = Command::new(env!("CARGO_BIN_EXE_genjob"))
            .args(["wait", "video_slow", "--provider", "token360", "--download"])
            .arg(&out)
            .env_clear()
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("genjob starts");
        let started = Instant::now();
        while !names_in(&out).iter().any(|n| n.ends_with(".part")) && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(names_in(&out).iter().any(|n| n.ends_with(".part")), "the download never started");
        let sent = Command::new("sh").args(["-c", &format!("kill -{signal} {}", child.id())]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} failed");
        child.wait_with_output().expect("genjob exits")
    })
    .await
    .expect("the blocking task completes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert_eq!(names_in(dir.path()), Vec::<String>::new(), "no `.part` outlives the process");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_download_leaves_no_part_file() {
    a_signal_during_a_download_leaves_no_part_file("TERM", "terminated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_style_video_is_downloaded_from_the_bytes_its_content_url_answers() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let id = sandbox.add_job(JobSpec::token360_video().with_openai_style().with_age(Duration::from_secs(600)));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_string_lossy().into_owned();
    let run = genjob(&["wait", &id, "--provider", "token360", "--download", &out, "--json"], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let line = &run.json_lines()[0];
    assert_eq!(line["status"], "completed");
    assert_eq!(line["outputs"], serde_json::json!([]), "the record itself names no file");
    let names = names_in(dir.path());
    assert_eq!(names, [format!("{id}-0.mp4")], "{run:?}");
    // OpenAI's `/content` answers the video itself (not a JSON link): streamed to the file.
    let bytes = std::fs::read(dir.path().join(&names[0])).expect("the video");
    assert_eq!(&bytes[4..8], b"ftyp", "an MP4, not JSON");
    let stats = sandbox.stats();
    assert_eq!((stats.token360_content, stats.files, stats.files_with_authorization), (1, 0, 0), "{stats:?}");
}
