//! A callback receiver on 127.0.0.1: records what the sandbox POSTs, stamped with simulated time, and answers as scripted.

use std::collections::VecDeque;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use genjob_sandbox::SimClock;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the receiver answers one callback; after the script runs out it answers 200.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// Answers at once with this status.
    Status(u16),
    /// Holds the request this long (real time), then answers 200.
    Hold(Duration),
}

/// One callback as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// The sandbox's simulated time on arrival, in Unix milliseconds.
    pub at_ms: i64,
    pub path: String,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Debug)]
struct Inbox {
    clock: SimClock,
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
}

/// A running receiver; dropping it stops listening.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn record(State(inbox): State<Arc<Inbox>>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    lock(&inbox.received).push(Received {
        at_ms: inbox.clock.now_ms(),
        path: uri.path().to_owned(),
        content_type: header("content-type"),
        authorization: header("authorization"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let reply = lock(&inbox.script).pop_front();
    match reply {
        None => StatusCode::OK,
        Some(Reply::Status(status)) => StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Some(Reply::Hold(wait)) => {
            tokio::time::sleep(wait).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// A receiver that answers 200 to everything, stamping arrivals with `clock`.
    pub async fn start(clock: SimClock) -> Result<Receiver, Box<dyn Error + Send + Sync>> {
        Receiver::scripted(clock, []).await
    }

    /// A receiver that answers the `script` in order, then 200.
    pub async fn scripted(
        clock: SimClock,
        script: impl IntoIterator<Item = Reply>,
    ) -> Result<Receiver, Box<dyn Error + Send + Sync>> {
        let inbox =
            Arc::new(Inbox { clock, script: Mutex::new(script.into_iter().collect()), received: Mutex::default() });
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(record).with_state(Arc::clone(&inbox));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver { addr, inbox, task })
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.inbox.received).clone()
    }

    /// Waits (up to 5 s of real time) until at least `count` callbacks have arrived.
    pub async fn wait_for(&self, count: usize) -> Result<Vec<Received>, Box<dyn Error + Send + Sync>> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let received = self.received();
            if received.len() >= count {
                return Ok(received);
            }
            if Instant::now() > deadline {
                return Err(format!("waited 5 s for {count} callbacks, got {}: {received:?}", received.len()).into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits `wait` of real time and checks that exactly `count` callbacks arrived all along.
    pub async fn still(&self, count: usize, wait: Duration) -> Result<Vec<Received>, Box<dyn Error + Send + Sync>> {
        tokio::time::sleep(wait).await;
        let received = self.received();
        if received.len() != count {
            return Err(format!("expected {count} callbacks, got {}: {received:?}", received.len()).into());
        }
        Ok(received)
    }
}

/// Waits (up to 5 s of real time) until `done` holds.
pub async fn until(mut done: impl FnMut() -> bool) -> Result<(), Box<dyn Error + Send + Sync>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        if Instant::now() > deadline {
            return Err("waited 5 s for a condition that never held".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}
