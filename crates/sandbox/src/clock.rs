//! The sandbox's simulated clock, shared with clients that must see the same accelerated time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::watch;

use crate::SandboxError;

/// A clock that runs `speed` times faster than real time and can be pushed forward by hand.
///
/// `now = origin_sim + real_elapsed × speed + advanced`. Clones share the hand-made
/// advance, so a poller holding a clone sees exactly the time the sandbox sees.
#[derive(Debug, Clone)]
pub struct SimClock {
    origin_real: Instant,
    origin_sim: Timestamp,
    speed: f64,
    /// Milliseconds added by [`SimClock::advance`]; shared so every clone jumps together.
    advanced_ms: Arc<AtomicI64>,
    /// Marked changed by every advance, so a task sleeping towards a simulated deadline (the
    /// sandbox's callback sender) wakes and recomputes it instead of oversleeping the jump.
    jumps: Arc<watch::Sender<()>>,
}

impl SimClock {
    /// A clock starting at the current wall-clock time and running `speed` times faster.
    pub fn new(speed: f64) -> Result<SimClock, SandboxError> {
        SimClock::starting_at(Timestamp::now(), speed)
    }

    /// A clock whose simulated time starts at `origin_sim` now and runs `speed` times faster.
    pub fn starting_at(origin_sim: Timestamp, speed: f64) -> Result<SimClock, SandboxError> {
        Ok(SimClock {
            origin_real: Instant::now(),
            origin_sim,
            speed: checked_speed(speed)?,
            advanced_ms: Arc::new(AtomicI64::new(0)),
            jumps: Arc::new(watch::Sender::new(())),
        })
    }

    /// The current simulated time.
    pub fn now(&self) -> Timestamp {
        let real_nanos = self.origin_real.elapsed().as_nanos() as f64;
        // `as` saturates on overflow, which is the behaviour wanted for absurd speeds.
        let sim_nanos = (real_nanos * self.speed) as i128;
        let advanced = i128::from(self.advanced_ms.load(Ordering::Relaxed)) * 1_000_000;
        let total = self.origin_sim.as_nanosecond().saturating_add(sim_nanos).saturating_add(advanced);
        let clamped = total.clamp(Timestamp::MIN.as_nanosecond(), Timestamp::MAX.as_nanosecond());
        Timestamp::from_nanosecond(clamped).unwrap_or(Timestamp::MAX)
    }

    /// The current simulated time in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now().as_millisecond()
    }

    /// How many simulated seconds pass per real second.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Jumps simulated time forward by `by`, for this clock and every clone of it.
    ///
    /// Sleeps already started with [`SimClock::sleep`] keep their real-time deadline; a sandbox's
    /// callbacks that the jump makes due are sent at once.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        // fetch_update never fails here: the closure always returns Some.
        let _ = self
            .advanced_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| Some(current.saturating_add(ms)));
        // After the jump is visible, so a woken task reads the new time.
        self.jumps.send_replace(());
    }

    /// A receiver marked changed by every later [`SimClock::advance`] of this clock or a clone.
    pub(crate) fn jumps(&self) -> watch::Receiver<()> {
        self.jumps.subscribe()
    }

    /// The real time that `sim` of simulated time takes at this clock's speed.
    pub fn to_real(&self, sim: Duration) -> Duration {
        Duration::try_from_secs_f64(sim.as_secs_f64() / self.speed).unwrap_or(Duration::MAX)
    }

    /// The simulated time that passes during `real` of real time.
    pub fn to_sim(&self, real: Duration) -> Duration {
        Duration::try_from_secs_f64(real.as_secs_f64() * self.speed).unwrap_or(Duration::MAX)
    }

    /// Sleeps until `sim` of simulated time has passed (ignoring later [`SimClock::advance`] calls).
    pub async fn sleep(&self, sim: Duration) {
        tokio::time::sleep(self.to_real(sim)).await;
    }
}

/// What [`SandboxConfig::speed`](crate::SandboxConfig::speed) speeds up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pace {
    /// The whole clock runs `speed` times faster: records, ids and ages are in simulated time,
    /// which runs ahead of the real clock. For clients that share [`Sandbox::clock`](crate::Sandbox::clock)
    /// (the library's tests, the demo).
    #[default]
    SimulatedClock,
    /// The clock is the real one and only the jobs run `speed` times faster (a 105 s job takes
    /// 10.5 s at speed 10, and its record says so): records, ids and ages agree with any client's
    /// clock. Retention, the 1-hour rule, URL lifetimes and callback timing stay in real time.
    /// For clients on the real clock (`genjob sandbox`, other SDKs).
    RealClock,
}

/// `speed` if it can drive a clock or scale a duration: finite and above 0.
pub(crate) fn checked_speed(speed: f64) -> Result<f64, SandboxError> {
    if !speed.is_finite() || speed <= 0.0 {
        return Err(SandboxError::InvalidSpeed { speed });
    }
    Ok(speed)
}

impl Default for SimClock {
    /// A real-time clock (speed 1) starting now.
    fn default() -> SimClock {
        SimClock {
            origin_real: Instant::now(),
            origin_sim: Timestamp::now(),
            speed: 1.0,
            advanced_ms: Arc::new(AtomicI64::new(0)),
            jumps: Arc::new(watch::Sender::new(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_speeds_that_cannot_run_a_clock() {
        for speed in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(SimClock::new(speed), Err(SandboxError::InvalidSpeed { .. })));
        }
    }

    #[test]
    fn advance_is_shared_by_clones() -> Result<(), SandboxError> {
        let origin: Timestamp = Timestamp::from_second(1_700_000_000).unwrap_or_default();
        let clock = SimClock::starting_at(origin, 1.0)?;
        let clone = clock.clone();
        clock.advance(Duration::from_secs(3600));
        let elapsed = clone.now().as_second() - origin.as_second();
        assert!((3600..3660).contains(&elapsed), "elapsed {elapsed}");
        Ok(())
    }

    #[test]
    fn converts_between_real_and_sim_durations() -> Result<(), SandboxError> {
        let clock = SimClock::new(1000.0)?;
        assert_eq!(clock.to_real(Duration::from_secs(105)), Duration::from_millis(105));
        assert_eq!(clock.to_sim(Duration::from_millis(2)), Duration::from_secs(2));
        Ok(())
    }
}
