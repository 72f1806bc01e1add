//! What `genjob wait` learned about how long jobs take, kept between runs in the user's cache directory.
//!
//! The file is `$XDG_CACHE_HOME/genjob/learned-durations.json` (else `$HOME/.cache/genjob/…`): a
//! small JSON object, bounded by the library (64 kinds of job × 256 samples each). A missing file
//! is nothing learned yet; a corrupt, foreign or future one is ignored with a warning and replaced
//! at the end of the run. It is written whole to a temporary file and renamed over the old one, so
//! a reader never sees half a file. Runs save one at a time (a lock on a file beside it), each
//! merging what it learned into what the file holds by then: parallel `wait`s all keep what they saw.

use crate::sources::Lookup;
use genjob::DurationEstimates;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's name inside the `genjob` cache directory.
pub const FILE_NAME: &str = "learned-durations.json";
/// Set to anything but empty, `0` or `false`, this turns learning off like `--no-learn`.
pub const DISABLE_VAR: &str = "GENJOB_NO_LEARN";
/// The lock file beside it that makes read, merge and replace one step.
const LOCK_NAME: &str = "learned-durations.lock";
/// A file larger than this is not one genjob wrote (its own stay far below a megabyte).
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// True when [`DISABLE_VAR`] turns learning off.
pub fn disabled(lookup: Lookup<'_>) -> bool {
    lookup(DISABLE_VAR).is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Where learned durations are kept, or `None` when there is no cache directory.
pub fn location(lookup: Lookup<'_>) -> Option<PathBuf> {
    // The XDG base directory rules: a relative $XDG_CACHE_HOME is invalid and ignored.
    let absolute = |name: &str| lookup(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let cache = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")))?;
    Some(cache.join("genjob").join(FILE_NAME))
}

/// Loads learned durations; nothing learned when the file is missing, unreadable or not genjob's.
pub fn load(path: &Path) -> DurationEstimates {
    match read(path) {
        Ok(Some(learned)) => learned,
        Ok(None) => DurationEstimates::new(),
        Err(reason) => {
            eprintln!("genjob: warning: ignoring the learned job durations in {}: {reason}", path.display());
            DurationEstimates::new()
        }
    }
}

fn read(path: &Path) -> Result<Option<DurationEstimates>, String> {
    let size = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if size > MAX_FILE_BYTES {
        return Err(format!("{size} bytes is far more than genjob ever writes"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map(Some).map_err(|e| e.to_string())
}

/// Saves learned durations atomically, merged with what the file holds by then (another run may
/// have saved since this one loaded); a failure is a warning, never the wait's error.
pub fn save(path: &Path, learned: &DurationEstimates) {
    if let Err(reason) = write(path, learned) {
        eprintln!("genjob: warning: could not save the learned job durations to {}: {reason}", path.display());
    }
}

fn write(path: &Path, learned: &DurationEstimates) -> Result<(), String> {
    let dir = path.parent().ok_or("the path has no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    // Held until the new file is in place (released on drop): without it, two runs ending together
    // would each merge into the same old file and the last rename would drop the other's samples.
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_NAME))
        .map_err(|e| format!("cannot open its lock file: {e}"))?;
    lock_within(&lock, LOCK_PATIENCE)?;
    // A file that cannot be read was warned about at load and is replaced.
    let mut merged = read(path).ok().flatten().unwrap_or_default();
    merged.merge(learned);
    let text = serde_json::to_string(&merged).map_err(|e| e.to_string())?;
    // In the same directory, so the rename is atomic; removed on drop if anything fails first.
    let mut temp =
        tempfile::Builder::new().prefix(".learned-durations-").tempfile_in(dir).map_err(|e| e.to_string())?;
    temp.write_all(text.as_bytes()).and_then(|()| temp.write_all(b"\n")).map_err(|e| e.to_string())?;
    temp.persist(path).map_err(|e| e.error.to_string())?;
    Ok(())
}

/// How long a save waits for another run's save (each takes milliseconds) before giving up.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Takes the lock, waiting at most `patience`: a stopped process holding it must not keep this run
/// from ending (its learning is then lost with a warning, its results are not).
fn lock_within(lock: &std::fs::File, patience: std::time::Duration) -> Result<(), String> {
    let started = std::time::Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < patience => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!("another genjob held its lock for more than {patience:?}"));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(format!("cannot lock it: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name: &str| vars.get(name).cloned()
    }

    #[test]
    fn the_file_lives_in_the_cache_directory() {
        let xdg = location(&env(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")]));
        assert_eq!(xdg, Some(PathBuf::from("/c/genjob/learned-durations.json")));
        let home = location(&env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")]));
        assert_eq!(home, Some(PathBuf::from("/h/.cache/genjob/learned-durations.json")));
        assert_eq!(location(&env(&[])), None);
    }

    #[test]
    fn the_variable_turns_learning_off_unless_it_says_no() {
        assert!(disabled(&env(&[(DISABLE_VAR, "1")])) && disabled(&env(&[(DISABLE_VAR, "yes")])));
        for off in ["", "0", "false"] {
            assert!(!disabled(&env(&[(DISABLE_VAR, off)])), "{off:?}");
        }
        assert!(!disabled(&env(&[])));
    }

    #[test]
    fn saving_then_loading_gives_back_what_was_learned() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sub").join(FILE_NAME);
        let mut learned = DurationEstimates::new();
        let key = genjob::DurationKey::for_kind(genjob::Provider::Dreamina, Some(genjob::JobKind::Video));
        learned.record_finished(&key, "j", std::time::Duration::from_secs(90));
        save(&path, &learned);
        assert_eq!(load(&path), learned);
        // Only the file and its lock are left: no temporary file.
        let mut names: Vec<String> = std::fs::read_dir(path.parent().ok_or("no parent")?)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        names.sort();
        assert_eq!(names, [FILE_NAME, LOCK_NAME]);
        Ok(())
    }

    #[test]
    fn a_lock_held_elsewhere_is_waited_for_briefly_then_given_up() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(LOCK_NAME);
        let holder = std::fs::File::create(&path)?;
        holder.lock()?;
        let other = std::fs::File::options().write(true).open(&path)?;
        let started = std::time::Instant::now();
        let refused = lock_within(&other, std::time::Duration::from_millis(100));
        assert!(refused.is_err_and(|e| e.contains("another genjob")));
        assert!(started.elapsed() >= std::time::Duration::from_millis(100));
        holder.unlock()?;
        assert_eq!(lock_within(&other, std::time::Duration::from_millis(100)), Ok(()));
        Ok(())
    }

    #[test]
    fn runs_saving_at_once_each_keep_what_they_learned() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(FILE_NAME);
        let key = genjob::DurationKey::for_kind(genjob::Provider::Token360, None);
        // What every run loaded: one job of an earlier run.
        let mut earlier = DurationEstimates::new();
        earlier.record_finished(&key, "earlier", std::time::Duration::from_secs(80));
        save(&path, &earlier);
        let runs: Vec<_> = (0..8)
            .map(|run| {
                let (path, key, mut learned) = (path.clone(), key.clone(), load(&path));
                std::thread::spawn(move || {
                    for job in 0..5 {
                        let took = std::time::Duration::from_secs(60 + job);
                        learned.record_finished(&key, &format!("run{run}-job{job}"), took);
                    }
                    save(&path, &learned);
                })
            })
            .collect();
        for run in runs {
            run.join().map_err(|_| "a saving thread panicked")?;
        }
        // The earlier job once, and every run's five.
        assert_eq!(load(&path).samples(&key), (1 + 8 * 5, 0));
        Ok(())
    }
}
