//! The callback sender: one task that sleeps until the next callback is due and POSTs it, and forged callbacks.
//!
//! Sends run as their own tasks (at most [`MAX_IN_FLIGHT`] at once), so a slow receiver neither
//! blocks request handling nor delays other jobs' callbacks. The sender wakes when a callback comes
//! due, a job is added, an attempt ends, or the clock is advanced by hand; never on a timer of its own.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::Shared;
use crate::SandboxError;
use crate::callbacks::{
    ATTEMPT_TIMEOUT, DueQueue, MAX_IN_FLIGHT, MAX_REAL_ATTEMPT_TIMEOUT, Planned, forged_failure, forged_stage,
    retry_gaps_ms,
};
use crate::render;
use crate::stats::bump;

/// Where a forged record's output URLs point: `.invalid` never resolves (RFC 2606), so nothing is fetched.
const FORGED_BASE_URL: &str = "http://forged.invalid";

/// What the sender's queue holds.
#[derive(Debug)]
enum Work {
    /// A planned callback whose moment has come: render its body, then send its copies.
    Render(Planned),
    /// `copies` identical deliveries still to start, each after `tried` failed attempts of its own.
    Send { outgoing: Arc<Outgoing>, tried: usize, copies: u64 },
}

/// A rendered callback, shared by its copies and retries: the body is never rendered twice.
#[derive(Debug)]
struct Outgoing {
    job_id: String,
    url: String,
    body: Bytes,
    retry_gaps_ms: &'static [i64],
}

/// Starts the sender; it runs until aborted, taking planned callbacks from `planned`.
pub(super) fn spawn_sender(shared: Arc<Shared>, planned: mpsc::UnboundedReceiver<Planned>) -> JoinHandle<()> {
    tokio::spawn(run_sender(shared, planned))
}

async fn run_sender(shared: Arc<Shared>, mut planned: mpsc::UnboundedReceiver<Planned>) {
    let mut queue: DueQueue<Work> = DueQueue::default();
    // Dropped with this task when the sandbox stops, which aborts the sends in flight too.
    let mut in_flight: JoinSet<Option<(i64, Work)>> = JoinSet::new();
    let mut jumps = shared.clock.jumps();
    loop {
        // Marked seen before the time is read: a jump after this line wakes the wait below.
        jumps.borrow_and_update();
        let now_ms = shared.clock.now_ms();
        while in_flight.len() < MAX_IN_FLIGHT {
            let Some((due_ms, work)) = queue.pop_due(now_ms) else { break };
            match work {
                Work::Render(planned) => {
                    if let Some(outgoing) = shared.render_callback(&planned) {
                        let send = Work::Send { outgoing: Arc::new(outgoing), tried: 0, copies: planned.copies };
                        queue.push(due_ms, send);
                    }
                }
                Work::Send { outgoing, tried, copies } => {
                    // The other copies queue up behind this one, each taking a slot of its own.
                    if copies > 1 {
                        queue.push(due_ms, Work::Send { outgoing: Arc::clone(&outgoing), tried, copies: copies - 1 });
                    }
                    in_flight.spawn(attempt(Arc::clone(&shared), outgoing, tried));
                }
            }
        }
        // With every slot taken, only a finished attempt can let more out.
        let wake_in = queue
            .next_due()
            .filter(|_| in_flight.len() < MAX_IN_FLIGHT)
            .map(|due_ms| shared.clock.to_real(Duration::from_millis(due_ms.saturating_sub(now_ms).max(0) as u64)));
        tokio::select! {
            received = planned.recv() => match received {
                Some(planned) => queue.push(planned.due_ms, Work::Render(planned)),
                // Cannot happen while this task holds the sandbox's state (and with it the
                // sending half); were it ever to, there would be nothing left to plan.
                None => return,
            },
            Some(ended) = in_flight.join_next() => {
                if let Ok(Some((due_ms, retry))) = ended {
                    queue.push(due_ms, retry);
                }
            }
            Ok(()) = jumps.changed() => {}
            () = sleep(wake_in) => {}
        }
    }
}

/// Sleeps `wait` of real time, or for ever when there is nothing to wait for.
async fn sleep(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

/// One attempt of one copy; answers the retry to queue when it failed and the provider retries.
async fn attempt(shared: Arc<Shared>, outgoing: Arc<Outgoing>, tried: usize) -> Option<(i64, Work)> {
    bump(&shared.counters.callbacks_sent);
    let result = shared.post_callback(&outgoing.url, outgoing.body.clone()).await;
    let Err(reason) = result else {
        tracing::debug!(job = %outgoing.job_id, url = %outgoing.url, attempt = tried + 1, "callback delivered");
        return None;
    };
    // Read before the failure is counted: whoever sees the count sees the retry's due time fixed.
    let failed_ms = shared.clock.now_ms();
    bump(&shared.counters.callbacks_failed);
    tracing::debug!(job = %outgoing.job_id, url = %outgoing.url, attempt = tried + 1, %reason, "callback failed");
    let gap_ms = *outgoing.retry_gaps_ms.get(tried)?;
    Some((failed_ms.saturating_add(gap_ms), Work::Send { outgoing, tried: tried + 1, copies: 1 }))
}

impl Shared {
    /// The planned callback's URL and body: the job's true record as of its status change.
    fn render_callback(&self, planned: &Planned) -> Option<Outgoing> {
        let store = self.store();
        let job = store.by_serial(planned.serial)?;
        let url = job.reply_url.clone()?;
        let record = render::record(job, &self.render_context(planned.event_ms, &self.base_url));
        Some(Outgoing {
            job_id: job.id.clone(),
            url,
            body: Bytes::from(record.to_string()),
            retry_gaps_ms: retry_gaps_ms(job.kind.provider()),
        })
    }

    /// POSTs `body` as JSON to `url`, unsigned like the providers' callbacks; `Err` says why no 2xx came.
    async fn post_callback(&self, url: &str, body: Bytes) -> Result<(), String> {
        let timeout = self.clock.to_real(ATTEMPT_TIMEOUT).min(MAX_REAL_ATTEMPT_TIMEOUT);
        let sent = self
            .callback_client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .timeout(timeout)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("the receiver answered {}", response.status())),
            Err(error) if error.is_timeout() => {
                Err(format!("no answer within {} s of simulated time", ATTEMPT_TIMEOUT.as_secs()))
            }
            Err(error) => Err(with_sources(&error)),
        }
    }

    /// Posts a record of job `id` claiming `status` to `to` or the job's reply URL, now.
    pub(super) async fn send_forged_callback(
        &self,
        id: &str,
        status: &str,
        to: Option<&str>,
    ) -> Result<(), SandboxError> {
        let (url, record) = {
            let store = self.store();
            let job = store.get(id).ok_or_else(|| SandboxError::UnknownJob { id: id.to_owned() })?;
            let url = match to {
                Some(to) => to.to_owned(),
                None => job.reply_url.clone().ok_or_else(|| SandboxError::NoCallbackUrl { id: id.to_owned() })?,
            };
            let now_ms = self.clock.now_ms();
            let failure = forged_failure(job);
            let stage = forged_stage(status, now_ms, &failure);
            let mut record = render::record_at(job, stage, &self.render_context(now_ms, FORGED_BASE_URL));
            if let Value::Object(map) = &mut record {
                map.insert("status".into(), json!(status));
            }
            (url, record)
        };
        check_callback_url(&url)?;
        bump(&self.counters.callbacks_forged);
        tracing::debug!(job = %id, %url, %status, "forged callback");
        self.post_callback(&url, Bytes::from(record.to_string()))
            .await
            .map_err(|reason| SandboxError::CallbackNotDelivered { url, reason })
    }
}

/// Refuses what could never be POSTed to, so the caller hears why at once.
fn check_callback_url(url: &str) -> Result<(), SandboxError> {
    let invalid = |reason: String| SandboxError::InvalidCallbackUrl { url: url.to_owned(), reason };
    let parsed = reqwest::Url::parse(url).map_err(|error| invalid(error.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => Ok(()),
        other => Err(invalid(format!("the scheme is {other}"))),
    }
}

/// An error with its causes, which name the real problem ("connection refused") reqwest's own message hides.
fn with_sources(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
