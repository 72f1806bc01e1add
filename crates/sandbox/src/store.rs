//! The job table: ids in the providers' real forms, and each job's stage computed from sim time.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::spec::{Failure, JobKind, JobSpec, Outcome, Provider};

/// useapi.net marks a Dreamina job still `created` after one hour as failed (seed docs 000/001).
pub(crate) const DREAMINA_TIMEOUT_MS: i64 = 60 * 60 * 1000;

/// The useapi.net user the sandbox's token belongs to, named in job ids (`-u12345-`).
const USER_ID: u64 = 12345;

/// The user of jobs made [`with_other_user`](crate::JobSpec::with_other_user).
const OTHER_USER_ID: u64 = 54321;

/// One job as the sandbox keeps it; everything the records show derives from these fields.
#[derive(Debug)]
pub(crate) struct Job {
    /// Position in the table; also names the job's output files.
    pub serial: u64,
    pub id: String,
    pub kind: JobKind,
    pub model: String,
    pub prompt: String,
    pub created_ms: i64,
    pub duration_ms: i64,
    pub outcome: Outcome,
    pub outputs: u32,
    pub email: String,
    pub region: String,
    pub user_id: u64,
    pub reply_url: Option<String>,
    pub callback_lost: bool,
    pub callback_duplicates: u32,
    pub callback_delay_ms: i64,
    pub rate_limited_left: u32,
    pub server_errors_left: u32,
    pub slow: Option<Duration>,
    pub truncate_download: bool,
    pub url_lifetime_ms: Option<i64>,
    /// Reads still to hold open; `u32::MAX` never counts down.
    pub hang_reads_left: u32,
    pub stale_reads_left: u32,
    /// Whether a read has already shown the job finished; stale reads only follow such a read.
    pub seen_finished: bool,
    pub retry_after: Option<String>,
    pub record_lag_ms: i64,
    /// token360 only: render OpenAI's own video object instead of token360's documented one.
    pub openai_style: bool,
    /// Another user's job: the sandbox's token may not read it, and no listing shows it.
    pub other_user: bool,
}

/// The simulated moment a record read renders, after the job's lag and stale-read faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadMoment {
    pub at_ms: i64,
    /// The read shows the record from before the job finished, although it has finished.
    pub stale: bool,
}

/// Where a job is in its lifecycle at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage<'a> {
    /// `created` (useapi) or `queued` (token360).
    Waiting,
    /// `started` (Google Flow) or `in_progress` (token360), since `since_ms`.
    Running { since_ms: i64 },
    /// Finished successfully at `at_ms`.
    Completed { at_ms: i64 },
    /// Failed at `at_ms`.
    Failed { at_ms: i64, failure: Failed<'a> },
}

/// Why a job failed: as its spec said, or by the server's 1-hour rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failed<'a> {
    Spec(&'a Failure),
    TimedOut,
}

impl Job {
    /// The job's stage at sim time `now_ms`; `timeout_lag_ms` is how late the server's 1-hour sweep runs.
    pub fn stage(&self, now_ms: i64, timeout_lag_ms: i64) -> Stage<'_> {
        let elapsed = now_ms.saturating_sub(self.created_ms).max(0);
        let timeout_at = DREAMINA_TIMEOUT_MS.saturating_add(timeout_lag_ms);
        let dreamina = self.kind.provider() == Provider::Dreamina;
        let finishes_in_time = !dreamina || self.duration_ms < timeout_at;
        let timed_out = Stage::Failed { at_ms: self.created_ms.saturating_add(timeout_at), failure: Failed::TimedOut };
        let end_ms = self.created_ms.saturating_add(self.duration_ms);
        match &self.outcome {
            Outcome::Stuck if dreamina && elapsed >= timeout_at => timed_out,
            Outcome::Stuck => Stage::Waiting,
            _ if !finishes_in_time && elapsed >= timeout_at => timed_out,
            Outcome::Complete if finishes_in_time && elapsed >= self.duration_ms => Stage::Completed { at_ms: end_ms },
            Outcome::Fail(failure) if finishes_in_time && elapsed >= self.duration_ms => {
                Stage::Failed { at_ms: end_ms, failure: Failed::Spec(failure) }
            }
            _ => {
                if !dreamina && elapsed >= self.duration_ms / 10 {
                    Stage::Running { since_ms: self.running_since_ms() }
                } else {
                    Stage::Waiting
                }
            }
        }
    }

    /// When a Google Flow or token360 job leaves its first state: after about a tenth of the run.
    pub fn running_since_ms(&self) -> i64 {
        self.created_ms.saturating_add(self.duration_ms / 10)
    }

    /// When the job finished (completed or failed), if it had by sim time `at_ms`.
    pub fn finished_at(&self, at_ms: i64, timeout_lag_ms: i64) -> Option<i64> {
        match self.stage(at_ms, timeout_lag_ms) {
            Stage::Completed { at_ms } | Stage::Failed { at_ms, .. } => Some(at_ms),
            Stage::Waiting | Stage::Running { .. } => None,
        }
    }

    /// The moment a record read at sim time `now_ms` renders, counting down stale reads.
    ///
    /// A lagging record never goes back past the job's creation: the replica is assumed to
    /// know the job, only not its latest state.
    pub fn read_moment(&mut self, now_ms: i64, timeout_lag_ms: i64) -> ReadMoment {
        let at_ms = now_ms.saturating_sub(self.record_lag_ms).max(self.created_ms);
        let Some(finished_ms) = self.finished_at(at_ms, timeout_lag_ms) else {
            return ReadMoment { at_ms, stale: false };
        };
        if !self.seen_finished {
            self.seen_finished = true;
            return ReadMoment { at_ms, stale: false };
        }
        // A job that finished the moment it was created has no earlier record to show.
        let before_ms = finished_ms.saturating_sub(1);
        if self.stale_reads_left > 0
            && before_ms >= self.created_ms
            && self.finished_at(before_ms, timeout_lag_ms).is_none()
        {
            self.stale_reads_left -= 1;
            return ReadMoment { at_ms: before_ms, stale: true };
        }
        ReadMoment { at_ms, stale: false }
    }

    /// Takes one held-open read if any are left.
    pub fn take_hang(&mut self) -> bool {
        match self.hang_reads_left {
            0 => false,
            u32::MAX => true,
            _ => {
                self.hang_reads_left -= 1;
                true
            }
        }
    }

    /// The Dreamina account this job runs on, as the scheduler groups it (`US:user@example.com`).
    pub fn dreamina_account(&self) -> String {
        format!("{}:{}", self.region, self.email)
    }
}

/// All jobs, indexed by id; output files find their job by serial.
#[derive(Debug, Default)]
pub(crate) struct Store {
    jobs: Vec<Job>,
    by_id: HashMap<String, usize>,
    /// For Google Flow ids: the next millisecond to try for a requested creation millisecond,
    /// so a burst of jobs in one millisecond takes linear rather than quadratic time.
    next_flow_ms: HashMap<i64, i64>,
}

impl Store {
    /// Adds a job created `spec.age` before `now_ms` and returns its id.
    pub fn add(&mut self, spec: JobSpec, now_ms: i64) -> String {
        let serial = self.jobs.len() as u64;
        let kind = spec.kind;
        let age_ms = duration_ms(spec.age);
        let mut created_ms = now_ms.saturating_sub(age_ms);
        let email = spec.email.unwrap_or_else(|| "user@example.com".to_owned());
        let region = spec.region.unwrap_or_else(|| "US".to_owned());
        // Another user's job names another user in its id, as the real ids would.
        let user_id = spec.user_id.unwrap_or(if spec.other_user { OTHER_USER_ID } else { USER_ID });
        let id = match kind.provider() {
            Provider::Dreamina => {
                let mut counter = serial;
                loop {
                    let id = dreamina_id(kind, created_ms, counter, user_id, &region, &email);
                    if !self.by_id.contains_key(&id) {
                        break id;
                    }
                    counter = counter.wrapping_add(1);
                }
            }
            Provider::GoogleFlow => {
                // The id embeds only the creation millisecond, so a clash moves the job's
                // creation a millisecond later; the record's `created` follows the id.
                let requested = created_ms;
                let mut candidate = self.next_flow_ms.get(&requested).copied().unwrap_or(requested);
                let id = loop {
                    let id = google_flow_id(kind, candidate, user_id, &email);
                    if !self.by_id.contains_key(&id) {
                        break id;
                    }
                    candidate = candidate.saturating_add(1);
                };
                self.next_flow_ms.insert(requested, candidate.saturating_add(1));
                created_ms = candidate;
                id
            }
            Provider::Token360 => token360_id(serial),
        };
        let outputs = spec.outputs.unwrap_or_else(|| kind.default_outputs()).clamp(1, kind.max_outputs());
        let job = Job {
            serial,
            id: id.clone(),
            kind,
            model: spec.model.unwrap_or_else(|| kind.default_model().to_owned()),
            prompt: spec.prompt.unwrap_or_else(|| "A serene mountain landscape at sunset".to_owned()),
            created_ms,
            duration_ms: duration_ms(spec.duration.unwrap_or_else(|| kind.default_duration())),
            outcome: spec.outcome,
            outputs,
            email,
            region,
            user_id,
            reply_url: spec.reply_url,
            callback_lost: spec.callback_lost,
            callback_duplicates: spec.callback_duplicates,
            callback_delay_ms: spec.callback_delay.map(duration_ms).unwrap_or(0),
            rate_limited_left: spec.rate_limited,
            server_errors_left: spec.server_errors,
            slow: spec.slow.filter(|d| !d.is_zero()),
            truncate_download: spec.truncate_download,
            url_lifetime_ms: spec.expire_urls_after.map(duration_ms),
            hang_reads_left: spec.hang_reads,
            stale_reads_left: spec.stale_reads,
            seen_finished: false,
            retry_after: spec.retry_after,
            record_lag_ms: spec.record_lag.map(duration_ms).unwrap_or(0),
            openai_style: spec.openai_style,
            other_user: spec.other_user,
        };
        self.by_id.insert(id.clone(), self.jobs.len());
        self.jobs.push(job);
        id
    }

    pub fn get(&self, id: &str) -> Option<&Job> {
        self.jobs.get(*self.by_id.get(id)?)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Job> {
        let index = *self.by_id.get(id)?;
        self.jobs.get_mut(index)
    }

    pub fn by_serial(&self, serial: u64) -> Option<&Job> {
        self.jobs.get(usize::try_from(serial).ok()?)
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A timestamp from Unix milliseconds, clamped into jiff's supported range.
pub(crate) fn timestamp(ms: i64) -> Timestamp {
    let clamped = ms.clamp(Timestamp::MIN.as_millisecond(), Timestamp::MAX.as_millisecond());
    Timestamp::from_millisecond(clamped).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// RFC 3339 UTC with milliseconds, the form of useapi.net's `created`/`updated`.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    format!("{:.3}", timestamp(ms))
}

/// `j` + MMDDhhmmss + millis + 6 digits + type letter + `-u<user>-<REGION>:<email>-bot:dreamina`.
pub(crate) fn dreamina_id(
    kind: JobKind,
    created_ms: i64,
    counter: u64,
    user_id: u64,
    region: &str,
    email: &str,
) -> String {
    let t = TimeZone::UTC.to_datetime(timestamp(created_ms));
    let letter = match kind {
        JobKind::DreaminaVideoUpscale => 'V',
        JobKind::DreaminaVideoInterpolate => 'F',
        JobKind::DreaminaImage => 'i',
        JobKind::DreaminaImageUpscale => 'I',
        _ => 'v',
    };
    format!(
        "j{:02}{:02}{:02}{:02}{:02}{:03}{:06}{letter}-u{user_id}-{region}:{email}-bot:dreamina",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.subsec_nanosecond() / 1_000_000,
        counter % 1_000_000,
    )
}

/// `j` + 13-digit Unix millis + type letter + `-u<user>-email:<masked email>-bot:google-flow`.
pub(crate) fn google_flow_id(kind: JobKind, created_ms: i64, user_id: u64, email: &str) -> String {
    let letter = if kind.is_video() { 'v' } else { 'i' };
    format!("j{created_ms:013}{letter}-u{user_id}-email:{}-bot:google-flow", mask_email(email))
}

/// token360 ids are opaque; splitmix is a bijection on u64, so distinct serials never clash.
pub(crate) fn token360_id(serial: u64) -> String {
    format!("video_{:016x}{:016x}", splitmix64(serial), splitmix64(serial ^ 0x5eed))
}

/// Google Flow shows account e-mails masked (`jo***@gmail.com` in the documented records).
pub(crate) fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let shown: String = local.chars().take(2).collect();
            format!("{shown}***@{domain}")
        }
        None => email.chars().take(2).chain("***".chars()).collect(),
    }
}

/// SplitMix64: a tiny, well-mixed and deterministic generator for ids and file bytes.
pub(crate) fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic UUID-shaped string for `(serial, salt)`.
pub(crate) fn uuid(serial: u64, salt: u64) -> String {
    let a = splitmix64(serial.wrapping_mul(31).wrapping_add(salt));
    let b = splitmix64(a ^ salt);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-02-23T14:05:30.123Z, the documented example's creation time.
    const EXAMPLE_MS: i64 = 1_771_855_530_123;

    #[test]
    fn dreamina_ids_embed_the_creation_time_like_the_documented_example() {
        assert_eq!(rfc3339_ms(EXAMPLE_MS), "2026-02-23T14:05:30.123Z");
        let id = dreamina_id(JobKind::DreaminaVideo, EXAMPLE_MS, 456789, 12345, "US", "user@example.com");
        assert_eq!(id, "j0223140530123456789v-u12345-US:user@example.com-bot:dreamina");
        let upscale = dreamina_id(JobKind::DreaminaImageUpscale, EXAMPLE_MS, 1, 7, "CA", "a@b.c");
        assert_eq!(upscale, "j0223140530123000001I-u7-CA:a@b.c-bot:dreamina");
    }

    #[test]
    fn google_flow_ids_embed_millis_and_a_masked_email() {
        assert_eq!(
            google_flow_id(JobKind::GoogleFlowVideo, 1_731_859_234_567, 12345, "john@gmail.com"),
            "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow"
        );
    }

    #[test]
    fn ids_stay_unique_in_a_burst_of_jobs_created_in_one_millisecond() {
        let mut store = Store::default();
        let mut seen = std::collections::HashSet::new();
        for kind in [JobKind::DreaminaVideo, JobKind::GoogleFlowImage, JobKind::Token360Video] {
            for _ in 0..2000 {
                assert!(seen.insert(store.add(JobSpec::new(kind), EXAMPLE_MS)));
            }
        }
        // A Google Flow clash moves creation with the id, so they always agree.
        for job in store.jobs() {
            if job.kind == JobKind::GoogleFlowImage {
                assert!(job.id.starts_with(&format!("j{:013}i", job.created_ms)));
            }
        }
    }

    #[test]
    fn stuck_dreamina_jobs_time_out_after_an_hour_plus_the_lag() {
        let mut store = Store::default();
        let id = store.add(JobSpec::dreamina_video().stuck(), 0);
        let lag = 120_000;
        let job = store
            .get_mut(&id)
            .map(|j| (j.stage(DREAMINA_TIMEOUT_MS + lag - 1, lag), j.stage(DREAMINA_TIMEOUT_MS + lag, lag)));
        assert_eq!(
            job,
            Some((Stage::Waiting, Stage::Failed { at_ms: DREAMINA_TIMEOUT_MS + lag, failure: Failed::TimedOut }))
        );
    }

    #[test]
    fn dreamina_jobs_finishing_seconds_around_the_hour_complete_at_their_duration() {
        let lag = 120_000;
        let mut store = Store::default();
        for duration_ms in [DREAMINA_TIMEOUT_MS - 5_000, DREAMINA_TIMEOUT_MS + 5_000, DREAMINA_TIMEOUT_MS + lag - 1] {
            let spec = JobSpec::dreamina_video()
                .with_duration(Duration::from_millis(duration_ms as u64))
                .with_age(Duration::from_secs(59 * 60));
            let id = store.add(spec, 59 * 60 * 1000);
            let stages = store.get_mut(&id).map(|job| {
                let created = job.created_ms;
                (job.stage(created + duration_ms - 1, lag), job.stage(created + duration_ms, lag))
            });
            assert_eq!(
                stages,
                Some((Stage::Waiting, Stage::Completed { at_ms: duration_ms })),
                "duration {duration_ms} ms"
            );
        }
        // From the sweep's moment on, the job can only time out, even if it would finish later.
        let id = store
            .add(JobSpec::dreamina_video().with_duration(Duration::from_millis((DREAMINA_TIMEOUT_MS + lag) as u64)), 0);
        let stages = store
            .get_mut(&id)
            .map(|job| (job.stage(DREAMINA_TIMEOUT_MS + lag - 1, lag), job.stage(DREAMINA_TIMEOUT_MS + lag, lag)));
        assert_eq!(
            stages,
            Some((Stage::Waiting, Stage::Failed { at_ms: DREAMINA_TIMEOUT_MS + lag, failure: Failed::TimedOut }))
        );
    }

    #[test]
    fn stale_reads_follow_the_first_finished_read_and_show_the_moment_before() {
        let mut store = Store::default();
        let id = store.add(JobSpec::token360_video().with_duration(Duration::from_secs(90)).with_stale_reads(2), 0);
        let moments: Vec<ReadMoment> = [1_000, 95_000, 96_000, 97_000, 98_000]
            .into_iter()
            .filter_map(|now_ms| store.get_mut(&id).map(|job| job.read_moment(now_ms, 0)))
            .collect();
        let fresh = |at_ms| ReadMoment { at_ms, stale: false };
        let stale = ReadMoment { at_ms: 89_999, stale: true };
        assert_eq!(moments, [fresh(1_000), fresh(95_000), stale, stale, fresh(98_000)]);
    }

    #[test]
    fn a_lagging_record_renders_earlier_but_never_before_creation() {
        let mut store = Store::default();
        let id = store.add(JobSpec::dreamina_video().with_record_lag(Duration::from_secs(60)), 10_000);
        let moments = store.get_mut(&id).map(|job| (job.read_moment(30_000, 0), job.read_moment(200_000, 0)));
        assert_eq!(
            moments,
            Some((ReadMoment { at_ms: 10_000, stale: false }, ReadMoment { at_ms: 140_000, stale: false }))
        );
    }

    #[test]
    fn hang_reads_count_down_unless_unlimited() {
        let mut store = Store::default();
        let two = store.add(JobSpec::dreamina_video().with_hang_reads(2), 0);
        let forever = store.add(JobSpec::dreamina_video().with_hang_reads(u32::MAX), 0);
        let taken: Vec<bool> = (0..3).filter_map(|_| store.get_mut(&two).map(Job::take_hang)).collect();
        assert_eq!(taken, [true, true, false]);
        for _ in 0..3 {
            assert_eq!(store.get_mut(&forever).map(Job::take_hang), Some(true));
        }
    }

    #[test]
    fn uuids_are_shaped_like_uuids() {
        let u = uuid(3, 9);
        let parts: Vec<usize> = u.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_ne!(u, uuid(4, 9));
    }
}
