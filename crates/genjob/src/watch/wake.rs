//! Callbacks waking jobs: each one starts a read of the job's record, rate-limited per job.

use super::Watch;
use super::hints::Check;
use super::job::Phase;
use crate::callbacks::Wake;
use crate::time::{after, since};
use jiff::Timestamp;
use std::time::Duration;

impl Watch {
    /// A callback named a job: read its record now (the callback itself proves nothing), at most once
    /// per `callback_min_interval` per job, so a flood of callbacks cannot flood the provider.
    pub(super) fn wake(&mut self, wake: Wake, now: Timestamp) {
        let Some(&index) = self.index_of.get(wake.id.as_str()) else {
            tracing::info!(job = %wake.id, "callback for a job this watch does not watch: ignored");
            return;
        };
        let t = &self.jobs[index];
        if matches!(t.phase, Phase::Done | Phase::Reading | Phase::AwaitingSlot) {
            return;
        }
        let spacing = self.watcher.options.callback_min_interval;
        let earliest = t.last_woken.map_or(now, |at| after(at, spacing));
        let note = Some(format!("a callback claims it is {}; reading its record", wake.claimed));
        if earliest <= now {
            self.jobs[index].last_woken = Some(now);
            self.read_record(index, now);
            self.progress_event(index, now, Duration::ZERO, note);
        } else if !matches!(t.phase, Phase::Scheduled(Check::Record)) {
            // Woken again too soon: one read when the spacing allows, however many callbacks come.
            self.jobs[index].last_woken = Some(earliest);
            self.reschedule_with_event(index, now, since(earliest, now), Check::Record, note);
        }
    }
}
