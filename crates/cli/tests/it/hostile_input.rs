//! No file and no server answer makes `genjob` panic: arbitrary bytes, fed to the built binary, end in a documented exit code.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
const TOKEN: &str = "fuzz-token-Tq8Wm3";
const DREAMINA_ID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";
/// The exit codes the README documents for `status` (130 is `wait` only).
const DOCUMENTED: [i32; 7] = [0, 2, 3, 4, 5, 6, 7];

/// `cases` cases; a failing one is saved under `proptest-regressions/` (run from the crate's directory) and replayed first.
fn config(cases: u32) -> ProptestConfig {
    let regressions = FileFailurePersistence::Direct("proptest-regressions/hostile_input.txt");
    ProptestConfig { cases, failure_persistence: Some(Box::new(regressions)), ..ProptestConfig::default() }
}

/// What one run of the binary produced; `code` is `None` when it was stopped at the deadline.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// No panic message; stderr free of raw escapes and of floods (messages quote hostile text); no token anywhere.
    fn assert_sane(&self, input: &[u8]) -> Result<(), TestCaseError> {
        let shown = String::from_utf8_lossy(&input[..input.len().min(400)]).into_owned();
        prop_assert_ne!(self.code, Some(101), "exit 101 (panic) on {:?}: {:?}", shown, self);
        prop_assert!(!self.stderr.contains("panicked"), "panic on {:?}: {:?}", shown, self);
        prop_assert!(!self.stderr.contains('\u{1b}'), "a raw escape reached stderr on {:?}: {:?}", shown, self);
        prop_assert!(self.stderr.len() < 20_000, "stderr flooded ({} bytes) on {:?}", self.stderr.len(), shown);
        prop_assert!(!self.stdout.contains(TOKEN) && !self.stderr.contains(TOKEN), "token leaked: {:?}", self);
        Ok(())
    }
}

/// Starts the built binary with exactly `env`, writing `stdin` (if any) from another thread.
fn spawn(args: &[&str], env: &[(&str, &str)], stdin: Option<Vec<u8>>) -> (Child, Option<std::thread::JoinHandle<()>>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_genjob"));
    command.args(args).env_clear().envs(env.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().expect("the genjob binary starts");
    let writer = match (stdin, child.stdin.take()) {
        // A binary that refuses early closes the pipe; that is its right.
        (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    (child, writer)
}

/// Waits for `child` until `deadline`, then stops it (it is ours: started by `spawn`).
fn finish((mut child, writer): (Child, Option<std::thread::JoinHandle<()>>), deadline: Instant) -> Outcome {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let code = loop {
        match child.try_wait().expect("the child can be waited on") {
            Some(status) => break Some(status.code().unwrap_or(-1)),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Outcome { code, stdout: stdout.join().expect("stdout is read"), stderr: stderr.join().expect("stderr is read") }
}

/// Every documented record and error body, as parsed JSON: the seeds that mutations start from.
static SEEDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    fn walk(dir: &Path, found: &mut Vec<Value>) {
        for entry in std::fs::read_dir(dir).expect("the fixtures directory is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).expect("a fixture is readable");
                found.push(serde_json::from_slice(&bytes).expect("a fixture is JSON"));
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new(FIXTURES), &mut found);
    assert!(found.len() >= 20, "expected the fixtures, found {}", found.len());
    found
});

/// JSON Pointers to every node below the root of `value`.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(here.clone());
                pointers(child, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let here = format!("{at}/{i}");
                out.push(here.clone());
                pointers(child, &here, out);
            }
        }
        _ => {}
    }
}

fn nested(depth: usize, object: bool) -> Vec<u8> {
    if object {
        [r#"{"a":"#.repeat(depth), "1".to_owned(), "}".repeat(depth)].concat().into_bytes()
    } else {
        ["[".repeat(depth), "]".repeat(depth)].concat().into_bytes()
    }
}

/// Raw JSON text (not always valid) that a careless or hostile producer might put where a value goes.
fn hostile_value() -> impl Strategy<Value = Vec<u8>> {
    let edge_numbers = prop::sample::select(vec![
        "1e999999",
        "-1e999999",
        "1e-400",
        "123456789012345678901234567890",
        "-123456789012345678901234567890",
        "18446744073709551616",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
        "-9223372036854775809",
        "4294967296",
        "256",
        "101",
        "-1",
        "-0",
        "0.5",
        "1.7976931348623157e308",
        "12.",
        "01",
        "1e",
    ]);
    let edge_texts = prop::sample::select(vec![
        "",
        "completed",
        "failed",
        "created",
        "in_progress",
        "COMPLETED",
        "1970-01-01T00:00:00Z",
        "2026-02-30T25:61:61Z",
        "9999-12-31T23:59:59.999999999Z",
        "+009999-12-31T23:59:59Z",
        "-009999-01-01T00:00:00Z",
        "2026-02-23T14:05:30.123+99:99",
        "-bot:dreamina",
        "j1231235959999999999v-u1-CA:x-bot:dreamina",
        "j0229000000000000000i-u0-CA:a-bot:dreamina",
        "j9999999999999999999v-u12345-email:a@b-bot:google-flow",
        "\u{1b}[2J\u{1b}]0;title\u{7}",
        "\u{202e}gnp.exe",
        "line\r\nbreak",
    ]);
    prop_oneof![
        edge_numbers.prop_map(|n| n.as_bytes().to_vec()),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        any::<f64>().prop_map(|n| serde_json::to_vec(&n).unwrap_or_default()),
        edge_texts.prop_map(|t| serde_json::to_vec(t).unwrap_or_default()),
        any::<String>().prop_map(|t| serde_json::to_vec(&t).unwrap_or_default()),
        // Unescaped control characters and invalid UTF-8 inside quotes: not JSON, but seen in the wild.
        prop::collection::vec(any::<u8>().prop_filter("no quote or backslash", |b| *b != b'"' && *b != b'\\'), 0..16)
            .prop_map(|inner| [&b"\""[..], &inner, b"\""].concat()),
        prop::sample::select(vec!["null", "true", "[]", "{}", r#""\ud800""#, r#""\u0000""#, r#"{"":null}"#])
            .prop_map(|v| v.as_bytes().to_vec()),
        (prop::sample::select(vec![127usize, 128, 129, 5000]), any::<bool>()).prop_map(|(d, o)| nested(d, o)),
        Just(serde_json::to_vec(&"x".repeat(100_000)).unwrap_or_default()),
    ]
}

/// A fixture with some values replaced by hostile ones, maybe cut short, maybe behind a byte-order mark.
fn mutated_fixture() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<Index>(),
        prop::collection::vec((any::<Index>(), hostile_value()), 0..4),
        prop::option::weighted(0.25, any::<Index>()),
        prop::option::weighted(0.2, prop::sample::select(vec![&b"\xEF\xBB\xBF"[..], b"\xEF\xBB", b"\xFF\xFE", b" \n"])),
    )
        .prop_map(|(seed, holes, cut, prefix)| {
            let mut value = seed.get(SEEDS.as_slice()).clone();
            let mut all = Vec::new();
            pointers(&value, "", &mut all);
            let mut marks = Vec::new();
            for (n, (at, raw)) in holes.into_iter().enumerate() {
                // Nodes replaced earlier may have taken the chosen one with them: then skip it.
                if all.is_empty() {
                    break;
                }
                let mark = format!("@@hole{n}@@");
                let pointer: &String = at.get(&all);
                if let Some(node) = value.pointer_mut(pointer) {
                    *node = Value::String(mark.clone());
                    marks.push((serde_json::to_vec(&mark).unwrap_or_default(), raw));
                }
            }
            let mut bytes = serde_json::to_vec(&value).unwrap_or_default();
            for (mark, raw) in marks {
                if let Some(at) = bytes.windows(mark.len()).position(|w| w == mark.as_slice()) {
                    let tail = bytes.split_off(at + mark.len());
                    bytes.truncate(at);
                    bytes.extend(raw);
                    bytes.extend(tail);
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            [prefix.unwrap_or_default(), &bytes].concat()
        })
}

/// Bytes a file or a server might hold: anything at all, or a documented record made hostile.
fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        4 => mutated_fixture(),
        1 => hostile_value(),
    ]
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn normalize_exits_0_or_2_on_any_input(input in hostile_input()) {
        let run = finish(spawn(&["normalize"], &[], Some(input.clone())), Instant::now() + Duration::from_secs(20));
        run.assert_sane(&input)?;
        prop_assert!(matches!(run.code, Some(0 | 2)), "{:?}", run);
        if run.code == Some(0) {
            let line: Value = serde_json::from_str(run.stdout.trim_end()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(line.get("status").is_some(), "{:?}", run);
        }
    }
}

/// A server that answers every connection with the current case's bytes, whatever was asked.
struct RawServer {
    addr: SocketAddr,
    answer: Arc<Mutex<Vec<u8>>>,
    // Keeps the accept loop running for the whole test binary.
    _runtime: tokio::runtime::Runtime,
}

static SERVER: LazyLock<RawServer> = LazyLock::new(|| {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime starts");
    let answer = Arc::new(Mutex::new(Vec::new()));
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("local address");
    let shared = Arc::clone(&answer);
    runtime.spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let bytes = shared.lock().map(|a| a.clone()).unwrap_or_default();
            tokio::spawn(async move {
                // Read the request head (or give up on it), then answer and close.
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer)).await {
                        Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buffer[..n]),
                        _ => break,
                    }
                }
                let _ = socket.write_all(&bytes).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    RawServer { addr, answer, _runtime: runtime }
});

/// One HTTP answer: a status line, maybe `Retry-After` and `Content-Type`, a length that may lie, the body.
fn http_answer() -> impl Strategy<Value = Vec<u8>> {
    let retry_after = prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "0",
            "1",
            "-5",
            "1.5",
            "99999999999999999999999",
            "18446744073709551615",
            "600",
            "86400",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "soon",
            "",
        ])
        .prop_map(|v| Some(v.as_bytes().to_vec())),
        prop::collection::vec(any::<u8>().prop_filter("one header line", |b| *b != b'\r' && *b != b'\n'), 0..24)
            .prop_map(Some),
    ];
    (
        // 200 twice: a record that parses goes furthest (through the status tracker).
        prop::sample::select(vec![200u16, 200, 404, 429, 500, 503]),
        retry_after,
        prop::sample::select(vec![None, Some("application/json"), Some("text/html; charset=utf-8")]),
        prop::sample::select(vec![0usize, 0, 0, 7]),
        hostile_input(),
    )
        .prop_map(|(status, retry_after, content_type, missing, body)| {
            let mut head = format!("HTTP/1.1 {status} Whatever\r\n").into_bytes();
            if let Some(value) = retry_after {
                head.extend_from_slice(b"Retry-After: ");
                head.extend_from_slice(&value);
                head.extend_from_slice(b"\r\n");
            }
            if let Some(kind) = content_type {
                head.extend_from_slice(format!("Content-Type: {kind}\r\n").as_bytes());
            }
            // `missing` > 0 announces more bytes than are sent: the connection closes mid-body.
            let length = body.len() + missing;
            head.extend_from_slice(format!("Content-Length: {length}\r\nConnection: close\r\n\r\n").as_bytes());
            [head, body].concat()
        })
}

proptest! {
    // Few cases: an answer worth retrying keeps a run busy until the deadline below.
    #![proptest_config(config(20))]

    #[test]
    fn status_ends_with_a_documented_exit_code_on_any_answer(answer in http_answer()) {
        let server = &*SERVER;
        *server.answer.lock().map_err(|e| TestCaseError::fail(e.to_string()))? = answer.clone();
        let base = format!("http://{}", server.addr);
        let env = [("USEAPI_BASE_URL", base.as_str()), ("TOKEN360_BASE_URL", base.as_str()), ("USEAPI_TOKEN", TOKEN), ("TOKEN360_API_KEY", TOKEN)];
        // Both at once, to halve the time. A run still waiting out a retry at the deadline is stopped:
        // by then it has taken the first answer and the retry apart, which is where a panic would be.
        let deadline = Instant::now() + Duration::from_millis(1300);
        let dreamina = spawn(&["status", DREAMINA_ID], &env, None);
        let token360 = spawn(&["status", "video_abc123", "--provider", "token360", "--json"], &env, None);
        for run in [finish(dreamina, deadline), finish(token360, deadline)] {
            run.assert_sane(&answer)?;
            if let Some(code) = run.code {
                prop_assert!(DOCUMENTED.contains(&code), "undocumented exit {}: {:?}", code, run);
            }
        }
    }
}
