//! `genjob wait` keeps what it learned about job durations in the cache directory, end to end.

use crate::common::{TOKEN, env_for, genjob, sandbox};
use genjob_sandbox::JobSpec;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
