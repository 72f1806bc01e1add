//! What `genjob` accepts from an API and how long it waits for one, end to end with the built binary:
//! the pace of a paged listing, `status --timeout`, and answers from another host.

use crate::common::{TOKEN, env_for, genjob, sandbox};
use genjob_sandbox::JobSpec;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A proxy on 127.0.0.1 that forwards every request to `upstream` and notes when each arrived.
async fn counting_proxy(upstream: String) -> (SocketAddr, Arc<Mutex<Vec<(Instant, String)>>>) {
    let seen: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = listener.local_addr().expect("bound");
    let log = seen.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let (http, log, upstream) = (http.clone(), log.clone(), upstream.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let target = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                log.lock().unwrap().push((Instant::now(), target.clone()));
                let auth = text
                    .lines()
                    .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("authorization")))
                    .map(|(_, v)| v.trim().to_owned());
                let mut request = http.get(format!("{upstream}{target}"));
                if let Some(auth) = auth {
                    request = request.header("authorization", auth);
                }
                let Ok(answer) = request.send().await else { return };
                let status = answer.status().as_u16();
                let body = answer.bytes().await.unwrap_or_default();
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5000_video_token360_watch_reads_its_list_at_the_documented_pace() {
    let sandbox = sandbox(1.0).await;
    let ids: Vec<String> = (0..5_000)
        .map(|_| sandbox.add_job(JobSpec::token360_video().with_duration(Duration::from_secs(3600))))
        .collect();
    let (proxy, seen) = counting_proxy(sandbox.base_url().trim_end_matches('/').to_owned()).await;
    let env = env_for(&format!("http://{proxy}"), TOKEN);
    let mut args = vec!["wait", "--provider", "token360", "--timeout", "14s", "--no-learn"];
    args.extend(ids.iter().map(String::as_str));
    let run = genjob(&args, &env, None).await;
    assert_eq!(run.code, 5, "still running at the timeout: {}", run.stderr.lines().last().unwrap_or_default());
    let times: Vec<Instant> = seen.lock().unwrap().iter().map(|(at, _)| *at).collect();
    let pages = seen.lock().unwrap().iter().filter(|(_, t)| t.starts_with("/v1/videos?")).count();
    assert!(pages >= 50, "the list was read page by page: {pages} pages");
    // 5 per second: no second holds more than 5 requests, give or take one for timer jitter.
    let busiest = times
        .iter()
        .map(|start| {
            times.iter().filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1)).count()
        })
        .max()
        .unwrap_or(0);
    assert!(busiest <= 6, "{busiest} requests within one second ({} in all)", times.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_gives_up_at_its_timeout_against_a_server_that_never_answers() {
    let sandbox = sandbox(1.0).await;
    let id = sandbox.add_job(JobSpec::dreamina_video().with_hang_reads(u32::MAX));
    let env = env_for(&sandbox.base_url(), TOKEN);
    let started = Instant::now();
    let run = genjob(&["status", &id, "--timeout", "2s"], &env, None).await;
    let took = started.elapsed();
    assert_eq!(run.code, 5, "{run:?}");
    assert!(took < Duration::from_secs(10), "the 2 s timeout held: {took:?}");
    let help = genjob(&["status", "--help"], &[], None).await;
    assert!(help.stdout.contains("--timeout") && help.stdout.contains("60s"), "{}", help.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_from_another_host_than_the_configured_one_is_refused() {
    let sandbox = sandbox(1.0).await;
    let done = sandbox.add_job(JobSpec::dreamina_video().with_age(Duration::from_secs(600)));
    // The other host serves the record; the configured one only redirects there.
    let elsewhere = format!("http://localhost:{}", sandbox.base_url().rsplit(':').next().unwrap_or_default());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let configured = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let elsewhere = elsewhere.clone();
            tokio::spawn(async move {
                let path = crate::common::request_path(&mut socket).await.unwrap_or_default();
                let head = format!("HTTP/1.1 302 Found\r\nlocation: {elsewhere}{path}\r\ncontent-length: 0\r\n\r\n");
                let _ = socket.write_all(head.as_bytes()).await;
            });
        }
    });
    let env = env_for(&format!("http://{configured}"), TOKEN);
    let run = genjob(&["status", &done], &env, None).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert!(run.stderr.contains("another host"), "{}", run.stderr);
    assert_eq!(sandbox.stats().dreamina_videos, 0, "the other host was never asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sped_up_sandbox_keeps_to_the_real_clock_so_a_finished_job_is_read_at_once() {
    use std::io::BufRead;
    let mut sandbox = std::process::Command::new(env!("CARGO_BIN_EXE_genjob"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--speed", "10"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the sandbox starts");
    let stdout = sandbox.stdout.take().expect("piped");
    // It prints its base URL and its seeded jobs, then serves until killed. Its output is read to the
    // end: a closed pipe would end it (a failed write to stdout ends every genjob command).
    let (found, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut base, mut image) = (None, None);
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("export USEAPI_BASE_URL=") {
                base = Some(url.to_owned());
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.first().is_some_and(|w| w.contains("google") && w.contains("image")) && image.is_none() {
                image = words.last().map(|id| (*id).to_owned());
                if let (Some(base), Some(image)) = (&base, &image) {
                    let _ = found.send((base.clone(), image.clone()));
                }
            }
        }
    });
    let Ok((base, image)) = seen.recv_timeout(Duration::from_secs(30)) else {
        let _ = sandbox.kill();
        panic!("the sandbox printed no base URL and Google Flow image");
    };
    // Ten simulated minutes pass in a minute of real time: the image (10–20 s of work) is long done in 4 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let env = env_for(&base, "sandbox-token");
    let run = genjob(&["wait", &image, "--timeout", "10s", "--json"], &env, None).await;
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    assert_eq!(run.code, 0, "a finished job, read at once: {run:?}");
    assert_eq!(run.json_lines()[0]["status"], "completed");
}
