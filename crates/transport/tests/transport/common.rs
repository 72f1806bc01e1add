//! Shared test settings and a raw TCP server for responses wiremock cannot produce.

use std::net::SocketAddr;
use std::time::Duration;

use genjob_transport::{ApiToken, HttpClient, TransportConfig, TransportError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The token every test uses; tests assert it never shows up where it must not.
pub const TOKEN: &str = "tk-5ecret-0123456789abcdef";

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn config(base: &str) -> Result<TransportConfig, Box<dyn std::error::Error>> {
    Ok(TransportConfig::new(base.parse()?, ApiToken::new(TOKEN)?)
        .with_token_hint("TEST_TOKEN")
        .with_connect_timeout(Duration::from_secs(2))
        .with_request_timeout(Duration::from_secs(5)))
}

pub fn client(base: &str) -> Result<HttpClient, Box<dyn std::error::Error>> {
    Ok(HttpClient::new(config(base)?)?)
}

/// Unwraps the error of a result that must have failed, with a readable failure otherwise.
pub fn expect_err<T: std::fmt::Debug>(result: Result<T, TransportError>) -> TransportError {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error,
    }
}

/// A one-shot-per-connection HTTP server that writes canned bytes.
///
/// Serves `responses` in order, one per connection, then stops; the handle yields each
/// request's head (request line and headers) exactly as received.
pub async fn raw_server(responses: Vec<Vec<u8>>) -> std::io::Result<(SocketAddr, JoinHandle<Vec<String>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let mut heads = Vec::new();
        for response in responses {
            let Ok((mut socket, _)) = listener.accept().await else {
                break;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            heads.push(String::from_utf8_lossy(&head).into_owned());
            // The client may hang up early (size limit): a failed write is expected then.
            let _ = socket.write_all(&response).await;
            let _ = socket.shutdown().await;
        }
        heads
    });
    Ok((addr, handle))
}

/// A chunked-encoding body of `chunks` chunks of `size` bytes each, with no Content-Length.
pub fn chunked_response(content_type: &str, chunks: usize, size: usize) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..chunks {
        out.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        out.extend(std::iter::repeat_n(b'a', size));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}
