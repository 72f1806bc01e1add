//! `genjob wait` keeps what it learned about job durations in the cache directory, end to end.

use crate::common::{Run, TOKEN, env_for, genjob, sandbox};
use genjob_sandbox::JobSpec;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Finished long ago: read once, done, and its record says it took 90 s.
fn finished_job() -> JobSpec {
    JobSpec::token360_video().with_duration(Duration::from_secs(90)).with_age(Duration::from_secs(600))
}

fn learned_file(cache: &Path) -> PathBuf {
    cache.join("genjob").join("learned-durations.json")
}

fn env_with(base: &str, extra: &[(&str, &Path)]) -> Vec<(String, String)> {
    let mut env = env_for(base, TOKEN);
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.to_string_lossy().into_owned())));
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_writes_what_it_learned_and_the_next_run_reads_it() {
    let sandbox = sandbox(60.0).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let env = env_with(&sandbox.base_url(), &[("XDG_CACHE_HOME", cache.path())]);
    let job = sandbox.add_job(finished_job());
    let run = genjob(&["wait", &job, "--provider", "token360"], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("warning"), "{run:?}");
    let text = std::fs::read_to_string(learned_file(cache.path())).expect("the file is written");
    let saved: Value = serde_json::from_str(&text).expect("the file is JSON");
    assert_eq!(saved["format"], "genjob-learned-durations");
    let keys = saved["keys"].as_array().expect("keys");
    assert!(keys.iter().all(|k| k["key"]["provider"] == "token360"), "{text}");
    // The job's own timestamps: 90 s, not the 600 s it had been done for when it was read.
    assert!(keys.iter().all(|k| k["finished"][0][0] == 90.0), "{text}");
    assert!(text.len() < 2_000, "small: {text}");

    // A second run reads the file, adds its job and keeps the first one.
    let other = sandbox.add_job(finished_job().with_duration(Duration::from_secs(95)));
    let run = genjob(&["wait", &other, "--provider", "token360"], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(learned_file(cache.path())).expect("the file is still there");
    let saved: Value = serde_json::from_str(&text).expect("the file is JSON");
    assert!(saved["keys"].as_array().expect("keys").iter().all(|k| k["finished"].as_array().map(Vec::len) == Some(2)));
    // The file and the lock that serialises saves: no temporary file left beside them.
    let mut names: Vec<String> = std::fs::read_dir(cache.path().join("genjob"))
        .expect("the directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["learned-durations.json", "learned-durations.lock"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_or_foreign_file_is_a_warning_not_a_failure() {
    let sandbox = sandbox(60.0).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let env = env_with(&sandbox.base_url(), &[("XDG_CACHE_HOME", cache.path())]);
    let path = learned_file(cache.path());
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("the directory");
    for content in
        ["{\"format\": \"genjob-learned-dur", r#"{"format": "someone-else", "version": 1, "keys": []}"#, "\u{0}\u{1}"]
    {
        std::fs::write(&path, content).expect("the file is written");
        let job = sandbox.add_job(finished_job());
        let run = genjob(&["wait", &job, "--provider", "token360", "--json"], &env, None).await;
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stderr.contains("warning") && run.stderr.contains("learned-durations.json"), "{run:?}");
        assert_eq!(run.json_lines().len(), 1);
        // Replaced by a good file.
        let text = std::fs::read_to_string(&path).expect("the file");
        assert!(serde_json::from_str::<Value>(&text).is_ok_and(|v| v["format"] == "genjob-learned-durations"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_learn_and_the_variable_write_nothing() {
    let sandbox = sandbox(60.0).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let env = env_with(&sandbox.base_url(), &[("XDG_CACHE_HOME", cache.path())]);
    let job = sandbox.add_job(finished_job());
    let run = genjob(&["wait", &job, "--provider", "token360", "--no-learn"], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let mut off = env.clone();
    off.push(("GENJOB_NO_LEARN".to_owned(), "1".to_owned()));
    let run = genjob(&["wait", &job, "--provider", "token360"], &off, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read_dir(cache.path()).expect("the cache").count(), 0, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_xdg_cache_home_the_file_goes_under_home() {
    let sandbox = sandbox(60.0).await;
    let home = tempfile::tempdir().expect("temp dir");
    let env = env_with(&sandbox.base_url(), &[("HOME", home.path())]);
    let job = sandbox.add_job(finished_job());
    let run = genjob(&["wait", &job, "--provider", "token360"], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(learned_file(&home.path().join(".cache")).is_file());
}

/// The data segment `genjob_limited` allows, in KiB: a run uses a few dozen MiB (with two workers),
/// one that reads `/dev/zero` until allocation fails would use everything.
const DATA_LIMIT_KIB: u64 = 256 * 1024;

/// Runs the built binary like `common::genjob`, but with its memory limited (`ulimit -d`, to
/// [`DATA_LIMIT_KIB`]) and killed after a minute, so a run that reads a device for ever or waits
/// on a FIFO fails the test instead of exhausting the machine or hanging the test run.
async fn genjob_limited(args: &[&str], env: &[(String, String)]) -> Run {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let mut env = env.to_vec();
    // As many runtime threads (each with its stack) on any machine.
    env.push(("TOKIO_WORKER_THREADS".to_owned(), "2".to_owned()));
    let run = tokio::task::spawn_blocking(move || {
        let out = tempfile::tempdir().expect("temp dir");
        let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
        let script = format!("ulimit -d {DATA_LIMIT_KIB} && exec \"$0\" \"$@\"");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_genjob"))
            .args(&args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("sh starts");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("the child can be waited for") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("genjob {args:?} hung: still running after a minute");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).expect("output file")).into_owned();
        Run { code: status.code().unwrap_or(-1), stdout: read(&stdout), stderr: read(&stderr) }
    })
    .await
    .expect("the blocking task completes");
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "the token leaked into the output: {run:?}");
    run
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("the directory");
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Issue 18, points 1 and 2: a FIFO (opening it waited for a writer, before the wait and its
/// deadline began) and devices (read until allocation failed) as the learned file. Each is now a
/// warning naming it, the wait ends as usual, and the file is replaced by a good one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_or_a_device_as_the_learned_file_is_a_warning_not_a_hang() {
    let sandbox = sandbox(60.0).await;
    for (case, what) in
        [("fifo", "a FIFO"), ("/dev/zero", "a character device"), ("/dev/urandom", "a character device")]
    {
        let cache = tempfile::tempdir().expect("temp dir");
        let env = env_with(&sandbox.base_url(), &[("XDG_CACHE_HOME", cache.path())]);
        let path = learned_file(cache.path());
        if case == "fifo" {
            mkfifo(&path);
        } else {
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("the directory");
            std::os::unix::fs::symlink(case, &path).expect("the symlink");
        }
        let job = sandbox.add_job(finished_job());
        let run = genjob_limited(&["wait", "--timeout", "5s", &job, "--provider", "token360", "--json"], &env).await;
        assert_eq!(run.code, 0, "{case}: {run:?}");
        assert_eq!(run.json_lines().len(), 1, "{case}: {run:?}");
        assert_eq!(run.stderr.matches("warning").count(), 1, "{case}: one warning: {run:?}");
        let warning = format!("ignoring the learned job durations in {}: it is {what}", path.display());
        assert!(run.stderr.contains(&warning), "{case}: {run:?}");
        // Replaced by a good file (the symlink itself, not what it pointed to).
        assert!(std::fs::symlink_metadata(&path).expect("the file").is_file(), "{case}");
        let text = std::fs::read_to_string(&path).expect("the file");
        assert!(serde_json::from_str::<Value>(&text).is_ok_and(|v| v["format"] == "genjob-learned-durations"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_as_the_lock_file_loses_only_the_learning() {
    let sandbox = sandbox(60.0).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let env = env_with(&sandbox.base_url(), &[("XDG_CACHE_HOME", cache.path())]);
    let lock = cache.path().join("genjob").join("learned-durations.lock");
    mkfifo(&lock);
    let job = sandbox.add_job(finished_job());
    let run = genjob_limited(&["wait", "--timeout", "5s", &job, "--provider", "token360"], &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr.matches("warning").count(), 1, "one warning: {run:?}");
    let warning = format!("could not save the learned job durations to {}", learned_file(cache.path()).display());
    assert!(
        run.stderr.contains(&warning) && run.stderr.contains("lock file") && run.stderr.contains("a FIFO"),
        "{run:?}"
    );
    assert!(!learned_file(cache.path()).exists());
}
