//! `genjob wait --listen` end to end: the built binary, a real sandbox that calls back, real time.
//!
//! A callback wakes its job and the job's record decides: a genuine callback ends the wait at once,
//! a forged one changes nothing, a lost one is made up for by polling, and a flood of callbacks
//! cannot turn into a flood of requests to the provider.

use crate::common::{TOKEN, env_for, sandbox};
use genjob_sandbox::{JobSpec, Sandbox};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A port free a moment ago, for the receiver (the sandbox must know the callback URL first).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn spawn(args: &[String], env: &[(String, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_genjob"))
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("genjob starts")
}

/// Waits until the receiver answers on `port` (the binary prints its address once it listens).
async fn receiver_up(port: u16) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the callback receiver never listened on {port}");
}

async fn finish(child: Child) -> (Output, Duration) {
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().expect("genjob exits"))
        .await
        .expect("the blocking task completes");
    (output, started.elapsed())
}

fn wait_args(id: &str, port: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["wait", id, "--json", "--listen"].iter().map(|s| (*s).to_owned()).collect();
    args.push(format!("127.0.0.1:{port}"));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// A Google Flow video (no listing covers it: polling alone is the fallback), old enough to be
/// read at the start, finishing `in_` from now, calling back to the receiver on `port`.
fn flow_job(sandbox: &Sandbox, port: u16, in_: Duration) -> JobSpec {
    let _ = sandbox;
    JobSpec::google_flow_video()
        .with_age(Duration::from_secs(100))
        .with_duration(Duration::from_secs(100) + in_)
        .with_reply_url(format!("http://127.0.0.1:{port}/hooks"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genuine_callback_ends_the_wait_at_once() {
    let sandbox = sandbox(1.0).await;
    let port = free_port();
    let id = sandbox.add_job(flow_job(&sandbox, port, Duration::from_secs(3)));
    let started = Instant::now();
    let child = spawn(&wait_args(&id, port, &["--timeout", "60s"]), &env_for(&sandbox.base_url(), TOKEN));
    let (output, _) = finish(child).await;
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("\"status\":\"completed\""), "{stdout}");
    // The job completed 3 s in; without the callback the next (sparser) poll would come much later.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    let stats = sandbox.stats();
    // It had started before the sandbox knew it: only the completion is a change to call back about.
    assert_eq!(stats.callbacks_sent, 1, "{stats:?}");
    assert_eq!(stats.google_flow, 2, "the read at the start, then the one the callback asked for: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_completed_callback_does_not_finish_a_running_job() {
    let sandbox = sandbox(1.0).await;
    let port = free_port();
    let id = sandbox.add_job(flow_job(&sandbox, port, Duration::from_secs(3600)).stuck());
    let child = spawn(&wait_args(&id, port, &["--timeout", "4s"]), &env_for(&sandbox.base_url(), TOKEN));
    receiver_up(port).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = sandbox.stats().google_flow;
    sandbox.send_forged_callback(&id, "completed").await.expect("the receiver accepts the forgery");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sandbox.stats().google_flow, before + 1, "the callback woke the job: its record was read");
    let (output, _) = finish(child).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(5), "the record says running: the wait times out\n{stdout}");
    assert!(!stdout.contains("completed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_callback_is_made_up_for_by_polling() {
    let sandbox = sandbox(1.0).await;
    let port = free_port();
    let id = sandbox.add_job(flow_job(&sandbox, port, Duration::from_secs(2)).with_callback_lost());
    let child = spawn(&wait_args(&id, port, &["--timeout", "60s"]), &env_for(&sandbox.base_url(), TOKEN));
    let (output, elapsed) = finish(child).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\"status\":\"completed\""), "{stdout}");
    assert_eq!(sandbox.stats().callbacks_sent, 0, "{:?}", sandbox.stats());
    // Past its window the job is polled at the sparser fallback: found within a few tens of seconds.
    assert!(elapsed < Duration::from_secs(45), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_callbacks_makes_at_most_the_rate_limited_number_of_reads() {
    let sandbox = sandbox(1.0).await;
    let port = free_port();
    let id = sandbox.add_job(flow_job(&sandbox, port, Duration::from_secs(3600)).stuck());
    let child = spawn(&wait_args(&id, port, &["--timeout", "5s"]), &env_for(&sandbox.base_url(), TOKEN));
    receiver_up(port).await;
    let before = sandbox.stats().google_flow;
    let flood = Instant::now();
    for _ in 0..50 {
        sandbox.send_forged_callback(&id, "completed").await.expect("accepted");
    }
    let flood_took = flood.elapsed();
    let (output, _) = finish(child).await;
    assert_eq!(output.status.code(), Some(5), "{}", String::from_utf8_lossy(&output.stdout));
    let reads = sandbox.stats().google_flow - before;
    // One read per 5 s per job at most: the flood (and the rest of the 5 s wait) allows two.
    assert!(reads <= 2, "{reads} reads for 50 callbacks in {flood_took:?}");
    assert!(reads >= 1, "the first callback was honoured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_keeps_strangers_out() {
    let sandbox = sandbox(1.0).await;
    let port = free_port();
    let id = sandbox.add_job(flow_job(&sandbox, port, Duration::from_secs(3600)).stuck());
    let child = spawn(
        &wait_args(&id, port, &["--timeout", "3s", "--listen-secret", "k7Qz9"]),
        &env_for(&sandbox.base_url(), TOKEN),
    );
    receiver_up(port).await;
    let refused = sandbox.send_forged_callback_to(&id, "completed", &format!("http://127.0.0.1:{port}/hooks")).await;
    assert!(refused.is_err(), "no secret in the path: refused");
    let accepted =
        sandbox.send_forged_callback_to(&id, "completed", &format!("http://127.0.0.1:{port}/hooks/k7Qz9")).await;
    assert!(accepted.is_ok(), "{accepted:?}");
    let (output, _) = finish(child).await;
    assert_eq!(output.status.code(), Some(5));
}
