//! Outgoing webhooks: the payload of a final state, and the sender that delivers the outbox,
//! signed per the Standard Webhooks scheme, retried on a schedule reaching past 24 hours.

use crate::db::{DueDelivery, NewDelivery, NewWatch, Store, WatchState};
use genjob::Job;
use genjob::models::webhook::WebhookSecret;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How long one attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a due delivery is this replica's to attempt: past it (the replica died mid-attempt)
/// another replica sends it again. An attempt ends within its timeout, so a live replica is never
/// overtaken.
const CLAIM: Duration = ATTEMPT_TIMEOUT.saturating_add(Duration::from_secs(5));

/// The longest the sender sleeps without looking at the outbox (a safety net; inserts wake it).
const MAX_IDLE: Duration = Duration::from_secs(30);

/// When a failed delivery is tried again: the delay before each attempt after the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl Default for RetrySchedule {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 27.6 hours.
    fn default() -> Self {
        let m = |minutes: u64| Duration::from_secs(minutes * 60);
        RetrySchedule(vec![Duration::from_secs(5), m(5), m(30), m(120), m(300), m(600), m(600)])
    }
}

impl RetrySchedule {
    /// The default for downloads of a job's files: 10 s, 1 min, 5 min, 30 min (five attempts
    /// over about 36 minutes; each attempt already retries what the error policy allows).
    pub fn downloads() -> RetrySchedule {
        let m = |minutes: u64| Duration::from_secs(minutes * 60);
        RetrySchedule(vec![Duration::from_secs(10), m(1), m(5), m(30)])
    }

    /// A schedule of these delays (tests use short ones).
    pub fn new(delays: Vec<Duration>) -> RetrySchedule {
        RetrySchedule(delays)
    }

    /// The delay before the next attempt after `attempts` failed ones; `None`: give up.
    pub fn after(&self, attempts: u32) -> Option<Duration> {
        self.0.get(usize::try_from(attempts).ok()?.checked_sub(1)?).copied()
    }

    /// The time from the first attempt to the last.
    pub fn total(&self) -> Duration {
        self.0.iter().sum()
    }
}

/// A new `webhook-id`: `msg_`, the time in hex (so ids sort by creation), and randomness.
pub fn new_message_id(now_ms: i64) -> String {
    let random: String = rand::rng().sample_iter(Alphanumeric).take(16).map(char::from).collect();
    format!("msg_{now_ms:012x}{random}")
}

/// What became of the files of a `download: true` watch, for its webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesOutcome {
    /// The kept files' paths, in output order.
    pub paths: Vec<String>,
    /// Why they were not kept, when they were not.
    pub error: Option<String>,
}

/// The delivery a final state owes, when the watch has a webhook URL. A `download: true` watch's
/// payload also carries `files` (the kept paths) and `download_error`: it is built once they are known.
pub fn delivery_for(
    watch: &NewWatch,
    state: WatchState,
    job: Option<&Job>,
    error: Option<&str>,
    files: Option<&FilesOutcome>,
    now_ms: i64,
) -> Option<NewDelivery> {
    let url = watch.webhook_url.as_deref()?;
    let timestamp = jiff::Timestamp::from_millisecond(now_ms).map(|t| t.to_string()).unwrap_or_default();
    let mut data = json!({
        "job_id": watch.job_id, "status": state.as_str(), "job": job, "error": error, "labels": watch.labels,
    });
    if let (Some(files), Some(object)) = (files, data.as_object_mut()) {
        object.insert("files".into(), json!(files.paths));
        object.insert("download_error".into(), json!(files.error));
    }
    let payload = json!({ "type": format!("job.{}", state.as_str()), "timestamp": timestamp, "data": data });
    Some(NewDelivery { id: new_message_id(now_ms), url: url.to_owned(), payload: payload.to_string() })
}

/// Delivers the outbox until cancelled: due attempts are sent, their outcome written back.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    pub(crate) store: Store,
    pub(crate) secret: Arc<WebhookSecret>,
    pub(crate) schedule: RetrySchedule,
    pub(crate) wake: Arc<Notify>,
    pub(crate) client: reqwest::Client,
}

impl Sender {
    pub(crate) fn client() -> reqwest::Client {
        // No redirects: a receiver's redirect would send the signed body somewhere no one configured.
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .unwrap_or_default()
    }

    pub(crate) async fn run(self, cancel: CancellationToken) {
        loop {
            let now = crate::now_ms();
            match self.store.due_deliveries(now, 32, CLAIM).await {
                Ok(due) if !due.is_empty() => {
                    let sends = due.into_iter().map(|d| self.attempt(d));
                    tokio::select! {
                        _ = futures_join_all(sends) => {}
                        () = cancel.cancelled() => return,
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!("webhook outbox: {e}"),
            }
            let next = self.store.next_delivery_at().await.ok().flatten();
            let idle = next
                .map(|at| Duration::from_millis(u64::try_from(at.saturating_sub(crate::now_ms())).unwrap_or(0)))
                .unwrap_or(MAX_IDLE)
                .min(MAX_IDLE);
            tokio::select! {
                () = tokio::time::sleep(idle) => {}
                () = self.wake.notified() => {}
                () = cancel.cancelled() => return,
            }
        }
    }

    async fn attempt(&self, delivery: DueDelivery) {
        let timestamp = crate::now_ms() / 1000;
        let signature = self.secret.sign(&delivery.id, timestamp, delivery.payload.as_bytes());
        let sent = self
            .client
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        let failure = match sent {
            Ok(answer) if answer.status().is_success() => None,
            Ok(answer) => Some(format!("the receiver answered HTTP {}", answer.status().as_u16())),
            // Without the URL: it may carry credentials.
            Err(e) => Some(format!("the request failed: {}", e.without_url())),
        };
        let now = crate::now_ms();
        let written = match failure {
            None => self.store.delivery_succeeded(&delivery.id, now).await,
            Some(error) => {
                let attempts = delivery.attempts.saturating_add(1);
                let retry_at = self.schedule.after(attempts).map(|d| now.saturating_add(millis(d)));
                if retry_at.is_none() {
                    tracing::warn!("webhook {}: giving up after {attempts} attempts: {error}", delivery.id);
                }
                self.store.delivery_failed(&delivery.id, &error, retry_at, now).await
            }
        };
        if let Err(e) = written {
            // The attempt stays due: it is sent again (at-least-once), never lost.
            tracing::error!("webhook {}: cannot record the attempt: {e}", delivery.id);
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs the attempts, a few at once, so one slow receiver does not hold the others up.
async fn futures_join_all<F: std::future::Future<Output = ()>>(attempts: impl IntoIterator<Item = F>) {
    use futures::StreamExt;
    futures::stream::iter(attempts).buffer_unordered(8).collect::<Vec<()>>().await;
}
