//! Downloads of the jobs a watch sees complete, a bounded number at a time.

use super::Watch;
use crate::download::{DownloadError, DownloadPlan};
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use genjob_models::{Job, JobId};
use genjob_transport::{Downloaded, JobSource};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A completed job whose outputs wait for a download slot.
pub(super) struct QueuedDownload {
    pub(super) index: usize,
    pub(super) id: JobId,
    pub(super) job: Job,
    pub(super) source: Arc<dyn JobSource>,
}

pub(super) type DownloadFuture = BoxFuture<'static, (usize, JobId, Result<Vec<Downloaded>, DownloadError>)>;

/// Downloads of completed jobs, a bounded number at a time.
pub(super) struct Downloads {
    pub(super) plan: DownloadPlan,
    pub(super) queue: VecDeque<QueuedDownload>,
    pub(super) running: FuturesUnordered<DownloadFuture>,
    /// Ids of the running downloads, to report them if the watch is cut short.
    pub(super) running_ids: HashMap<usize, JobId>,
}

impl Watch {
    pub(super) fn start_downloads(&mut self) {
        let Some(downloads) = self.downloads.as_mut() else { return };
        while downloads.running.len() < downloads.plan.concurrency.max(1)
            && let Some(QueuedDownload { index, id, job, source }) = downloads.queue.pop_front()
        {
            let plan = downloads.plan.clone();
            let watcher = self.watcher.clone();
            let (provider, deadline) = (self.jobs[index].provider, self.deadline);
            downloads.running_ids.insert(index, id.clone());
            downloads.running.push(Box::pin(async move {
                // A bug in one download must be that job's download error, not the end of every wait.
                let work = watcher.download_outputs(provider, &source, &id, &job, &plan, deadline);
                let work = std::panic::AssertUnwindSafe(work);
                let result = work.catch_unwind().await.unwrap_or_else(|panic| {
                    let reason = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_owned());
                    Err(DownloadError::Crashed { id: id.to_string(), reason })
                });
                (index, id, result)
            }));
        }
    }
}
