//! Exclusive locks on files shared between processes (the learned durations, `genjob serve`'s database).

use std::fs::{File, TryLockError};
use std::time::{Duration, Instant};

/// Takes an exclusive lock on `file`, waiting at most `patience` for another holder to let it go.
///
/// `Err(TryLockError::WouldBlock)` when it is still held then: a holder that is stopping (a run
/// saving its last samples, a server restarted in place) is waited for, one that stays is not.
pub fn lock_within(file: &File, patience: Duration) -> Result<(), TryLockError> {
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) if started.elapsed() < patience => {
                std::thread::sleep(Duration::from_millis(20));
            }
            done => return done,
        }
    }
}
