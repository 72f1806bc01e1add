//! Shared helpers: a sandbox per test, and running the built `genjob` binary against it.

#![allow(dead_code)] // Each test file uses a different subset of the helpers.

pub mod files;

use genjob_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The token the test sandboxes accept.
pub const TOKEN: &str = "test-token-5ecret";

/// Keys of the `--json` contract, in order.
pub const CONTRACT_KEYS: [&str; 11] = [
    "provider",
    "id",
    "kind",
    "status",
    "provider_status",
    "model",
    "created_at",
    "updated_at",
    "progress",
    "outputs",
    "error",
];

/// Starts a sandbox on 127.0.0.1:0 running `speed` times faster than real time.
pub async fn sandbox(speed: f64) -> Sandbox {
    let config =
        SandboxConfig { speed, token: Some(TOKEN.to_owned()), retry_after_secs: 1, ..SandboxConfig::default() };
    match Sandbox::start(([127, 0, 0, 1], 0).into(), config).await {
        Ok(s) => s,
        Err(e) => panic!("the sandbox did not start: {e}"),
    }
}

/// The environment that points genjob at `base` with `token`.
pub fn env_for(base: &str, token: &str) -> Vec<(String, String)> {
    [("USEAPI_BASE_URL", base), ("TOKEN360_BASE_URL", base), ("USEAPI_TOKEN", token), ("TOKEN360_API_KEY", token)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// The exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Every stdout line parsed as JSON, asserting each is an object with the contract keys.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                let object = value.as_object().unwrap_or_else(|| panic!("not an object: {line}"));
                for key in CONTRACT_KEYS {
                    assert!(object.contains_key(key), "missing `{key}` in {line}");
                }
                value
            })
            .collect()
    }
}

/// Where the binary's standard input comes from.
enum Input {
    /// Nothing: stdin is `/dev/null`.
    Nothing,
    /// These bytes, through a pipe.
    Bytes(Vec<u8>),
    /// This file, opened directly (`genjob … < FILE`).
    File(PathBuf),
}

/// Runs the built binary with exactly `env` (the rest of the environment cleared) and optional stdin.
pub async fn genjob(args: &[&str], env: &[(String, String)], stdin: Option<&[u8]>) -> Run {
    run_binary(args, env, stdin.map_or(Input::Nothing, |bytes| Input::Bytes(bytes.to_vec()))).await
}

/// Runs the built binary with standard input redirected from `path`, as `genjob … < path` does.
pub async fn genjob_reading(args: &[&str], env: &[(String, String)], path: &Path) -> Run {
    run_binary(args, env, Input::File(path.to_owned())).await
}

async fn run_binary(args: &[&str], env: &[(String, String)], input: Input) -> Run {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let env = env.to_vec();
    // The binary blocks this thread; the sandbox keeps serving on the runtime's other workers.
    let output: Output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_genjob"));
        command.args(&args).env_clear().envs(env).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut bytes = None;
        command.stdin(match input {
            Input::Nothing => Stdio::null(),
            Input::Bytes(b) => {
                bytes = Some(b);
                Stdio::piped()
            }
            Input::File(path) => Stdio::from(std::fs::File::open(path).expect("the stdin file opens")),
        });
        let mut child = command.spawn().expect("the genjob binary starts");
        // Written from another thread, so a large input cannot deadlock against the binary's output;
        // a binary that stops reading early (a size limit) closes the pipe, which is not a test failure.
        let writer = match (bytes, child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            })),
            _ => None,
        };
        let output = child.wait_with_output().expect("genjob runs to the end");
        if let Some(writer) = writer {
            writer.join().expect("the stdin writer ends");
        }
        output
    })
    .await
    .expect("the blocking task completes");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "the token leaked into the output: {run:?}");
    run
}

/// Reads an HTTP request head from `socket` and returns its path, or `None` if the client left first.
pub async fn request_path(socket: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    Some(head.split_whitespace().nth(1).unwrap_or("/").to_owned())
}
