//! The clock, sleep and randomness the poller uses, injectable so tests run in virtual time.

use futures::future::BoxFuture;
use jiff::Timestamp;
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

/// Where the poller reads the time, sleeps, and draws jitter.
pub trait Environment: Send + Sync + Debug {
    /// The current wall-clock time.
    fn now(&self) -> Timestamp;
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
    /// A uniform random number in `[0, 1)` for jitter.
    fn random(&self) -> f64;
}

/// The default environment: wall time anchored once, then advanced by tokio's clock.
///
/// Because time moves with `tokio::time::Instant`, a test runtime with paused time
/// (`#[tokio::test(start_paused = true)]`) runs the poller in virtual time with no other change.
#[derive(Debug)]
pub struct TokioEnvironment {
    wall_anchor: Timestamp,
    tokio_anchor: tokio::time::Instant,
    rng: Mutex<StdRng>,
}

impl TokioEnvironment {
    /// Anchors to the system clock now; jitter is seeded from the OS.
    pub fn new() -> Self {
        Self::anchored(Timestamp::now(), StdRng::from_os_rng())
    }

    /// Anchors to `wall` with a fixed seed: deterministic runs for tests and simulations.
    pub fn with_seed(wall: Timestamp, seed: u64) -> Self {
        Self::anchored(wall, StdRng::seed_from_u64(seed))
    }

    fn anchored(wall_anchor: Timestamp, rng: StdRng) -> Self {
        Self { wall_anchor, tokio_anchor: tokio::time::Instant::now(), rng: Mutex::new(rng) }
    }
}

impl Default for TokioEnvironment {
    fn default() -> Self {
        Self::new()
    }
}

impl Environment for TokioEnvironment {
    fn now(&self) -> Timestamp {
        let elapsed = self.tokio_anchor.elapsed();
        self.wall_anchor.checked_add(elapsed).unwrap_or(Timestamp::MAX)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn random(&self) -> f64 {
        // A poisoned lock only means another thread panicked mid-draw; the generator state is still usable.
        let mut rng = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.random::<f64>()
    }
}

/// An environment whose time runs `speed` times faster than real time, read from a caller's clock.
///
/// For demos, simulations and tests against a time-scaled server (such as genjob-sandbox): the
/// poller reads the same accelerated clock as the server, and a delay of `d` sleeps `d / speed`.
pub struct ScaledEnvironment {
    now: Box<dyn Fn() -> Timestamp + Send + Sync>,
    speed: f64,
    rng: Mutex<StdRng>,
}

impl ScaledEnvironment {
    /// Time comes from `now`, which must advance `speed` times faster than real time; jitter is seeded.
    ///
    /// A `speed` that is not a positive finite number is treated as 1.
    pub fn new(speed: f64, seed: u64, now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
        Self { now: Box::new(now), speed, rng: Mutex::new(StdRng::seed_from_u64(seed)) }
    }
}

impl Debug for ScaledEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaledEnvironment").field("speed", &self.speed).finish_non_exhaustive()
    }
}

impl Environment for ScaledEnvironment {
    fn now(&self) -> Timestamp {
        (self.now)()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration.div_f64(self.speed)))
    }

    fn random(&self) -> f64 {
        // A poisoned lock only means another thread panicked mid-draw; the generator state is still usable.
        let mut rng = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.random::<f64>()
    }
}
