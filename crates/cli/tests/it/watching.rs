//! `genjob wait` end to end: downloads, rate limits, the 1-hour rule, batch watching, `executing`.

use crate::common::{TOKEN, env_for, genjob, sandbox};
use genjob_sandbox::JobSpec;
use std::time::Duration;

const DONE: Duration = Duration::from_secs(600);

fn files_in(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().map(|m| m.len()).unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_complete_and_sent_without_the_token() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let video = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE));
    let t360 = sandbox.add_job(JobSpec::token360_video().with_age(DONE));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("new/sub"); // created by genjob
    let out_arg = out.to_string_lossy().into_owned();

    let video_run = genjob(&["wait", &video, "--download", &out_arg], &env, None).await;
    assert_eq!(video_run.code, 0, "{video_run:?}");
    let t360_run = genjob(&["wait", &t360, "--provider", "token360", "--download", &out_arg], &env, None).await;
    assert_eq!(t360_run.code, 0, "{t360_run:?}");

    let files = files_in(&out);
    // The Dreamina video comes with its cover image; the token360 video alone.
    let videos: Vec<_> = files.iter().filter(|(name, _)| name.ends_with(".mp4")).collect();
    assert_eq!(videos.len(), 2, "{files:?}");
    assert!(videos.iter().all(|(_, size)| *size == 64 * 1024), "{files:?}");
    assert!(files.iter().filter(|(n, _)| n.ends_with(".jpg")).all(|(_, size)| *size == 16 * 1024), "{files:?}");
    assert!(files.iter().any(|(n, _)| n.starts_with(&t360)), "{files:?}");
    let stats = sandbox.stats();
    assert_eq!(stats.files, files.len() as u64);
    assert_eq!(stats.files_with_authorization, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_download_fails_and_leaves_no_file() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let job = sandbox.add_job(JobSpec::token360_video().with_age(DONE).with_truncated_download());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_string_lossy().into_owned();
    let run = genjob(&["wait", &job, "--provider", "token360", "--download", &out, "--json"], &env, None).await;
    assert_eq!(run.code, 6, "{run:?}");
    // The job itself completed: its line is printed; the download failure is on stderr.
    assert_eq!(run.json_lines().len(), 1);
    assert!(run.stderr.contains("download"), "{run:?}");
    assert_eq!(files_in(dir.path()), Vec::new(), "no half file and no temporary file may remain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_reads_are_waited_out() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let job = sandbox.add_job(JobSpec::token360_video().with_age(DONE).with_rate_limited(2));
    let run = genjob(&["wait", &job, "--provider", "token360", "--json"], &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json_lines()[0]["status"], "completed");
    assert_eq!(sandbox.stats().rate_limited_answers, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dreamina_job_stuck_for_an_hour_fails_with_408() {
    // Real time, so the id's creation time is never ahead of the CLI's clock.
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let stuck = sandbox.add_job(JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(59 * 60 + 58)));
    let run = genjob(&["wait", &stuck, "--json", "--timeout", "30s"], &env, None).await;
    assert_eq!(run.code, 1, "{run:?}");
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "failed");
    assert_eq!(lines[0]["error"]["code"], "408");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_dreamina_videos_are_watched_through_the_scheduler() {
    // Real time: the CLI's clock must not fall behind the ids' embedded creation times.
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    // Running when the wait starts, done 2–4 s later.
    let ids: Vec<String> = (0..5)
        .map(|i| {
            sandbox.add_job(
                JobSpec::dreamina_video()
                    .with_duration(Duration::from_secs(100))
                    .with_age(Duration::from_millis(98_000 - i * 500))
                    .with_email(format!("user{i}@example.com")),
            )
        })
        .collect();
    let mut args = vec!["wait", "--json", "--timeout", "40s"];
    args.extend(ids.iter().map(String::as_str));
    let run = genjob(&args, &env, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json_lines().len(), ids.len());
    let stats = sandbox.stats();
    assert!(stats.scheduler >= 1, "{stats:?}");
    // One record read per job once it leaves the listing; a little slack for a read racing completion.
    assert!(stats.dreamina_videos <= ids.len() as u64 * 2, "{stats:?}");
    assert!(stats.dreamina_videos >= ids.len() as u64, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executing_lists_running_dreamina_jobs_by_account() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let running = sandbox.add_job(JobSpec::dreamina_video().with_email("lister@example.com"));
    let json = genjob(&["executing", "--json"], &env, None).await;
    assert_eq!(json.code, 0, "{json:?}");
    let lines: Vec<&str> = json.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{json:?}");
    let listing: serde_json::Value = serde_json::from_str(lines[0]).expect("the listing is JSON");
    assert_eq!(listing["total"], 1);
    assert!(lines[0].contains(&running));
    let human = genjob(&["executing"], &env, None).await;
    assert_eq!(human.code, 0, "{human:?}");
    assert!(human.stdout.contains("lister@example.com") && human.stdout.contains(&running), "{human:?}");
}
