//! A hand-rolled token360 look-alike for the downloads the sandbox will not serve: any content type,
//! and files that trickle forever.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the file server answers file requests.
#[derive(Debug, Clone, Copy)]
pub struct Files {
    /// The `Content-Type` of every file.
    pub content_type: &'static str,
    /// Send a kilobyte every 200 ms of an announced 100 MiB, forever: well within a download's idle
    /// timeout, so only a deadline or an interrupt ends it.
    pub trickle: bool,
}

/// A 4 KiB PNG, served at once.
pub const PNG: Files = Files { content_type: "image/png", trickle: false };

/// An MP4 that never finishes arriving.
pub const TRICKLING_MP4: Files = Files { content_type: "video/mp4", trickle: true };

/// A server on 127.0.0.1: every `/v1/videos/{id}` is a completed video whose URL points back at
/// `/files/{n}/clip` (no extension in the URL, so the content type decides). Stops when dropped.
pub struct FileServer {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// Connections accepted so far, records and files alike.
    pub requests: Arc<AtomicU64>,
    /// Requests for a file so far.
    pub file_requests: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl FileServer {
    /// Starts the server on a free port.
    pub async fn start(files: Files) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (requests, file_requests) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (served, connections, file_counter) = (base.clone(), Arc::clone(&requests), Arc::clone(&file_requests));
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(socket, served.clone(), files, Arc::clone(&file_counter)));
            }
        });
        Self { base, requests, file_requests, task }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers one request on `socket`; every answer closes the connection.
async fn answer(mut socket: TcpStream, base: String, files: Files, file_requests: Arc<AtomicU64>) {
    let Some(path) = super::request_path(&mut socket).await else { return };
    if let Some(id) = path.strip_prefix("/v1/videos/") {
        let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let url = format!("{base}/files/{}/clip", now % 1000);
        let body = serde_json::json!({
            "id": id, "object": "video", "status": "completed", "model": "seedance-2.0",
            "created_at": now - 120, "updated_at": now - 10, "progress": 100, "url": url,
        })
        .to_string();
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(reply.as_bytes()).await;
    } else if path.starts_with("/files/") {
        file_requests.fetch_add(1, Ordering::SeqCst);
        let length = if files.trickle { 100 * 1024 * 1024 } else { 4096 };
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
            files.content_type
        );
        if socket.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
        if files.trickle {
            while socket.write_all(&[0u8; 1024]).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        } else {
            let _ = socket.write_all(&[7u8; 4096]).await;
        }
    } else {
        let _ = socket.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    }
    let _ = socket.shutdown().await;
}

/// The names in `dir`, sorted (empty if it cannot be read).
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}
