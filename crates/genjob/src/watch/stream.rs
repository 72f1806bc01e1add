//! The watch as a [`Stream`]: one loop that answers events, cancellation, the deadline, due jobs,
//! finished requests, callbacks and downloads, and sleeps until the next thing that can happen.

use super::Watch;
use crate::outcome::{JobDownloaded, WatchEvent};
use crate::time::since;
use futures::FutureExt;
use futures::stream::{Stream, StreamExt};
use std::pin::Pin;
use std::task::{Context, Poll};

impl Stream for Watch {
    type Item = WatchEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchEvent>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.events.pop_front() {
                return Poll::Ready(Some(event));
            }
            if this.is_over() {
                return Poll::Ready(None);
            }
            let now = this.watcher.env.now();
            if this.cancel.as_ref().is_some_and(|(token, _)| token.is_cancelled()) {
                this.end_all(now, true);
                continue;
            }
            // Deadlines are deadlines: requests and downloads in flight are cut here.
            if this.deadline.passed(now) {
                this.end_all(now, false);
                continue;
            }
            this.dispatch(now);
            if !this.events.is_empty() {
                continue;
            }
            if let Poll::Ready(Some(done)) = this.in_flight.poll_next_unpin(cx) {
                let now = this.watcher.env.now();
                this.complete(done, now);
                continue;
            }
            #[cfg(feature = "callbacks")]
            if let Some(wakes) = this.callbacks.as_mut()
                && let Poll::Ready(Some(wake)) = wakes.receiver.poll_recv(cx)
            {
                let now = this.watcher.env.now();
                this.wake(wake, now);
                continue;
            }
            if let Some(downloads) = this.downloads.as_mut()
                && let Poll::Ready(Some((index, id, result))) = downloads.running.poll_next_unpin(cx)
            {
                downloads.running_ids.remove(&index);
                this.events.push_back(WatchEvent::Downloaded(Box::new(JobDownloaded { index, id, result })));
                continue;
            }
            match this.next_wake() {
                Some(wake) => {
                    if this.timer.as_ref().is_none_or(|(at, _)| *at != wake) {
                        let sleep = this.watcher.env.sleep(since(wake, now));
                        this.timer = Some((wake, sleep));
                    }
                    if let Some((_, sleep)) = this.timer.as_mut()
                        && sleep.poll_unpin(cx).is_ready()
                    {
                        this.timer = None;
                        continue;
                    }
                }
                None => this.timer = None,
            }
            if let Some((_, waiting)) = this.cancel.as_mut()
                && waiting.poll_unpin(cx).is_ready()
            {
                continue;
            }
            return Poll::Pending;
        }
    }
}
