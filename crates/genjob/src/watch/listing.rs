//! The watch's side of a provider's listing: asking for it, and what it says about each covered job.
//!
//! The rules that decide (hints and truth) are in [`super::hints`]; this drives them.

use super::hints::{self, Check, Coverage, PartialListing, Verdict};
use super::job::{ListingHint, Phase};
use super::{Completion, Watch, provider_state};
use crate::budget::{Permit, RequestKind, Slot};
use crate::learn::DurationKey;
use crate::requests::bounded;
use crate::time::{after, positive, since};
use genjob_models::{JobStatus, Provider};
use genjob_transport::{ListingEntry, ListingPage, ListingScope, TransportError};
use jiff::Timestamp;
use std::time::Duration;

impl Watch {
    /// Answers the jobs waiting for a listing from a fresh one, or requests one; probes a failing listing.
    pub(super) fn serve_listing(&mut self, provider: Provider, now: Timestamp) {
        let interval = self.watcher.options.listing_interval;
        let paged = self.watcher.options.paged_listing_interval;
        let state = self.provider(provider);
        if let Some(cursor) = state.listing.pending.clone() {
            // A listing of several pages under way: its next page, when a slot opens.
            self.request_page(provider, Some(cursor), now);
            return;
        }
        if !state.listing.waiters.is_empty() && state.listing.fresh(now, interval, paged).is_some() {
            let waiters = std::mem::take(&mut state.listing.waiters);
            for index in waiters {
                // A callback may have started the job's read meanwhile.
                if self.jobs[index].phase == Phase::AwaitingListing {
                    self.apply_listing(index, now, true);
                }
            }
            return;
        }
        let probe_due = state.listing.retry_at().is_some_and(|at| at <= now);
        let has_waiters = !state.listing.waiters.is_empty();
        let wanted = has_waiters || (probe_due && self.covers_any(provider));
        if !wanted || !self.provider(provider).listing.may_request(now) {
            return;
        }
        let scope = self.listing_scope(provider, now);
        let state = self.provider(provider);
        state.listing.partial = Some(PartialListing { entries: Vec::new(), pages: 0, scope });
        self.request_page(provider, None, now);
    }

    /// Requests one page of the listing under way, under the provider's budget: the first (`cursor`
    /// `None`) or a later one. Without a slot, the first page's waiters come back when it opens; a
    /// later page waits as `pending`.
    fn request_page(&mut self, provider: Provider, cursor: Option<String>, now: Timestamp) {
        let Some(source) = self.watcher.sources.get(&provider).cloned() else { return };
        let interval = self.watcher.options.listing_interval;
        // A page must not hold its jobs as long as a record read may take: three ticks, within 5–30 s.
        let listing_timeout =
            interval.saturating_mul(3).max(Duration::from_secs(5)).min(self.watcher.options.request_timeout);
        let timeout = self.watcher.request_timeout(now, self.deadline).min(listing_timeout);
        let env = self.watcher.env.clone();
        let taken = self.watcher.budget.try_take(provider, RequestKind::Listing, now, self.watcher.pace());
        let state = self.provider(provider);
        state.listing_blocked = false;
        let permit = match taken {
            Ok(permit) => permit,
            Err(slot) => {
                let first = cursor.is_none();
                state.listing.pending = cursor;
                match slot {
                    Slot::At(at) if first => {
                        // Come back when the slot opens.
                        state.listing.partial = None;
                        let waiters = std::mem::take(&mut state.listing.waiters);
                        for index in waiters {
                            if self.jobs[index].phase == Phase::AwaitingListing {
                                self.schedule(index, now, since(at, now), Check::Due);
                            }
                        }
                    }
                    _ => state.listing_blocked = true,
                }
                return;
            }
        };
        let scope = state.listing.partial.as_ref().map(|p| p.scope.clone()).unwrap_or_default();
        state.listing.pending = None;
        state.listing.in_flight = true;
        self.in_flight.push(Box::pin(async move {
            let request = async {
                permit.shared_turn(&env, None).await;
                match source.listing() {
                    Some(listing) => listing.list_page(&scope, cursor.as_deref()).await,
                    None => Err(TransportError::config("the source has no listing")),
                }
            };
            let result = bounded(&env, timeout, request).await;
            drop::<Permit>(permit);
            Completion::ListingPage { provider, result }
        }));
    }

    /// A page arrived: the next one is requested while the scope needs it, else the listing is complete.
    pub(super) fn listing_page_read(
        &mut self,
        provider: Provider,
        result: Result<ListingPage, TransportError>,
        now: Timestamp,
    ) {
        let max_pages = self.watcher.sources.get(&provider).and_then(|s| s.listing()).map_or(1, |l| l.max_pages());
        let page = match result {
            Ok(page) => page,
            Err(error) => return self.listing_read(provider, Err(error), 1, now),
        };
        let state = self.provider(provider);
        let partial = state.listing.partial.get_or_insert_with(PartialListing::default);
        partial.pages += 1;
        partial.scope.ids.retain(|id| !page.entries.iter().any(|e| &e.id == id));
        partial.entries.extend(page.entries);
        let more = !partial.scope.ids.is_empty() && partial.pages < max_pages.max(1);
        match page.next.filter(|_| more) {
            Some(next) => self.request_page(provider, Some(next), now),
            None => {
                let PartialListing { entries, pages, .. } = state.listing.partial.take().unwrap_or_default();
                self.listing_read(provider, Ok(entries), pages, now);
            }
        }
    }

    pub(super) fn covers_any(&self, provider: Provider) -> bool {
        self.jobs
            .iter()
            .any(|t| t.provider == provider && t.phase != Phase::Done && matches!(t.coverage, Coverage::Listed { .. }))
    }

    fn listing_read(
        &mut self,
        provider: Provider,
        result: Result<Vec<ListingEntry>, TransportError>,
        pages: usize,
        now: Timestamp,
    ) {
        let interval = self.watcher.options.listing_interval;
        let hint = self.watcher.capped_hint(result.as_ref().err().and_then(TransportError::retry_after));
        if let (Err(_), Some(wait)) = (&result, hint) {
            self.watcher.budget.pause_until(provider, after(now, wait));
        }
        let state = self.provider(provider);
        let waiters = std::mem::take(&mut state.listing.waiters);
        match result {
            Ok(entries) => {
                let state = self.provider(provider);
                state.listing.succeeded(entries, pages, now);
                // Every covered job learns from the listing, due or not: one that left it is read now.
                for index in 0..self.jobs.len() {
                    let t = &self.jobs[index];
                    let waiting = t.phase == Phase::AwaitingListing;
                    let idle = matches!(t.phase, Phase::Scheduled(_));
                    if t.provider == provider && (waiting || idle) {
                        self.apply_listing(index, now, waiting);
                    }
                }
            }
            Err(error) => {
                state.listing.failed(error.is_retryable(), hint, interval, now);
                let degraded = state.listing.degraded();
                let retry_in = state.listing.retry_at().map_or(interval, |at| since(at, now));
                let note = format!("the job listing failed: {error}");
                for index in waiters {
                    if degraded {
                        // Rule 6: the listing stopped blocking; read the record.
                        self.read_record(index, now);
                    } else {
                        self.reschedule_with_event(index, now, retry_in, Check::Due, Some(note.clone()));
                    }
                }
            }
        }
    }

    /// What the latest listing says about one covered job; `due` when the job waits for an answer.
    pub(super) fn apply_listing(&mut self, index: usize, now: Timestamp, due: bool) {
        let Coverage::Listed { seen } = self.jobs[index].coverage else {
            if due {
                self.read_record(index, now);
            }
            return;
        };
        let provider = self.jobs[index].provider;
        let age = self.jobs[index].tracker.age(now).map(positive);
        let id = self.jobs[index].tracker.id().as_str().to_owned();
        let Some(listing) = self.provider(provider).listing.latest() else { return };
        let entry = listing.entry(&id);
        let verdict = hints::judge(entry, seen.as_ref(), listing.fetched_at, age);
        let hint = entry.map(|e| ListingHint {
            created_at: e.created_at,
            status: e.status,
            progress: e.progress,
            model: e.model.clone(),
            kind: e.kind,
        });
        match verdict {
            Verdict::Running(sighting) => {
                let coverage = Coverage::Listed { seen: Some(sighting) };
                // The first sighting of a job whose age nothing else tells: rule 3 is applied now.
                let age_learned = self.jobs[index].hint.is_none() && self.jobs[index].tracker.age(now).is_none();
                self.jobs[index].coverage = coverage;
                if let Some(h) = hint.as_ref().filter(|h| h.status == Some(JobStatus::Running)) {
                    let progress = h.progress;
                    self.jobs[index].seen_running(progress, now);
                }
                self.jobs[index].hint = hint;
                // Plausibly listed as running: its time-to-finish is longer than its age. Only the
                // estimate hears this (under the id's provider and kind until a record names more);
                // the job's state comes from its record alone (rule 1).
                if let (Some(learning), Some(age)) = (&self.watcher.learning, age) {
                    let t = &self.jobs[index];
                    let key = t.key.clone().unwrap_or_else(|| DurationKey::for_kind(provider, t.tracker.id().kind()));
                    learning.record_running(&key, &id, age);
                }
                let t = &self.jobs[index];
                let max_unread = self.watcher.options.max_unread;
                let state = provider_state(&mut self.providers, provider, self.watcher.options.listing_failure_limit);
                let own = hints::own_read_reason(&coverage, &state.listing, &t.tracker, t.last_read, now, max_unread);
                // Rule 3 once the listing told an unknown age: a job already old enough is read now.
                let unread_and_old =
                    age_learned && t.polls == 0 && self.watcher.policy.first_delay(&self.context(index, now)).is_zero();
                // Listed or not, the 1-hour mark and the unread bound still call for the record.
                if due && (own.is_some() || unread_and_old) {
                    self.read_record(index, now);
                } else if due {
                    // A job the listing just showed too young to be done waits for its first useful
                    // check (`first_delay` is not capped like the delays between checks).
                    let delay =
                        self.next_delay(index, now).max(self.watcher.policy.first_delay(&self.context(index, now)));
                    let check = self.check_after(index, now);
                    self.reschedule_with_event(index, now, delay, check, None);
                } else if matches!(self.jobs[index].phase, Phase::Scheduled(Check::Due))
                    && self.check_after(index, now) == Check::Record
                {
                    // Its progress now says it finishes before the listing comes again: aim a read at that.
                    let delay = self.next_delay(index, now);
                    self.schedule(index, now, delay, Check::Record);
                }
            }
            Verdict::ReadNow(_) => self.read_record(index, now),
            Verdict::NotListed => {
                if due {
                    self.read_record(index, now);
                }
            }
            Verdict::Implausible(reason) => {
                self.jobs[index].coverage = Coverage::Own;
                tracing::debug!(job = %id, %reason, "the listing no longer covers this job");
                if due {
                    self.read_record(index, now);
                } else if let Phase::Scheduled(_) = self.jobs[index].phase {
                    let delay = self.next_delay(index, now);
                    let note = Some(format!("{reason}; reading its record instead"));
                    self.reschedule_with_event(index, now, delay, Check::Due, note);
                }
            }
        }
    }

    /// The jobs a listing request of `provider` must reach: its covered, unfinished jobs.
    pub(super) fn listing_scope(&self, provider: Provider, now: Timestamp) -> ListingScope {
        let covered = self.jobs.iter().filter(|t| {
            t.provider == provider && t.phase != Phase::Done && matches!(t.coverage, Coverage::Listed { .. })
        });
        let mut ids = Vec::new();
        let mut oldest: Option<Timestamp> = None;
        let mut all_known = true;
        for t in covered {
            ids.push(t.tracker.id().as_str().to_owned());
            match t.tracker.created_at(now).or_else(|| t.hint.as_ref().and_then(|h| h.created_at)) {
                Some(created) => oldest = Some(oldest.map_or(created, |o| o.min(created))),
                None => all_known = false,
            }
        }
        // An unknown creation time could be the oldest: then the listing may not stop early.
        ListingScope::new(ids, oldest.filter(|_| all_known))
    }

    /// The check that follows `delay` for a job: its own record when a listing covers it but its
    /// progress predicts it done before that listing is fetched again (a paged listing is fetched
    /// sparsely, and a targeted read then finds the job done as soon as per-job polling would);
    /// else whatever the rules allow.
    pub(super) fn check_after(&self, index: usize, now: Timestamp) -> Check {
        let t = &self.jobs[index];
        if !matches!(t.coverage, Coverage::Listed { .. }) {
            return Check::Due;
        }
        let listing = self.providers.get(&t.provider).map(|p| &p.listing);
        let paged = listing.is_some_and(|l| l.requests > 1);
        let interval = if paged {
            self.watcher.options.paged_listing_interval.max(self.watcher.options.listing_interval)
        } else {
            self.watcher.options.listing_interval
        };
        match crate::policy::predicted_remaining(&self.context(index, now)) {
            Some(remaining) if paged && remaining <= interval => Check::Record,
            _ => Check::Due,
        }
    }
}
