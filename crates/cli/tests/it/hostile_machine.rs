//! The process on a hostile machine: connections that drip bytes at the callback receiver under a low
//! file-descriptor limit, a stderr or stdout that cannot be written (`/dev/full`, a closed pipe), and
//! SIGHUP in the middle of a download.

use crate::common::{Run, TOKEN, env_for, sandbox};
use genjob_sandbox::{Failure, JobSpec};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DONE: Duration = Duration::from_secs(600);
const UNKNOWN_DREAMINA_ID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";

/// Where the binary's stdout or stderr goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sink {
    /// A pipe the test reads.
    Read,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose reading end is closed before the binary writes: every write fails with EPIPE.
    Closed,
}

fn stdio(sink: Sink) -> Stdio {
    match sink {
        Sink::Full => Stdio::from(std::fs::File::options().write(true).open("/dev/full").expect("/dev/full opens")),
        Sink::Read | Sink::Closed => Stdio::piped(),
    }
}

/// Runs the built binary with stdout and stderr going to `out` and `err`.
async fn genjob_into(args: &[&str], env: &[(String, String)], out: Sink, err: Sink) -> Run {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let env = env.to_vec();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_genjob"))
            .args(&args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(stdio(out))
            .stderr(stdio(err))
            .spawn()
            .expect("genjob starts");
        // Closed before the binary's first write, which comes after at least a request or a file read.
        if out == Sink::Closed {
            drop(child.stdout.take());
        }
        if err == Sink::Closed {
            drop(child.stderr.take());
        }
        child.wait_with_output().expect("genjob runs to the end")
    })
    .await
    .expect("the blocking task completes");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_stderr_keeps_the_documented_exit_codes() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let completed = sandbox.add_job(JobSpec::token360_video().with_age(DONE));
    let failed = sandbox.add_job(JobSpec::dreamina_video().failing(Failure::moderation()).with_age(DONE));
    let ok = sandbox.add_job(JobSpec::dreamina_image().with_age(DONE));
    let dir = tempfile::tempdir().expect("temp dir");
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, b"{ not json").expect("the file is written");
    let not_json = not_json.to_string_lossy().into_owned();
    let cases: [(&[&str], i32); 6] = [
        (&["status", &completed, "--provider", "token360"], 0),
        (&["status", UNKNOWN_DREAMINA_ID], 4),
        (&["normalize", &not_json], 2),
        (&["normalize", "/no/such/file.json"], 2),
        // Progress lines, the failed job's note and the summary: every kind of stderr line `wait` writes.
        (&["wait", &failed, &ok], 1),
        (&["wait", &ok, "--json"], 0),
    ];
    for err in [Sink::Full, Sink::Closed] {
        for (args, expected) in cases {
            let run = genjob_into(args, &env, Sink::Read, err).await;
            assert_eq!(run.code, expected, "{args:?} with stderr {err:?}: {run:?}");
        }
    }
    // What stdout says does not depend on stderr.
    let run =
        genjob_into(&["status", &completed, "--provider", "token360", "--json"], &env, Sink::Read, Sink::Full).await;
    assert!(run.stdout.contains("\"status\":\"completed\""), "{run:?}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdout_that_cannot_be_written_exits_8() {
    let sandbox = sandbox(60.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let video = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE));
    let running = sandbox.add_job(JobSpec::dreamina_video().with_duration(Duration::from_secs(3600)));
    let dir = tempfile::tempdir().expect("temp dir");
    let record = dir.path().join("record.json");
    std::fs::write(&record, br#"{"id": "video_1", "object": "video", "status": "queued"}"#).expect("written");
    let record = record.to_string_lossy().into_owned();
    let cases: [&[&str]; 6] = [
        &["status", &video],
        &["status", &video, "--json"],
        &["wait", &video],
        &["wait", &video, &running, "--json"],
        &["executing"],
        &["normalize", &record],
    ];
    for args in cases {
        let full = genjob_into(args, &env, Sink::Full, Sink::Read).await;
        assert_eq!(full.code, 8, "{args:?} >/dev/full: {full:?}");
        assert!(full.stderr.contains("cannot write to standard output: No space left on device"), "{full:?}");
        // A closed pipe (`| head -0`): the same code, and no error message.
        let closed = genjob_into(args, &env, Sink::Closed, Sink::Read).await;
        assert_eq!(closed.code, 8, "{args:?} | head -0: {closed:?}");
        assert!(!closed.stderr.contains("error"), "{closed:?}");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_during_a_download_leaves_no_part_file() {
    // What a closing terminal or a dropped ssh session sends.
    crate::downloads::a_signal_during_a_download_leaves_no_part_file("HUP", "hung up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_no_colour_codes_off_a_terminal() {
    let sandbox = sandbox(60.0).await;
    let mut env = env_for(&sandbox.base_url(), TOKEN);
    env.push(("RUST_LOG".to_owned(), "debug".to_owned()));
    let video = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE));
    let run = genjob_into(&["status", &video], &env, Sink::Read, Sink::Read).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("DEBUG"), "the read is logged: {run:?}");
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}

/// A connection that sends half a request head, then one byte every half second, until the server
/// closes it: `true` when it did.
async fn drip(port: u16) -> bool {
    let Ok(mut socket) = TcpStream::connect(("127.0.0.1", port)).await else { return false };
    if socket.write_all(b"POST /hooks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: ").await.is_err() {
        return true;
    }
    let mut buffer = [0u8; 512];
    loop {
        tokio::select! {
            read = socket.read(&mut buffer) => match read {
                // The server's 408, then its end of the connection.
                Ok(n) if n > 0 => {}
                _ => return true,
            },
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                if socket.write_all(b"a").await.is_err() {
                    return true;
                }
            }
        }
    }
}

/// POSTs a callback naming `id` and returns the server's status line.
async fn post_callback(port: u16, id: &str) -> String {
    let body = format!(r#"{{"id": "{id}", "object": "video", "status": "in_progress"}}"#);
    let request = format!(
        "POST /hooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let Ok(mut socket) = TcpStream::connect(("127.0.0.1", port)).await else { return "no connection".to_owned() };
    if socket.write_all(request.as_bytes()).await.is_err() {
        return "the request could not be sent".to_owned();
    }
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dripping_connections_take_neither_descriptors_nor_callbacks() {
    // More connections than the receiver holds at a time (128), and more than the descriptors the
    // process may open (200): accepted without a cap, they would leave none for polling or saving.
    const DRIPPING: usize = 250;
    let sandbox = sandbox(1.0).await;
    // Finishes 35 s after the start: after the dripping connections were dealt with (about 20 s),
    // so the wait is still running when the genuine callback comes.
    let id = sandbox
        .add_job(JobSpec::token360_video().with_age(Duration::from_secs(20)).with_duration(Duration::from_secs(55)));
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
    let port = port.expect("a free port");
    let cache = tempfile::tempdir().expect("temp dir");
    let mut env = env_for(&sandbox.base_url(), TOKEN);
    env.push(("XDG_CACHE_HOME".to_owned(), cache.path().to_string_lossy().into_owned()));
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new("sh")
        .args(["-c", r#"ulimit -n 200 && exec "$0" "$@""#, env!("CARGO_BIN_EXE_genjob")])
        .args(["wait", &id, "--provider", "token360", "--json", "--timeout", "120s", "--listen", &listen])
        .env_clear()
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("genjob starts");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the receiver never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let drips: Vec<_> = (0..DRIPPING).map(|_| tokio::spawn(drip(port))).collect();
    // Behind every dripping connection in the listen backlog: answered once slots free up.
    let genuine = tokio::spawn({
        let id = id.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            post_callback(port, &id).await
        }
    });
    let mut closed = 0;
    for drip in drips {
        // Bounded, so that a receiver that never closes them fails the test instead of hanging it.
        if let Ok(Ok(true)) = tokio::time::timeout(Duration::from_secs(90), drip).await {
            closed += 1;
        }
    }
    assert_eq!(closed, DRIPPING, "every dripping connection is closed by the header-read timeout");
    let answer = tokio::time::timeout(Duration::from_secs(60), genuine).await;
    let answer = answer.ok().and_then(Result::ok).unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 202"), "the genuine callback was answered: {answer:?}");

    let output = tokio::task::spawn_blocking(move || child.wait_with_output().expect("genjob exits"))
        .await
        .expect("the blocking task completes");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "polling went on: {stdout}\n{stderr}");
    assert!(stdout.contains("\"status\":\"completed\""), "{stdout}");
    assert!(!stderr.to_lowercase().contains("too many open files"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes off a terminal: {stderr:?}");
    let learned = cache.path().join("genjob").join("learned-durations.json");
    assert!(learned.is_file(), "what was learned was saved: {stderr}");
}
