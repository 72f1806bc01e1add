//! What a watcher has learned, per kind of job: bounded rings of finish times and running ages.

use super::estimate::{BATCH_SPREAD, DurationEstimate, MAX_SAMPLE, Repayment, started_together};
use super::key::DurationKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Finished jobs a key needs before its estimate replaces the documented windows.
pub const MIN_FINISHED: usize = 20;
/// Finished jobs a key needs before a provisional estimate corrects the documented windows, taken
/// for its share of [`MIN_FINISHED`] ([`DurationEstimate::provisional`]).
pub const EARLY_FINISHED: usize = 5;
/// Keys kept; the least recently used one goes first.
pub const MAX_KEYS: usize = 64;
/// Finished samples kept per key (the newest): a batch of a thousand whole.
///
/// Kaplan–Meier reads a batch's running jobs against its finishes; with only the newest 256 of a
/// queued burst's finishes it saw no job finish before the oldest of them, and the plan moved the
/// checks a fixed loop makes over that stretch to what is left (measured on a burst of 1,000, seed
/// 3: 72.8 requests a job where the loop makes 72.4; with 1,024, 70.2 at 1.08× the optimum's
/// latency).
pub const MAX_SAMPLES: usize = 1_024;
/// Running samples kept per key (the newest). Kaplan–Meier weighs each finish against every job
/// at risk at its age, so keeping fewer running jobs than run at once would inflate how soon jobs
/// finish: a batch of 1,000 queued jobs, 256 of them kept, read 3.5× too soon a finish.
pub const MAX_RUNNING: usize = 4_096;
/// New finished samples after which a key's estimate is computed again.
const REESTIMATE_EVERY: u32 = 8;
/// A job running this many times longer than the estimate's horizon makes it stale.
const OUTGROWN: f64 = 1.2;
/// Finishes after a change for which its estimate is marked as following it
/// ([`DurationEstimate::following_change`]), and planned on with a smaller budget.
///
/// The jobs in flight when a change comes pay for it twice: the old plan's dense stretch while
/// they outlive it, and once the change is followed, the new plan's dense stretch at their age
/// (measured on the drift family, seed 7: the first ten jobs after the change paid 40.6 requests
/// a job where the fixed loop paid 28.1, the next ten 56.8 where it paid 32.9). Those checks are
/// spent before anything can tell that they are wasted; the jobs after them repay the excess, so
/// that the jobs of the change as a whole cost no more than the loop. What the jobs of the change
/// cost is counted as the watcher reports it ([`DurationEstimates::record_spent`]), and the schedule
/// sizes the repayment by it ([`following_share`](crate::policy::following_share)).
pub const REPAY_FINISHES: u64 = 80;
/// The newest finishes tested against what came before for a change in how long jobs take (a
/// model update, a busy day), and kept when one is found.
pub const CHANGE_WINDOW: usize = MIN_FINISHED;
/// A newest finish is out of place when the estimate of what came before leaves less than this
/// share of jobs beyond it (or before it).
const OUT_OF_PLACE: f64 = 0.1;
/// Out-of-place finishes among the newest [`CHANGE_WINDOW`], on one side, that mean a change: ten of
/// twenty, where an unchanged distribution puts two (ten or more: about 7 in a million).
const CHANGED_AT: usize = 10;
/// Older finishes a key needs before its newest are tested for a change: the share of them the test
/// reads as a tail ([`OUT_OF_PLACE`]) must hold as many finishes as it counts ([`CHANGED_AT`]).
///
/// From fewer, where the tail begins is a guess, and early in a run a biased one: the first jobs to
/// finish are the short ones, and the long ones submitted with them are not all among the running
/// ages (a job not yet read is in none). Issue 21's queued-first family (an exponential wait before
/// running), seed 33: with 49 older finishes, ten of the newest twenty were past the 214 s where
/// the estimate left 8 % of jobs, and read as a change at the 69th finish; planned on those ten
/// slow ones, the fast jobs were checked late while the estimate caught up, and the family's
/// latency went from 1.00 to 1.22× the optimum. The cost: a change within a key's first 120
/// finishes is not followed as one, and the estimate mixes both until the old finishes are
/// outnumbered.
const LEAST_BEFORE: usize = 100;
const _: () = assert!(LEAST_BEFORE as f64 * OUT_OF_PLACE >= CHANGED_AT as f64);
/// Changes whose finish counts a key remembers (for reports).
const CHANGES_KEPT: usize = 16;
/// The `format` tag of the serialized form; anything else is another program's file.
const FORMAT: &str = "genjob-learned-durations";
/// The serialized form's version.
const VERSION: u32 = 1;

/// One sample: seconds (rounded to a tenth) and a hash of the job id, so a job counts once.
type Sample = (f32, u32);

/// What is known about one key.
#[derive(Debug, Clone)]
struct KeyState {
    key: DurationKey,
    /// Times-to-finish of finished jobs, oldest first.
    finished: VecDeque<Sample>,
    /// Ages at which jobs were last seen running, oldest first.
    running: VecDeque<Sample>,
    /// When the key was last used (a counter), for eviction.
    last_used: u64,
    /// Finished samples since the estimate was computed.
    fresh: u32,
    /// The longest running age that made the estimate stale.
    outgrown_at: f64,
    /// The estimate, while it is fresh enough.
    estimate: Option<Arc<DurationEstimate>>,
    /// Finished samples ever added (the count a change is reported at).
    added: u64,
    /// The counts of finished samples at which a change was followed, oldest first.
    changes: VecDeque<u64>,
    /// The jobs whose finishes were let go at the last change: a merge does not bring them back.
    let_go: HashSet<u32>,
    /// What watching the newest finished jobs cost, per job: (id, checks, seconds watched), the
    /// newest [`CHANGE_WINDOW`] reported.
    spent: VecDeque<(u32, u32, f32)>,
    /// What the jobs of the last change have cost (the finishes that showed it and those after it).
    repayment: Repayment,
}

impl KeyState {
    fn new(key: DurationKey, last_used: u64) -> Self {
        Self {
            key,
            finished: VecDeque::new(),
            running: VecDeque::new(),
            last_used,
            fresh: 0,
            outgrown_at: 0.0,
            estimate: None,
            added: 0,
            changes: VecDeque::new(),
            let_go: HashSet::new(),
            spent: VecDeque::new(),
            repayment: Repayment::default(),
        }
    }

    /// Finishes left before the last change is no longer followed (0: none is).
    fn finishes_left(&self) -> u64 {
        self.changes.back().map_or(0, |&at| REPAY_FINISHES.saturating_sub(self.added.saturating_sub(at)))
    }

    /// Kaplan–Meier over the finishes and running ages kept now.
    fn computed(&self) -> Option<DurationEstimate> {
        let finished: Vec<f64> = self.finished.iter().map(|s| f64::from(s.0)).collect();
        let running: Vec<f64> = self.running.iter().map(|s| f64::from(s.0)).collect();
        DurationEstimate::from_samples(&finished, &running)
    }

    /// Lets the older finishes go when the newest say that jobs take another time now.
    ///
    /// Each of the newest [`CHANGE_WINDOW`] finishes is read against the estimate of everything
    /// else (older finishes and the jobs still running, so that a batch finishing in order of
    /// length is not a change): when [`CHANGED_AT`] of them lie where that estimate leaves less
    /// than [`OUT_OF_PLACE`] of the jobs later (or of the finished ones sooner), on the same side,
    /// the estimate is following a past that is gone. Planned on it, slower jobs would be read
    /// densely where they do not finish (measured: 1.42× the 10-second loop's requests on the jobs
    /// of a change to twice as slow); from the newest finishes and the running jobs, the next
    /// estimate follows what jobs do now.
    fn follow_change(&mut self) {
        let n = self.finished.len();
        if n < CHANGE_WINDOW + LEAST_BEFORE {
            return;
        }
        let older: Vec<f64> = self.finished.iter().take(n - CHANGE_WINDOW).map(|s| f64::from(s.0)).collect();
        let mut running: Vec<f64> = self.running.iter().map(|s| f64::from(s.0)).collect();
        let Some(before) = DurationEstimate::from_samples(&older, &running) else { return };
        running.sort_by(f64::total_cmp);
        // Sooner is read among the jobs that finished within the horizon: in a batch most are still
        // running, and every finish comes before nearly all of them.
        let within = (1.0 - before.tail_mass()).max(f64::EPSILON);
        // Later is not read in a batch: jobs started together finish shortest first, so near its
        // end every finish is among the last few percent of all, and the batch still running says
        // that is expected (without this, the last tenth of a queued burst read as a change and
        // was planned on its newest 20 finishes; its last few jobs are a batch too). Running ages
        // are as of each job's last read, so a finish may be a little older than all of them.
        let oldest = if started_together(&running, 0) { running.last().copied().unwrap_or(0.0) } else { 0.0 };
        let at_front = |x: f64| x <= oldest * (1.0 + BATCH_SPREAD);
        // (later, sooner) for each of the newest finishes.
        let places: Vec<(bool, bool)> = self
            .finished
            .iter()
            .skip(n - CHANGE_WINDOW)
            .map(|s| {
                let (x, f) = (f64::from(s.0), before.cdf(f64::from(s.0)));
                (1.0 - f < OUT_OF_PLACE && !at_front(x), f / within < OUT_OF_PLACE)
            })
            .collect();
        let later = places.iter().filter(|p| p.0).count();
        let sooner = places.iter().filter(|p| p.1).count();
        if later.max(sooner) < CHANGED_AT {
            return;
        }
        // Only the newest finishes out of place on the side of the change are kept: the others
        // among the newest are mostly jobs of the gone past, finishing late (measured on the drift
        // family, seeds 2 and 3: keeping all twenty, latency after the change 1.35 and 1.45 times
        // the per-half optimum; keeping these and planning on them, 1.14 and 1.23).
        let keep: Vec<bool> = places.iter().map(|&(l, s)| if later >= sooner { l } else { s }).collect();
        let newest = self.finished.split_off(n - CHANGE_WINDOW);
        self.let_go = self.finished.drain(..).map(|s| s.1).collect();
        for (sample, kept) in newest.into_iter().zip(keep) {
            if kept {
                self.finished.push_back(sample);
            } else {
                self.let_go.insert(sample.1);
            }
        }
        // The finishes that showed the change are its first jobs, and they overspent the most:
        // planned on the gone past. What they cost opens the account the next jobs repay.
        let kept: HashSet<u32> = self.finished.iter().map(|s| s.1).collect();
        self.repayment = Repayment::default();
        for &(_, checks, secs) in self.spent.iter().filter(|s| kept.contains(&s.0)) {
            self.repayment.add(checks, f64::from(secs));
        }
        push_bounded(&mut self.changes, self.added, CHANGES_KEPT);
    }
}

/// How long jobs took, per [`DurationKey`]: a plain value to keep, share, save and pass in.
///
/// Bounded: at most [`MAX_KEYS`] keys (least recently used evicted), each with at most
/// [`MAX_SAMPLES`] finished and as many running samples (the newest). It does no IO and reads no
/// clock: the watcher tells it what records said. Serialized, it is a small versioned JSON object;
/// deserializing anything else (another program's file, a future version) is an error, and
/// out-of-range samples in an accepted file are dropped.
///
/// ```
/// use genjob::learn::{DurationEstimates, DurationKey};
/// use genjob::{JobKind, Provider};
/// use std::time::Duration;
/// let mut learned = DurationEstimates::new();
/// let key = DurationKey::for_kind(Provider::Dreamina, Some(JobKind::Video));
/// for i in 0..20 {
///     learned.record_finished(&key, &format!("job-{i}"), Duration::from_secs(90 + i));
/// }
/// assert!(learned.estimate(&key).is_some_and(|e| e.finished() == 20));
/// ```
#[derive(Clone, Default)]
pub struct DurationEstimates {
    keys: Vec<KeyState>,
    clock: u64,
}

impl std::fmt::Debug for DurationEstimates {
    /// Each key with its sample counts: the samples themselves would be thousands of numbers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.keys.iter().map(|s| (&s.key, (s.finished.len(), s.running.len())))).finish()
    }
}

impl PartialEq for DurationEstimates {
    /// Equal when they hold the same samples under the same keys, in the same order of use.
    fn eq(&self, other: &Self) -> bool {
        self.stored().keys == other.stored().keys
    }
}

impl DurationEstimates {
    /// Nothing learned yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys with anything learned.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, least recently used first.
    pub fn keys(&self) -> Vec<&DurationKey> {
        let mut states: Vec<&KeyState> = self.keys.iter().collect();
        states.sort_by_key(|s| s.last_used);
        states.into_iter().map(|s| &s.key).collect()
    }

    /// Finished and running samples held under exactly `key`.
    pub fn samples(&self, key: &DurationKey) -> (usize, usize) {
        self.keys.iter().find(|s| &s.key == key).map_or((0, 0), |s| (s.finished.len(), s.running.len()))
    }

    /// When the estimate for exactly `key` followed a change: the counts of finished samples added
    /// under it by then (the 300th finish, …), oldest first, the last 16.
    ///
    /// At each, the newest finishes said that jobs take another time now (a model update, a busy
    /// day), and the older ones were let go.
    pub fn changes(&self, key: &DurationKey) -> Vec<u64> {
        self.keys.iter().find(|s| &s.key == key).map_or_else(Vec::new, |s| s.changes.iter().copied().collect())
    }

    /// A job under `key` finished `took` after its creation (from its record's own timestamps).
    ///
    /// Counted once per job id; its running sample, if any, is replaced. Durations that are zero or
    /// longer than a day are ignored.
    pub fn record_finished(&mut self, key: &DurationKey, job: &str, took: Duration) {
        let Some(secs) = sample_secs(took) else { return };
        let id = id_hash(job);
        for level in key.levels() {
            let state = self.state(level);
            state.running.retain(|s| s.1 != id);
            match state.finished.iter_mut().find(|s| s.1 == id) {
                Some(sample) => sample.0 = secs,
                None => {
                    push_bounded(&mut state.finished, (secs, id), MAX_SAMPLES);
                    state.added = state.added.saturating_add(1);
                }
            }
            state.fresh = state.fresh.saturating_add(1);
            // A finish where the estimate leaves few jobs is tested for a change at once, not
            // after the next few finishes: jobs planned on a gone past overspend meanwhile.
            if let Some(estimate) = &state.estimate {
                let f = estimate.cdf(f64::from(secs));
                if 1.0 - f < OUT_OF_PLACE || f < OUT_OF_PLACE * (1.0 - estimate.tail_mass()) {
                    state.fresh = REESTIMATE_EVERY;
                }
            }
        }
    }

    /// Watching a job under `key` that finished took `checks` record reads over `watched` (from its
    /// first check to its finish): while a change is followed, what its jobs cost is set against
    /// what a fixed loop would have, and the schedule repays any excess ([`Repayment`]).
    ///
    /// Reported by the watcher after [`record_finished`](Self::record_finished), once a job; a
    /// report repeating one of the newest [`CHANGE_WINDOW`] jobs is ignored. Not saved nor merged:
    /// it is what this process spent. It can only lower the budget, by at most half: a server
    /// lying about when a job finished cannot make the schedule spend more.
    pub fn record_spent(&mut self, key: &DurationKey, job: &str, checks: u32, watched: Duration) {
        let Some(secs) = sample_secs(watched).or(watched.is_zero().then_some(0.0)) else { return };
        let id = id_hash(job);
        for level in key.levels() {
            let Some(state) = self.keys.iter_mut().find(|s| s.key == level) else { continue };
            if state.spent.iter().any(|s| s.0 == id) {
                continue;
            }
            push_bounded(&mut state.spent, (id, checks, secs), CHANGE_WINDOW);
            if state.finishes_left() > 0 {
                state.repayment.add(checks, f64::from(secs));
            }
        }
    }

    /// A job under `key` was seen not finished at `age`: its time-to-finish is longer.
    pub fn record_running(&mut self, key: &DurationKey, job: &str, age: Duration) {
        let Some(secs) = sample_secs(age) else { return };
        let id = id_hash(job);
        for level in key.levels() {
            let state = self.state(level);
            match state.running.iter_mut().find(|s| s.1 == id) {
                Some(sample) => sample.0 = sample.0.max(secs),
                None => push_bounded(&mut state.running, (secs, id), MAX_RUNNING),
            }
            // A job outliving the estimate by far says the tail is heavier than it thinks.
            if let Some(estimate) = &state.estimate {
                let mark = estimate.horizon_secs().max(state.outgrown_at) * OUTGROWN;
                if f64::from(secs) > mark {
                    state.outgrown_at = f64::from(secs);
                    state.fresh = REESTIMATE_EVERY;
                }
            }
        }
    }

    /// A job under `key` ended without finishing normally (it failed): its running sample is dropped.
    ///
    /// How long a refused or broken job took says nothing about how long a generation takes.
    pub fn forget(&mut self, key: &DurationKey, job: &str) {
        let id = id_hash(job);
        for level in key.levels() {
            if let Some(state) = self.keys.iter_mut().find(|s| s.key == level) {
                state.running.retain(|s| s.1 != id);
            }
        }
    }

    /// The estimate for `key`: the most specific of its levels with [`MIN_FINISHED`] finished
    /// samples (10 after it followed a change: the newest finishes that showed it), else a
    /// [provisional](DurationEstimate::provisional) one from [`EARLY_FINISHED`] or more.
    ///
    /// Computed again only after 8 new finished samples (or a job outliving it by far),
    /// and kept until then, so this is cheap to call before every poll.
    pub fn estimate(&mut self, key: &DurationKey) -> Option<Arc<DurationEstimate>> {
        self.clock = self.clock.wrapping_add(1);
        let now = self.clock;
        for level in key.levels() {
            let Some(state) = self.keys.iter_mut().find(|s| s.key == level) else { continue };
            // After a change, the out-of-place finishes that showed it are enough to plan on.
            let least = if state.changes.is_empty() { MIN_FINISHED } else { CHANGED_AT };
            if state.finished.len() < least {
                continue;
            }
            state.last_used = now;
            // A provisional estimate (from fewer finishes, below) is replaced at once.
            let provisional = state.estimate.as_ref().is_some_and(|e| e.trust() < 1.0);
            if state.estimate.is_none() || state.fresh >= REESTIMATE_EVERY || provisional {
                state.follow_change();
                let left = state.finishes_left();
                let repayment = Repayment { finishes_left: left, ..state.repayment };
                state.estimate =
                    state.computed().map(|e| Arc::new(if left > 0 { e.following_change(repayment) } else { e }));
                state.fresh = 0;
            }
            return state.estimate.clone();
        }
        // Too few finishes anywhere to plan on alone: the most specific level with a few is taken
        // for its share of the truth, the documents for the rest.
        for level in key.levels() {
            let Some(state) = self.keys.iter_mut().find(|s| s.key == level) else { continue };
            let k = state.finished.len();
            if k < EARLY_FINISHED {
                continue;
            }
            state.last_used = now;
            if state.estimate.is_none() || state.fresh > 0 {
                let trust = k as f64 / MIN_FINISHED as f64;
                state.estimate = state.computed().map(|e| Arc::new(e.provisional(trust)));
                state.fresh = 0;
            }
            // A batch's first finishes are its shortest jobs, not a sample of all: its documents
            // stand until 20 have finished (with them the queued burst of seed 5 read 1.13× the
            // optimum, seed 7 1.08×; without, 1.10× and 1.05×).
            return state.estimate.clone().filter(|e| !e.started_together());
        }
        None
    }

    /// Adds what `other` learned to this: its keys, in its order of use, and per job its sample.
    ///
    /// Samples belong to job ids, so a job both hold counts once (its finish wins over a running
    /// sample, the larger running age over a smaller). This is how two watchers, or two processes
    /// saving to one file, combine what each saw without counting a shared past twice.
    pub fn merge(&mut self, other: &DurationEstimates) {
        let mut theirs: Vec<&KeyState> = other.keys.iter().collect();
        theirs.sort_by_key(|s| s.last_used);
        for their in theirs {
            let state = self.state(their.key.clone());
            // Rings of up to MAX_SAMPLES finished and MAX_RUNNING running samples: matched by id
            // through sets and maps, not ring against ring (1,024 × 1,024 and 4,096 × 4,096
            // comparisons a key at every merge, which `serve` makes every 30 s).
            let ours: HashMap<u32, usize> = state.finished.iter().enumerate().map(|(i, s)| (s.1, i)).collect();
            let (mut new, mut new_at): (Vec<Sample>, HashMap<u32, usize>) = (Vec::new(), HashMap::new());
            for &(secs, id) in their.finished.iter().filter(|s| !state.let_go.contains(&s.1)) {
                if let Some(&i) = ours.get(&id) {
                    state.finished[i].0 = secs;
                } else if let Some(&j) = new_at.get(&id) {
                    new[j].0 = secs;
                } else {
                    new_at.insert(id, new.len());
                    new.push((secs, id));
                }
            }
            let added = u32::try_from(new.len()).unwrap_or(u32::MAX);
            state.added = state.added.saturating_add(u64::from(added));
            for sample in new {
                push_bounded(&mut state.finished, sample, MAX_SAMPLES);
            }
            let finished: HashSet<u32> = state.finished.iter().map(|s| s.1).collect();
            state.running.retain(|s| !finished.contains(&s.1));
            let ours: HashMap<u32, usize> = state.running.iter().enumerate().map(|(i, s)| (s.1, i)).collect();
            // A file read from disk may hold an id twice: the larger age wins there too.
            let (mut new, mut new_at): (Vec<Sample>, HashMap<u32, usize>) = (Vec::new(), HashMap::new());
            for &(secs, id) in their.running.iter().filter(|s| !finished.contains(&s.1)) {
                if let Some(&i) = ours.get(&id) {
                    state.running[i].0 = state.running[i].0.max(secs);
                } else if let Some(&j) = new_at.get(&id) {
                    new[j].0 = new[j].0.max(secs);
                } else {
                    new_at.insert(id, new.len());
                    new.push((secs, id));
                }
            }
            for sample in new {
                push_bounded(&mut state.running, sample, MAX_RUNNING);
            }
            state.fresh = state.fresh.saturating_add(added);
            if !their.running.is_empty() {
                // New censoring can change the tail as much as new finishes.
                state.estimate = None;
            }
        }
    }

    /// The state of `key`, created (evicting the least recently used key if full) when missing.
    fn state(&mut self, key: DurationKey) -> &mut KeyState {
        self.clock = self.clock.wrapping_add(1);
        let now = self.clock;
        let index = match self.keys.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                if self.keys.len() >= MAX_KEYS
                    && let Some(oldest) = self.keys.iter().enumerate().min_by_key(|(_, s)| s.last_used).map(|(i, _)| i)
                {
                    self.keys.swap_remove(oldest);
                }
                self.keys.push(KeyState::new(key, now));
                self.keys.len() - 1
            }
        };
        let state = &mut self.keys[index];
        state.last_used = now;
        state
    }

    fn stored(&self) -> Stored {
        let mut states: Vec<&KeyState> = self.keys.iter().collect();
        states.sort_by_key(|s| s.last_used);
        Stored {
            format: FORMAT.to_owned(),
            version: VERSION,
            keys: states
                .into_iter()
                .map(|s| StoredKey {
                    key: s.key.clone(),
                    finished: s.finished.iter().copied().collect(),
                    running: s.running.iter().copied().collect(),
                })
                .collect(),
        }
    }

    fn from_stored(stored: Stored) -> Result<Self, String> {
        if stored.format != FORMAT {
            return Err(format!("not a file of learned durations (format `{}`)", stored.format));
        }
        if stored.version != VERSION {
            return Err(format!(
                "learned durations of version {}, this genjob reads version {VERSION}",
                stored.version
            ));
        }
        let mut learned = Self::new();
        // The newest keys come last; keep the last MAX_KEYS, and the newest samples of each.
        let skip = stored.keys.len().saturating_sub(MAX_KEYS);
        for stored_key in stored.keys.into_iter().skip(skip) {
            let clean = |samples: Vec<Sample>, cap: usize| -> VecDeque<Sample> {
                let valid: Vec<Sample> = samples
                    .into_iter()
                    .filter(|s| s.0.is_finite() && s.0 > 0.0 && f64::from(s.0) <= MAX_SAMPLE.as_secs_f64())
                    .collect();
                valid[valid.len().saturating_sub(cap)..].iter().copied().collect()
            };
            let key = stored_key.key.sanitized();
            if learned.keys.iter().any(|s| s.key == key) {
                continue;
            }
            let state = learned.state(key);
            state.finished = clean(stored_key.finished, MAX_SAMPLES);
            state.running = clean(stored_key.running, MAX_RUNNING);
        }
        Ok(learned)
    }
}

/// The serialized form.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    format: String,
    version: u32,
    keys: Vec<StoredKey>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct StoredKey {
    key: DurationKey,
    #[serde(default)]
    finished: Vec<Sample>,
    #[serde(default)]
    running: Vec<Sample>,
}

impl Serialize for DurationEstimates {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.stored().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DurationEstimates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_stored(Stored::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

fn sample_secs(d: Duration) -> Option<f32> {
    let secs = d.as_secs_f64();
    // A tenth of a second is finer than any provider's timestamps that matter here.
    (secs > 0.0 && d <= MAX_SAMPLE).then(|| ((secs * 10.0).round() / 10.0).max(0.1) as f32)
}

fn push_bounded<T>(ring: &mut VecDeque<T>, sample: T, cap: usize) {
    if ring.len() >= cap {
        ring.pop_front();
    }
    ring.push_back(sample);
}

/// FNV-1a of the job id: stable across runs and builds, so a saved running sample meets its finish.
fn id_hash(job: &str) -> u32 {
    job.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::key::MAX_TEXT;
    use genjob_models::{JobKind, Provider, RequestProfile};

    fn video(model: Option<&str>, duration_s: Option<u32>) -> DurationKey {
        DurationKey::new(Provider::Dreamina, Some(JobKind::Video), model, RequestProfile::new(duration_s, None, None))
    }

    #[test]
    fn a_key_learns_at_every_level_and_lookups_take_the_most_specific_with_enough_samples() {
        let mut learned = DurationEstimates::new();
        let five = video(Some("seedance"), Some(5));
        let ten = video(Some("seedance"), Some(10));
        for i in 0..20 {
            learned.record_finished(&five, &format!("a{i}"), Duration::from_secs(60));
        }
        for i in 0..10 {
            learned.record_finished(&ten, &format!("b{i}"), Duration::from_secs(200));
        }
        assert_eq!(learned.len(), 4); // two request sizes, their model, their kind
        assert_eq!(learned.samples(&video(None, None)), (30, 0));
        let five_estimate = learned.estimate(&five).unwrap_or_else(|| panic!());
        assert_eq!(five_estimate.finished(), 20);
        // Ten-second clips have too few samples alone: the model's estimate stands in.
        assert_eq!(learned.estimate(&ten).map(|e| e.finished()), Some(30));
        let other_model = video(Some("other"), None);
        assert_eq!(learned.estimate(&other_model).map(|e| e.finished()), Some(30));
        assert!(learned.estimate(&DurationKey::for_kind(Provider::Token360, None)).is_none());
    }

    #[test]
    fn a_few_finishes_give_a_provisional_estimate_trusted_for_their_share_and_a_batch_waits() {
        let mut learned = DurationEstimates::new();
        let key = video(None, None);
        for i in 0..EARLY_FINISHED - 1 {
            learned.record_finished(&key, &format!("f{i}"), Duration::from_secs(40));
        }
        assert!(learned.estimate(&key).is_none());
        learned.record_finished(&key, "f-last", Duration::from_secs(44));
        let early = learned.estimate(&key).unwrap_or_else(|| panic!());
        assert_eq!(early.finished() as usize, EARLY_FINISHED);
        assert!((early.trust() - EARLY_FINISHED as f64 / MIN_FINISHED as f64).abs() < 1e-12);
        // Each new finish replaces it, up to the full estimate at MIN_FINISHED.
        for i in EARLY_FINISHED..MIN_FINISHED {
            learned.record_finished(&key, &format!("g{i}"), Duration::from_secs(42));
            let e = learned.estimate(&key).unwrap_or_else(|| panic!());
            assert_eq!(e.finished() as usize, i + 1);
            assert_eq!(e.trust() == 1.0, i + 1 == MIN_FINISHED, "{i}");
        }
        // A batch's first finishes are its shortest jobs: its documents stand until it has enough.
        let batch = video(Some("batch"), None);
        let mut alone = DurationEstimates::new();
        for i in 0..40 {
            alone.record_running(&batch, &format!("r{i}"), Duration::from_secs(100 + i % 3));
        }
        for i in 0..10 {
            alone.record_finished(&batch, &format!("r{i}"), Duration::from_secs(90));
        }
        assert!(alone.estimate(&batch).is_none());
    }

    #[test]
    fn a_job_counts_once_and_its_running_sample_gives_way_to_its_finish() {
        let mut learned = DurationEstimates::new();
        let key = video(None, None);
        learned.record_running(&key, "j", Duration::from_secs(30));
        learned.record_running(&key, "j", Duration::from_secs(50));
        learned.record_running(&key, "j", Duration::from_secs(40)); // a stale read: still 50
        assert_eq!(learned.samples(&key), (0, 1));
        assert_eq!(learned.keys[0].running[0].0, 50.0);
        learned.record_finished(&key, "j", Duration::from_millis(91_234));
        learned.record_finished(&key, "j", Duration::from_millis(91_234));
        assert_eq!(learned.samples(&key), (1, 0));
        assert_eq!(learned.keys[0].finished[0].0, 91.2);
        learned.record_running(&key, "k", Duration::from_secs(10));
        learned.forget(&key, "k");
        assert_eq!(learned.samples(&key), (1, 0));
        learned.record_finished(&key, "z", Duration::ZERO);
        learned.record_finished(&key, "z", Duration::from_secs(2 * 86_400));
        assert_eq!(learned.samples(&key), (1, 0), "zero and absurd durations are not samples");
    }

    #[test]
    fn memory_is_bounded_in_keys_and_samples() {
        let mut learned = DurationEstimates::new();
        for k in 0..(MAX_KEYS + 10) {
            let key = DurationKey::for_kind(Provider::Token360, None);
            let key = DurationKey { model: Some(format!("m{k}")), ..key };
            for i in 0..(MAX_SAMPLES + 5) {
                learned.record_finished(&key, &format!("{k}-{i}"), Duration::from_secs(10));
                learned.record_running(&key, &format!("r{k}-{i}"), Duration::from_secs(5));
            }
        }
        assert_eq!(learned.len(), MAX_KEYS);
        assert!(learned.keys.iter().all(|s| s.finished.len() <= MAX_SAMPLES && s.running.len() <= MAX_RUNNING));
        // The provider-wide key is used by every model, so it is never the one evicted.
        assert!(learned.samples(&DurationKey::for_kind(Provider::Token360, None)).0 == MAX_SAMPLES);
        // Running jobs are kept up to their own, larger bound: as many as a large batch runs at once.
        let key = video(None, None);
        for i in 0..(MAX_RUNNING + 5) {
            learned.record_running(&key, &format!("batch-{i}"), Duration::from_secs(5));
        }
        assert_eq!(learned.samples(&key).1, MAX_RUNNING);
    }

    #[test]
    fn the_estimate_is_kept_until_enough_new_samples_arrive() {
        let mut learned = DurationEstimates::new();
        let key = video(None, None);
        for i in 0..20 {
            learned.record_finished(&key, &format!("{i}"), Duration::from_secs(100));
        }
        let first = learned.estimate(&key).unwrap_or_else(|| panic!());
        learned.record_finished(&key, "new", Duration::from_secs(100));
        assert!(Arc::ptr_eq(&first, &learned.estimate(&key).unwrap_or_else(|| panic!())));
        // A finish where the estimate leaves almost no job is read at once (it may be a change).
        learned.record_finished(&key, "late", Duration::from_secs(120));
        let late = learned.estimate(&key).unwrap_or_else(|| panic!());
        assert!(!Arc::ptr_eq(&first, &late));
        assert_eq!(late.finished(), 22);
        // A job running far past the horizon makes it stale at once.
        learned.record_running(&key, "slow", Duration::from_secs(1000));
        let second = learned.estimate(&key).unwrap_or_else(|| panic!());
        assert!(!Arc::ptr_eq(&late, &second));
        assert_eq!(second.censored(), 1);
    }

    #[test]
    fn it_round_trips_and_refuses_foreign_future_or_broken_files() -> Result<(), serde_json::Error> {
        let mut learned = DurationEstimates::new();
        let key = video(Some("seedance"), Some(5));
        learned.record_finished(&key, "a", Duration::from_secs(95));
        learned.record_running(&key, "b", Duration::from_secs(40));
        let text = serde_json::to_string(&learned)?;
        assert!(text.starts_with(r#"{"format":"genjob-learned-durations","version":1,"keys":["#), "{text}");
        let back: DurationEstimates = serde_json::from_str(&text)?;
        assert_eq!(back, learned);
        assert!(serde_json::from_str::<DurationEstimates>(r#"{"name": "another program"}"#).is_err());
        let future = r#"{"format": "genjob-learned-durations", "version": 2, "keys": []}"#;
        assert!(serde_json::from_str::<DurationEstimates>(future).is_err_and(|e| e.to_string().contains("version 2")));
        let other = r#"{"format": "something-else", "version": 1, "keys": []}"#;
        assert!(serde_json::from_str::<DurationEstimates>(other).is_err());
        // Samples out of range are dropped; a long model name is cut.
        let odd = format!(
            r#"{{"format": "genjob-learned-durations", "version": 1, "keys": [{{"key": {{"provider": "token360",
               "model": "{}"}}, "finished": [[-1, 1], [1e30, 2], [12.5, 3]], "running": [[0, 4]]}}]}}"#,
            "m".repeat(500)
        );
        let odd: DurationEstimates = serde_json::from_str(&odd)?;
        assert_eq!(odd.keys[0].finished.len(), 1);
        assert!(odd.keys[0].running.is_empty());
        assert_eq!(odd.keys[0].key.model.as_ref().map(String::len), Some(MAX_TEXT));
        Ok(())
    }

    #[test]
    fn merging_counts_a_shared_past_once_and_keeps_what_each_side_added() {
        let key = video(Some("seedance"), None);
        let mut base = DurationEstimates::new();
        base.record_finished(&key, "old", Duration::from_secs(100));
        base.record_running(&key, "both-running", Duration::from_secs(30));
        let (mut one, mut two) = (base.clone(), base);
        one.record_finished(&key, "one", Duration::from_secs(90));
        one.record_running(&key, "both-running", Duration::from_secs(60));
        two.record_finished(&key, "two", Duration::from_secs(110));
        two.record_finished(&key, "both-running", Duration::from_secs(95));
        let other_key = DurationKey::for_kind(Provider::Token360, None);
        two.record_finished(&other_key, "t", Duration::from_secs(70));

        let mut merged = one.clone();
        merged.merge(&two);
        // old, one, two, and the job whose finish beats its running sample: each once.
        assert_eq!(merged.samples(&key), (4, 0));
        assert_eq!(merged.samples(&other_key), (1, 0));
        // Merging again adds nothing: the samples are per job.
        let again = merged.clone();
        merged.merge(&two);
        merged.merge(&one);
        assert_eq!(merged.samples(&key), again.samples(&key));
        // The other order holds the same samples.
        let mut reverse = two;
        reverse.merge(&one);
        assert_eq!(reverse.samples(&key), (4, 0));
    }

    /// A pipeline's finishes, one job at a time: `jobs` jobs of `took(i)` seconds each.
    fn finish(
        learned: &mut DurationEstimates,
        key: &DurationKey,
        from: usize,
        took: impl Fn(usize) -> f64,
        jobs: usize,
    ) {
        for i in from..from + jobs {
            learned.record_finished(key, &format!("job-{i}"), Duration::from_secs_f64(took(i)));
            // The watcher asks for the estimate before every poll.
            let _ = learned.estimate(key);
        }
    }

    #[test]
    fn a_change_to_slower_jobs_is_followed_within_a_bounded_number_of_finishes() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(21);
        let mut draws = |lo: f64, hi: f64, n: usize| -> Vec<f64> { (0..n).map(|_| rng.random_range(lo..hi)).collect() };
        let (fast, slow) = (draws(60.0, 150.0, 300), draws(120.0, 300.0, 300));
        let key = video(None, None);
        let mut learned = DurationEstimates::new();
        finish(&mut learned, &key, 0, |i| fast[i], 300);
        // 300 finishes of an unchanged distribution, in random order: no change.
        assert!(learned.changes(&key).is_empty());
        let before = learned.estimate(&key).unwrap_or_else(|| panic!());
        assert!(before.cdf(150.0) > 0.95 && !before.is_following_change(), "{before:?}");
        finish(&mut learned, &key, 300, |i| slow[i - 300], 40);
        // While it follows the change, its estimates say so (their plans spend a smaller budget) …
        let following = learned.estimate(&key).unwrap_or_else(|| panic!());
        assert!(following.is_following_change(), "{following:?}");
        finish(&mut learned, &key, 340, |i| slow[i - 300], 260);
        // … and no longer once REPAY_FINISHES more have finished.
        let since = 600 - learned.changes(&key).first().copied().unwrap_or(0);
        assert!(since >= REPAY_FINISHES && !learned.estimate(&key).is_some_and(|e| e.is_following_change()));
        // Followed within the first two dozen slower finishes, and once.
        let changes = learned.changes(&key);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!((310..=324).contains(&changes[0]), "{changes:?}");
        // What it follows now is the slower model: most of its jobs are still running at 150 s.
        let after = learned.estimate(&key).unwrap_or_else(|| panic!());
        assert!(after.cdf(150.0) < 0.4, "{after:?}");
        // Merging back a copy from before the change does not bring the let-go finishes back.
        let mut stale = DurationEstimates::new();
        finish(&mut stale, &key, 0, |i| fast[i], 300);
        let held = learned.samples(&key).0;
        learned.merge(&stale);
        assert_eq!(learned.samples(&key).0, held);
    }

    #[test]
    fn what_the_jobs_of_a_change_cost_is_counted_from_the_finishes_that_showed_it() {
        let key = video(None, None);
        let mut learned = DurationEstimates::new();
        // Each job reports its finish, then what watching it cost: the old jobs 10 checks, the
        // jobs of the change 40 (planned on the gone past), the ones after they are followed 15.
        let job = |learned: &mut DurationEstimates, i: usize, took: f64, checks: u32| {
            let id = format!("job-{i}");
            learned.record_finished(&key, &id, Duration::from_secs_f64(took));
            learned.record_spent(&key, &id, checks, Duration::from_secs_f64(took - 5.0));
            let _ = learned.estimate(&key);
        };
        for i in 0..300 {
            job(&mut learned, i, 60.0 + 0.3 * ((i * 7_919) % 300) as f64, 10);
        }
        let mut i = 300;
        while learned.changes(&key).is_empty() {
            job(&mut learned, i, 200.0 + (i % 7) as f64, 40);
            i += 1;
            assert!(i < 340, "no change followed");
        }
        let showed = i - 300;
        let at = learned.changes(&key)[0];
        // The account opens with what the finishes that showed the change cost, not the old
        // jobs among the newest twenty.
        let opened = learned.estimate(&key).and_then(|e| e.repayment().copied()).unwrap_or_else(|| panic!());
        assert_eq!(opened.jobs as usize, showed);
        assert_eq!(opened.checks, 40 * showed as u64);
        let mean_watched = opened.watched_secs / showed as f64;
        assert!((195.0..=202.0).contains(&mean_watched), "{opened:?}");
        assert_eq!(opened.finishes_left, REPAY_FINISHES);
        // The jobs after it add theirs; a job reporting twice counts once. Eight finishes make a
        // new estimate, which carries the account as it is then.
        for _ in 0..8 {
            job(&mut learned, i, 200.0, 15);
            learned.record_spent(&key, &format!("job-{i}"), 15, Duration::from_secs(195));
            i += 1;
        }
        let later = learned.estimate(&key).and_then(|e| e.repayment().copied()).unwrap_or_else(|| panic!());
        assert_eq!((later.jobs as usize, later.checks), (showed + 8, 40 * showed as u64 + 8 * 15));
        assert_eq!(later.finishes_left, REPAY_FINISHES - 8);
        let excess = later.excess(10.0);
        let expected = later.checks as f64 - (later.watched_secs / 10.0 + 1.5 * f64::from(later.jobs));
        assert!((excess - expected).abs() < 1e-9 && excess > 0.0, "{later:?}");
        // Once the following ends, estimates carry no account.
        while learned.estimate(&key).is_some_and(|e| e.is_following_change()) {
            job(&mut learned, i, 200.0, 15);
            i += 1;
            assert!(i < 600, "still following");
        }
        let state = learned.keys.iter().find(|s| s.key == key).unwrap_or_else(|| panic!());
        assert!(state.added - at >= REPAY_FINISHES && state.added - at < REPAY_FINISHES + 8);
    }

    #[test]
    fn the_newest_finishes_are_read_for_a_change_against_a_hundred_older_ones_at_least() {
        let key = video(None, None);
        let mut learned = DurationEstimates::new();
        // 99 finishes of 60–100 s, then twenty of about 200 s: out of place, but against 99.
        finish(&mut learned, &key, 0, |i| 60.0 + ((i * 37) % 40) as f64, 99);
        finish(&mut learned, &key, 99, |i| 200.0 + (i % 7) as f64, 20);
        assert!(learned.changes(&key).is_empty());
        // One more makes the older finishes a hundred, and the newest twenty read as a change.
        finish(&mut learned, &key, 119, |_| 203.0, 1);
        assert_eq!(learned.changes(&key), vec![120]);
    }

    #[test]
    fn a_change_keeps_only_the_newest_finishes_that_showed_it() {
        // 300 jobs of 60–150 s, then jobs of 120–300 s, every fourth finish a late one of the old
        // model: when the change is followed, only the slower jobs' finishes are kept.
        let key = video(None, None);
        let mut learned = DurationEstimates::new();
        // In no order of length (7,919 is prime to 300).
        finish(&mut learned, &key, 0, |i| 60.0 + 0.3 * ((i * 7_919) % 300) as f64, 300);
        assert!(learned.changes(&key).is_empty());
        let mut slow = HashSet::new();
        for i in 300..400 {
            let old = i % 4 == 3;
            let took = if old { 60.0 + (i - 300) as f64 } else { 120.0 + 1.8 * (i - 300) as f64 };
            if !old {
                slow.insert(id_hash(&format!("job-{i}")));
            }
            finish(&mut learned, &key, i, |_| took, 1);
            if !learned.changes(&key).is_empty() {
                break;
            }
        }
        assert_eq!(learned.changes(&key).len(), 1);
        let state = learned.keys.iter().find(|s| s.key == key).unwrap_or_else(|| panic!());
        assert!((CHANGED_AT..CHANGE_WINDOW).contains(&state.finished.len()), "{:?}", state.finished);
        assert!(state.finished.iter().all(|s| slow.contains(&s.1) && s.0 > 140.0), "{:?}", state.finished);
        let kept = state.finished.len();
        // It plans on them at once, and none of the old model's times is left in what it plans on
        // (where nine in ten jobs had finished by 140 s; a finish after 140 s is spread at most a
        // tenth of itself, to 126 s).
        let after = learned.estimate(&key).unwrap_or_else(|| panic!());
        assert!(after.finished() as usize == kept && after.cdf(126.0) == 0.0, "{after:?}");
    }

    #[test]
    fn a_batch_finishing_in_order_of_length_is_not_a_change() {
        // 1,000 jobs created together: they finish shortest first, so every newest finish is the
        // longest yet. The jobs still running (all older than any finish) say that is expected.
        let key = video(None, None);
        let mut learned = DurationEstimates::new();
        for i in 0..1_000 {
            learned.record_running(&key, &format!("job-{i}"), Duration::from_secs(60));
        }
        // To its last 1 %: near its end every finish is among the longest of all, and the batch
        // still running says that is expected.
        for i in 0..990 {
            let took = 60.0 + f64::from(i) * 0.2;
            learned.record_finished(&key, &format!("job-{i}"), Duration::from_secs_f64(took));
            for j in i + 1..1_000 {
                if j % 50 == i % 50 {
                    learned.record_running(&key, &format!("job-{j}"), Duration::from_secs_f64(took + 1.0));
                }
            }
            let _ = learned.estimate(&key);
        }
        assert!(learned.changes(&key).is_empty(), "{:?}", learned.changes(&key));
        // The whole batch is kept (MAX_SAMPLES holds a thousand).
        assert_eq!(learned.samples(&key).0, 990);
    }

    #[test]
    fn a_store_full_to_every_bound_fits_the_file_it_is_saved_in() {
        // The widest sample text there is: a day in tenths of a second, an id of ten digits.
        let sample = |i: usize| (86_399.9f32, 4_000_000_000u32 + u32::try_from(i).unwrap_or(0));
        let keys = (0..MAX_KEYS + 3)
            .map(|k| StoredKey {
                key: DurationKey::new(
                    Provider::Dreamina,
                    Some(JobKind::Video),
                    Some(&format!("{k:0>width$}", width = MAX_TEXT)),
                    RequestProfile::default(),
                ),
                finished: (0..MAX_SAMPLES + 5).map(sample).collect(),
                running: (0..MAX_RUNNING + 5).map(sample).collect(),
            })
            .collect();
        let stored = Stored { format: FORMAT.into(), version: VERSION, keys };
        let full = DurationEstimates::from_stored(stored).unwrap_or_else(|e| panic!("{e}"));
        assert!(full.keys.iter().all(|s| s.finished.len() == MAX_SAMPLES && s.running.len() == MAX_RUNNING));
        let bytes = serde_json::to_vec(&full).unwrap_or_else(|e| panic!("{e}")).len() as u64;
        assert!(bytes <= crate::learn::FileStore::MAX_FILE_BYTES, "{bytes} bytes");
        assert!(bytes > crate::learn::FileStore::MAX_FILE_BYTES / 2, "{bytes} bytes");
    }

    #[test]
    fn the_id_hash_is_stable() {
        // FNV-1a test vectors.
        assert_eq!(id_hash(""), 0x811c_9dc5);
        assert_eq!(id_hash("a"), 0xe40c_292c);
    }
}
