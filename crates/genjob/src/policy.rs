//! When to poll next: a pure function of what is known about a job.
//!
//! The default [`AdaptiveSchedule`] spends roughly the request budget of the documented fixed
//! 10-second loop, but spends it where jobs actually finish: nothing before the earliest typical
//! completion, evenly spaced polls through the typical window, then a capped back-off.

use crate::time::secs;
use genjob_models::{JobKind, JobStatus, Provider};
use std::fmt::Debug;
use std::time::Duration;

/// Never poll one job faster than this.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// What the policy knows when it picks the next delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollContext<'a> {
    /// The job's provider.
    pub provider: Provider,
    /// What the job produces, if known.
    pub kind: Option<JobKind>,
    /// The model, if known.
    pub model: Option<&'a str>,
    /// Time since the job was created (from `created` or the id), if known.
    pub age: Option<Duration>,
    /// Time since this wait started.
    pub waited: Duration,
    /// The last observed status (`queued` before the first poll).
    pub status: JobStatus,
    /// The last reported progress in percent.
    pub progress: Option<u8>,
    /// Polls made so far for this job.
    pub polls: u32,
    /// The least delay the server asked for (`Retry-After`).
    pub server_hint: Option<Duration>,
}

/// Chooses poll delays. Implement it to swap the schedule; see [`AdaptiveSchedule`] and [`FixedInterval`].
pub trait PollPolicy: Send + Sync + Debug {
    /// The delay before the first check (zero means "check at once").
    fn first_delay(&self, ctx: &PollContext<'_>) -> Duration;
    /// The delay before the next check, after an observation. `jitter` is uniform in `[0, 1)`.
    fn next_delay(&self, ctx: &PollContext<'_>, jitter: f64) -> Duration;
}

/// A fixed interval between polls (`--every`), with an immediate first check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedInterval(pub Duration);

impl PollPolicy for FixedInterval {
    fn first_delay(&self, _: &PollContext<'_>) -> Duration {
        Duration::ZERO
    }
    fn next_delay(&self, ctx: &PollContext<'_>, _: f64) -> Duration {
        self.0.max(ctx.server_hint.unwrap_or_default()).max(MIN_INTERVAL)
    }
}

/// The share of a fixed loop's request budget the adaptive schedule aims to spend.
///
/// Slightly under one, so that jitter and rounding never make the schedule costlier than the loop it replaces.
pub const BUDGET_SHARE: f64 = 0.95;

/// The documented typical run time of a kind of job: most finish between `earliest` and `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypicalWindow {
    /// Jobs rarely finish before this age.
    pub earliest: Duration,
    /// Most jobs have finished by this age.
    pub latest: Duration,
}

impl TypicalWindow {
    const fn secs(earliest: u64, latest: u64) -> Self {
        Self { earliest: Duration::from_secs(earliest), latest: Duration::from_secs(latest) }
    }

    /// The documented window for a provider and kind (shared/PROVIDER_FACTS.md), if any.
    pub fn documented(provider: Provider, kind: Option<JobKind>, model: Option<&str>) -> Option<Self> {
        use JobKind::*;
        match (provider, kind?) {
            // Dreamina Seedance video: 60–180 s "depending on the model and duration".
            (Provider::Dreamina, Video) => Some(Self::secs(60, 180)),
            // Dreamina Seedream image, up to 4 images: 15–120 s.
            (Provider::Dreamina, Image) => Some(Self::secs(15, 120)),
            // Upscales are asynchronous with no documented time; image-sized work is the closest fact.
            (Provider::Dreamina, ImageUpscale) => Some(Self::secs(15, 120)),
            (Provider::Dreamina, VideoUpscale | VideoInterpolate) => Some(Self::secs(30, 180)),
            // Google Flow Veo 3.1: 60–180 s; Imagen 4 / Nano Banana: 10–20 s; video upscale 30–60 s.
            (Provider::GoogleFlow, Video) => Some(Self::secs(60, 180)),
            (Provider::GoogleFlow, Image) => Some(Self::secs(10, 20)),
            (Provider::GoogleFlow, VideoUpscale) => Some(Self::secs(30, 60)),
            // token360 documents no time; its Seedance models run the same generator as Dreamina's.
            (Provider::Token360, Video) if model.is_some_and(|m| m.starts_with("seedance")) => {
                Some(Self::secs(60, 180))
            }
            _ => None,
        }
    }

    /// The even spacing inside the window that spends the budget of a fixed `reference` loop.
    ///
    /// A fixed loop polls at zero and every `reference` after, so a job of mean length `m` costs it
    /// about `m / reference + 1.5` requests. Polling at `earliest + step`, `earliest + 2·step`, … costs
    /// about `(m − earliest) / step + 0.5`. Spending [`BUDGET_SHARE`] of the loop's budget gives
    /// `step = (m − earliest) / (share · (m / reference + 1))`: the requests a fixed loop spends before
    /// any job can be done are spent inside the window instead.
    fn dense_step(&self, reference: Duration) -> Duration {
        let mean = (self.earliest + self.latest).as_secs_f64() / 2.0;
        let requests = BUDGET_SHARE * (mean / reference.as_secs_f64().max(f64::EPSILON) + 1.0);
        let inside = (mean - self.earliest.as_secs_f64()).max(0.0);
        secs(inside / requests).max(MIN_INTERVAL)
    }

    /// The first useful check of a job of this age: one dense step into the window.
    ///
    /// Nothing is done before `earliest`, so a check exactly there would find nothing more often than not.
    fn first_check(&self, reference: Duration) -> Duration {
        self.earliest + self.dense_step(reference)
    }
}

/// genjob's default schedule: adapts to the job's kind, age, progress and the server's hints.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AdaptiveSchedule {
    /// The fixed loop whose request budget the schedule matches (the documents poll every 10 s).
    pub reference_interval: Duration,
    /// The longest delay between two polls.
    pub max_interval: Duration,
    /// Relative jitter applied to every delay (0.1 = ±10 %).
    pub jitter: f64,
    /// First delay when nothing is known about the job's timing.
    pub unknown_initial: Duration,
}

impl Default for AdaptiveSchedule {
    fn default() -> Self {
        Self {
            reference_interval: Duration::from_secs(10),
            max_interval: Duration::from_secs(30),
            jitter: 0.1,
            unknown_initial: Duration::from_secs(2),
        }
    }
}

impl AdaptiveSchedule {
    /// The default schedule (10 s reference loop, 30 s longest delay, ±10 % jitter).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the relative jitter (0 makes every delay predictable; clamped to 0..=1).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the longest delay between two polls.
    pub fn with_max_interval(mut self, max_interval: Duration) -> Self {
        self.max_interval = max_interval;
        self
    }

    /// Sets the fixed loop whose request budget the schedule matches.
    pub fn with_reference_interval(mut self, reference: Duration) -> Self {
        self.reference_interval = reference;
        self
    }

    fn base_delay(&self, ctx: &PollContext<'_>) -> Duration {
        let window = TypicalWindow::documented(ctx.provider, ctx.kind, ctx.model);
        // Progress reports beat averages: extrapolate the finish from the rate so far.
        if let (Some(p), Some(age)) = (ctx.progress, ctx.age)
            && ctx.status == JobStatus::Running
            && (1..100).contains(&p)
        {
            let remaining = age.as_secs_f64() * f64::from(100 - p) / f64::from(p);
            let step = window.map_or(self.unknown_initial, |w| w.dense_step(self.reference_interval));
            // Aim just past the predicted finish, but never sleep through more than one dense step of error.
            return secs(remaining).clamp(MIN_INTERVAL, self.max_interval.max(step)).max(step / 2);
        }
        match (window, ctx.age) {
            (Some(w), Some(age)) => {
                let step = w.dense_step(self.reference_interval);
                if age < w.earliest {
                    w.first_check(self.reference_interval) - age
                } else if age <= w.latest {
                    step
                } else {
                    // Past the typical window: back off geometrically from the dense step.
                    let overdue = (age - w.latest).as_secs_f64();
                    let grown = step.as_secs_f64() * (1.0 + overdue / w.latest.as_secs_f64().max(1.0)).powi(2);
                    secs(grown)
                }
            }
            (Some(w), None) => w.dense_step(self.reference_interval),
            (None, _) => {
                let grown = self.unknown_initial.as_secs_f64() * 1.5f64.powi(ctx.polls.min(20) as i32);
                secs(grown)
            }
        }
    }
}

impl PollPolicy for AdaptiveSchedule {
    fn first_delay(&self, ctx: &PollContext<'_>) -> Duration {
        match (TypicalWindow::documented(ctx.provider, ctx.kind, ctx.model), ctx.age) {
            // A job younger than the earliest typical finish cannot be done yet: wait for it.
            (Some(w), Some(age)) if age < w.earliest => w.first_check(self.reference_interval) - age,
            _ => Duration::ZERO,
        }
    }

    fn next_delay(&self, ctx: &PollContext<'_>, jitter: f64) -> Duration {
        let base = self.base_delay(ctx).min(self.max_interval);
        let factor = 1.0 + self.jitter.clamp(0.0, 1.0) * (2.0 * jitter.clamp(0.0, 1.0) - 1.0);
        let jittered = secs(base.as_secs_f64() * factor);
        jittered.max(ctx.server_hint.unwrap_or_default()).max(MIN_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dreamina video: (mean 120 s − earliest 60 s) / (0.95 × (120/10 + 1) requests of the 10 s loop).
    const DREAMINA_VIDEO_STEP: f64 = 60.0 / (BUDGET_SHARE * 13.0);

    fn ctx(provider: Provider, kind: JobKind, age: u64) -> PollContext<'static> {
        PollContext {
            provider,
            kind: Some(kind),
            model: None,
            age: Some(Duration::from_secs(age)),
            waited: Duration::ZERO,
            status: JobStatus::Queued,
            progress: None,
            polls: 1,
            server_hint: None,
        }
    }

    #[test]
    fn a_fresh_video_is_not_checked_at_once_but_a_resumed_one_is() {
        let s = AdaptiveSchedule::default();
        // 60 s earliest finish + one dense step, minus the 2 s the job has already run.
        let first = s.first_delay(&ctx(Provider::Dreamina, JobKind::Video, 2)).as_secs_f64();
        assert!((first - (58.0 + DREAMINA_VIDEO_STEP)).abs() < 1e-6, "{first}");
        assert_eq!(s.first_delay(&ctx(Provider::Dreamina, JobKind::Video, 3600)), Duration::ZERO);
        let unknown = PollContext { kind: None, age: None, ..ctx(Provider::Token360, JobKind::Video, 0) };
        assert_eq!(s.first_delay(&unknown), Duration::ZERO);
    }

    #[test]
    fn dense_inside_the_window_sparse_after_and_capped() {
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        let inside = s.next_delay(&ctx(Provider::Dreamina, JobKind::Video, 90), 0.5);
        let after = s.next_delay(&ctx(Provider::Dreamina, JobKind::Video, 400), 0.5);
        let much_later = s.next_delay(&ctx(Provider::Dreamina, JobKind::Video, 3000), 0.5);
        assert!((inside.as_secs_f64() - DREAMINA_VIDEO_STEP).abs() < 1e-6, "{inside:?}");
        assert!(after > inside, "{after:?} should back off past {inside:?}");
        assert_eq!(much_later, s.max_interval);
        let image = s.next_delay(&ctx(Provider::GoogleFlow, JobKind::Image, 12), 0.5);
        assert!(image < inside && image >= MIN_INTERVAL);
    }

    #[test]
    fn server_hint_and_floor_win() {
        let s = AdaptiveSchedule::default();
        let hinted =
            PollContext { server_hint: Some(Duration::from_secs(45)), ..ctx(Provider::Dreamina, JobKind::Video, 90) };
        assert_eq!(s.next_delay(&hinted, 0.0), Duration::from_secs(45));
        let fixed = FixedInterval(Duration::from_millis(100));
        assert_eq!(fixed.next_delay(&ctx(Provider::Dreamina, JobKind::Video, 90), 0.0), MIN_INTERVAL);
    }

    #[test]
    fn progress_predicts_the_finish() {
        let s = AdaptiveSchedule::new().with_jitter(0.0);
        let c = PollContext {
            status: JobStatus::Running,
            progress: Some(50),
            model: Some("seedance-2.0"),
            ..ctx(Provider::Token360, JobKind::Video, 20)
        };
        // Half done after 20 s: about 20 s to go.
        assert_eq!(s.next_delay(&c, 0.5), Duration::from_secs(20));
    }

    #[test]
    fn absurd_ages_and_settings_give_bounded_delays_not_panics() {
        // A record created in year 1: two thousand years past the 10–20 s window of a Google Flow image.
        let ancient = ctx(Provider::GoogleFlow, JobKind::Image, 2025 * 365 * 24 * 3600);
        let s = AdaptiveSchedule::default();
        assert_eq!(s.next_delay(&ancient, 0.5), s.max_interval);
        let wild = AdaptiveSchedule::new().with_jitter(f64::NAN).with_max_interval(Duration::MAX);
        assert!(wild.next_delay(&ancient, 0.5) <= crate::time::MAX_DELAY);
        let hinted = PollContext { server_hint: Some(Duration::MAX), ..ancient };
        assert!(s.next_delay(&hinted, 0.5) >= s.max_interval);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let s = AdaptiveSchedule::default();
        let c = ctx(Provider::Dreamina, JobKind::Video, 90);
        for j in [0.0, 0.25, 0.5, 0.75, 0.999] {
            let d = s.next_delay(&c, j).as_secs_f64();
            let step = DREAMINA_VIDEO_STEP;
            assert!((step * 0.9 - 1e-6..=step * 1.1 + 1e-6).contains(&d), "{d}");
        }
    }
}
