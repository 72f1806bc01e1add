//! What a provider says cannot drive the user's terminal, and a record for another job is not this job's.

use crate::common::{TOKEN, env_for, genjob, sandbox};
use genjob_sandbox::JobSpec;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Retitles the terminal (OSC 0), rings the bell, clears the screen and reverses the text direction.
const HOSTILE_MODEL: &str = "seedance\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{202e}gnp.exe";

fn assert_no_terminal_control(text: &str) {
    let bad: Vec<char> = text.chars().filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}').collect();
    assert!(bad.is_empty(), "control characters reached the terminal: {bad:?} in {text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_text_is_escaped_for_people_and_exact_for_programs() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let id = sandbox.add_job(JobSpec::dreamina_video().with_model(HOSTILE_MODEL).with_age(Duration::from_secs(600)));

    let human = genjob(&["status", &id], &env, None).await;
    assert_eq!(human.code, 0, "{human:?}");
    assert_no_terminal_control(&human.stdout);
    assert_no_terminal_control(&human.stderr);
    assert!(human.stdout.contains(r"seedance\u{1b}]0;pwned"), "visible, not hidden: {}", human.stdout);

    let json = genjob(&["status", &id, "--json"], &env, None).await;
    assert_eq!(json.code, 0, "{json:?}");
    assert_eq!(json.json_lines()[0]["model"], HOSTILE_MODEL, "--json stays exact");

    let running = sandbox.add_job(JobSpec::dreamina_video().with_model(HOSTILE_MODEL));
    let listing = genjob(&["executing"], &env, None).await;
    assert_eq!(listing.code, 0, "{listing:?}");
    assert!(listing.stdout.contains(&running), "{listing:?}");
    assert_no_terminal_control(&listing.stdout);

    let wait = genjob(&["wait", &id], &env, None).await;
    assert_eq!(wait.code, 0, "{wait:?}");
    assert_no_terminal_control(&wait.stdout);
    assert_no_terminal_control(&wait.stderr);
}

/// A server that answers every request with `body` (HTTP 200, JSON).
async fn serve(body: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 8192];
                let _ = socket.read(&mut buffer).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_of_another_job_is_an_invalid_answer() {
    let asked = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";
    let other = "j0223140530123456789v-u99999-CA:mallory@example.com-bot:dreamina";
    let record = serde_json::json!({
        "jobid": other, "type": "video", "status": "completed", "model": "seedance-2.0",
        "created": "2026-02-23T14:05:30.123Z", "updated": "2026-02-23T14:07:15.000Z",
        "response": { "videoUrl": "https://cdn.example/other.mp4" }, "code": 200,
    });
    let (base, server) = serve(record.to_string()).await;
    let env = env_for(&base, TOKEN);
    for args in [vec!["status", asked], vec!["wait", asked, "--timeout", "10s"]] {
        let run = genjob(&args, &env, None).await;
        assert_eq!(run.code, 7, "{args:?}: {run:?}");
        assert!(run.stderr.contains("record of job") && run.stderr.contains("mallory"), "{run:?}");
        assert!(!run.stdout.contains("completed"), "another job's state is never shown as this one's: {run:?}");
    }
    server.abort();
}
