//! Every exit code of `genjob`, produced by the built binary against local servers.

use crate::common::{TOKEN, env_for, genjob, sandbox};
use genjob_sandbox::{Failure, JobSpec};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const DONE: Duration = Duration::from_secs(600);
const UNKNOWN_DREAMINA_ID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_jobs_exit_0_and_print_contract_lines() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let video = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE));
    let flow = sandbox.add_job(JobSpec::google_flow_video().with_age(DONE));
    let t360 = sandbox.add_job(JobSpec::token360_video().with_age(DONE));

    let status = genjob(&["status", &video, "--json"], &env, None).await;
    assert_eq!(status.code, 0, "{status:?}");
    let lines = status.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0]["status"].as_str(), lines[0]["provider"].as_str()), (Some("completed"), Some("dreamina")));

    let wait = genjob(&["wait", &video, &flow, "--json"], &env, None).await;
    assert_eq!(wait.code, 0, "{wait:?}");
    let lines = wait.json_lines();
    let mut ids: Vec<&str> = lines.iter().filter_map(|l| l["id"].as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![video.as_str(), flow.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(lines.iter().all(|l| l["status"] == "completed" && !l["outputs"].as_array().is_none_or(Vec::is_empty)));

    let token360 = genjob(&["wait", &t360, "--provider", "token360"], &env, None).await;
    assert_eq!(token360.code, 0, "{token360:?}");
    assert!(token360.stdout.contains(&t360) && token360.stdout.contains("completed"), "{token360:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_exits_1_but_status_exits_0() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let failed = sandbox.add_job(JobSpec::dreamina_video().failing(Failure::moderation()).with_age(DONE));
    let ok = sandbox.add_job(JobSpec::dreamina_image().with_age(DONE));

    let wait = genjob(&["wait", &failed, &ok, "--json"], &env, None).await;
    assert_eq!(wait.code, 1, "{wait:?}");
    let lines = wait.json_lines();
    let failed_line = lines.iter().find(|l| l["id"] == failed.as_str()).expect("the failed job has a line");
    assert_eq!(failed_line["status"], "failed");
    assert_eq!(failed_line["error"]["code"], "2043");

    let status = genjob(&["status", &failed], &env, None).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("failed") && status.stdout.contains("2043"), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);

    let bad_id = genjob(&["status", "not a job/id"], &env, None).await;
    assert_eq!(bad_id.code, 2, "{bad_id:?}");
    assert!(bad_id.stderr.contains("job id"), "{bad_id:?}");

    let opaque = genjob(&["wait", "video_abc123"], &env, None).await;
    assert_eq!(opaque.code, 2, "{opaque:?}");
    assert!(opaque.stderr.contains("--provider token360"), "{opaque:?}");

    let unknown_provider = genjob(&["status", "video_abc123", "--provider", "midjourney"], &env, None).await;
    assert_eq!(unknown_provider.code, 2, "{unknown_provider:?}");
    assert!(unknown_provider.stderr.contains("midjourney"), "{unknown_provider:?}");

    let bad_duration = genjob(&["wait", UNKNOWN_DREAMINA_ID, "--timeout", "soon"], &env, None).await;
    assert_eq!(bad_duration.code, 2, "{bad_duration:?}");

    let no_token: Vec<(String, String)> = env.iter().filter(|(k, _)| k != "USEAPI_TOKEN").cloned().collect();
    let missing = genjob(&["status", UNKNOWN_DREAMINA_ID], &no_token, None).await;
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("USEAPI_TOKEN"), "{missing:?}");
    // The token360 key is not needed for a Dreamina id, and nothing was requested.
    assert_eq!(sandbox.stats().total, 0);

    let not_json = genjob(&["normalize", "-"], &env, Some(b"<html>nope</html>")).await;
    assert_eq!(not_json.code, 2, "{not_json:?}");
    let missing_file = genjob(&["normalize", "/nonexistent/record.json"], &env, None).await;
    assert_eq!(missing_file.code, 2, "{missing_file:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_exits_3_without_echoing_it() {
    let sandbox = sandbox(60.0).await;
    let wrong = "wrong-token-9f8e7d";
    let env = env_for(&sandbox.base_url(), wrong);
    let job = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE));
    for args in [vec!["status", job.as_str()], vec!["wait", job.as_str(), "--json"]] {
        let run = genjob(&args, &env, None).await;
        assert_eq!(run.code, 3, "{run:?}");
        assert!(run.stderr.contains("401") && run.stderr.contains("USEAPI_TOKEN"), "{run:?}");
        assert!(!run.stderr.contains(wrong) && !run.stdout.contains(wrong), "{run:?}");
        assert!(run.stdout.is_empty(), "--json prints nothing for a job that was never read: {run:?}");
    }
    assert!(sandbox.stats().unauthorized_answers >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_job_exits_4() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let dreamina = genjob(&["status", UNKNOWN_DREAMINA_ID], &env, None).await;
    assert_eq!(dreamina.code, 4, "{dreamina:?}");
    assert!(dreamina.stderr.contains("404"), "{dreamina:?}");
    let token360 = genjob(&["wait", "video_doesnotexist", "--provider", "token360"], &env, None).await;
    assert_eq!(token360.code, 4, "{token360:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_exits_5_and_the_worst_code_wins() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let stuck = sandbox.add_job(JobSpec::token360_video().stuck());
    let done = sandbox.add_job(JobSpec::token360_video().with_age(DONE));
    let failed =
        sandbox.add_job(JobSpec::token360_video().failing(Failure::new(400, "did not pass moderation")).with_age(DONE));
    let run = genjob(
        &["wait", &stuck, &done, &failed, "--provider", "token360", "--timeout", "1s", "--every", "500ms", "--json"],
        &env,
        None,
    )
    .await;
    // Timed out (5) outranks failed (1) and completed (0).
    assert_eq!(run.code, 5, "{run:?}");
    let lines = run.json_lines();
    // A timed-out job prints no line: only final states are printed.
    assert_eq!(lines.len(), 2, "{run:?}");
    assert!(lines.iter().all(|l| l["id"] != stuck.as_str()));
    assert!(run.stderr.contains("timeout"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_exits_6() {
    // Bind then drop: the port is closed, so every connection is refused.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    let env = env_for(&format!("http://{addr}"), TOKEN);
    let run = genjob(&["status", UNKNOWN_DREAMINA_ID], &env, None).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert!(run.stderr.contains("network error"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_html_exits_7() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let body = "<html><body>Service temporarily rebranded</body></html>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    let env = env_for(&format!("http://{addr}"), TOKEN);
    let run = genjob(&["status", UNKNOWN_DREAMINA_ID], &env, None).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert!(run.stderr.contains("not the expected JSON"), "{run:?}");
    // A token360 id: an old Dreamina id would trip the watcher's past-deadline loop (reported upstream).
    let waited = genjob(&["wait", "video_abc", "--provider", "token360", "--timeout", "5s"], &env, None).await;
    assert_eq!(waited.code, 7, "{waited:?}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_the_exit_codes() {
    let run = genjob(&["--help"], &[], None).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Exit codes:") && run.stdout.contains("2, 8, 130, 3, 4, 7, 6, 5, 1, 0"), "{run:?}");
    let usage = genjob(&["frobnicate"], &[], None).await;
    assert_eq!(usage.code, 2, "{usage:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_exits_130_with_a_partial_report() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let stuck = sandbox.add_job(JobSpec::token360_video().stuck());
    let done = sandbox.add_job(JobSpec::token360_video().with_age(DONE));
    let args: Vec<String> =
        ["wait", &stuck, &done, "--provider", "token360", "--every", "500ms"].iter().map(|s| (*s).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_genjob"))
            .args(&args)
            .env_clear()
            .envs(env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the genjob binary starts");
        // Give it time to read both jobs, then interrupt it as a terminal's Ctrl-C would.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        // The shell's builtin `kill` is there on any machine with `sh`.
        let sent = std::process::Command::new("sh").args(["-c", &format!("kill -INT {}", child.id())]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -INT failed");
        child.wait_with_output().expect("genjob exits")
    })
    .await
    .expect("the blocking task completes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "stdout: {stdout}");
    // The summary still says where each job stood.
    assert!(stdout.contains("interrupted") && stdout.contains("completed"), "{stdout}");
}
