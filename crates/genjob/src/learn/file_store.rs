//! [`FileStore`]: learned durations in a small JSON file, read only when it is a regular file of
//! bounded size, and replaced atomically under a lock.

use super::persist::{LearnedStore, StoreError};
use super::store::DurationEstimates;
use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a save waits for another run's save (each takes milliseconds) before giving up.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// Learned durations kept in a JSON file: the default [`LearnedStore`].
///
/// By default the file is `$XDG_CACHE_HOME/genjob/learned-durations.json` (else
/// `$HOME/.cache/genjob/…`, see [`in_cache_dir`](Self::in_cache_dir)); what `genjob wait` uses.
///
/// - **Loading** reads only a regular file (a FIFO, a device, a directory or a socket there is
///   refused without waiting on or reading from it) of at most [`MAX_FILE_BYTES`](Self::MAX_FILE_BYTES).
///   A missing file is nothing learned yet; anything else unusable is a [`StoreError::Unusable`].
/// - **Saving** takes a lock on a file beside it ([`lock_path`](Self::lock_path)), waiting at most
///   2 s for another run's save (a stopped process holding it cannot keep a wait from ending), merges
///   into what the file holds by then, writes a temporary file in the same directory and renames it
///   over the old one, so a reader never sees half a file and parallel runs keep each other's samples.
///
/// ```no_run
/// use genjob::learn::{FileStore, LearnedStore};
/// let lookup = |name: &str| std::env::var(name).ok();
/// if let Some(store) = FileStore::in_cache_dir(&lookup) {
///     let learned = store.load()?;
///     println!("{} kinds of job learned, in {}", learned.len(), store.path().display());
/// }
/// # Ok::<(), genjob::learn::StoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// The file's name inside the `genjob` cache directory.
    pub const FILE_NAME: &'static str = "learned-durations.json";
    /// A file larger than this is not one genjob wrote: its own hold at most
    /// [`MAX_KEYS`](crate::learn::MAX_KEYS) keys of [`MAX_SAMPLES`](crate::learn::MAX_SAMPLES)
    /// finished and [`MAX_RUNNING`](crate::learn::MAX_RUNNING) running samples, under 7 MB.
    pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

    /// Keeps learned durations in the file at `path` (its directory is created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The store in the user's cache directory, or `None` when there is none.
    ///
    /// `lookup` reads an environment variable (`XDG_CACHE_HOME`, else `HOME`); pass the process
    /// environment's, or a map in tests. A relative `$XDG_CACHE_HOME` is invalid and ignored, as
    /// the XDG base directory rules say.
    pub fn in_cache_dir(lookup: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let absolute = |name: &str| lookup(name).map(PathBuf::from).filter(|p| p.is_absolute());
        let cache = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")))?;
        Some(Self::new(cache.join("genjob").join(Self::FILE_NAME)))
    }

    /// The file learned durations are kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file beside it that makes read, merge and replace one step: the same name, ending `.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let lock = self.path.with_extension("lock");
        if lock == self.path {
            let mut name = self.path.as_os_str().to_owned();
            name.push(".lock");
            return PathBuf::from(name);
        }
        lock
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn write(&self, learned: &DurationEstimates) -> Result<(), String> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create its directory: {e}"))?;
        // Held until the new file is in place (released on drop): without it, two runs ending
        // together would each merge into the same old file and the last rename would drop the
        // other's samples.
        let lock = open_lock(&self.lock_path())?;
        lock_within(&lock, LOCK_PATIENCE)?;
        // A file that cannot be used was reported by `load` and is replaced.
        let mut merged = read_learned(&self.path).ok().flatten().unwrap_or_default();
        merged.merge(learned);
        let text = serde_json::to_string(&merged).map_err(|e| e.to_string())?;
        // In the same directory, so the rename is atomic; removed on drop if anything fails first.
        let mut temp =
            tempfile::Builder::new().prefix(".learned-durations-").tempfile_in(dir).map_err(|e| e.to_string())?;
        temp.write_all(text.as_bytes()).and_then(|()| temp.write_all(b"\n")).map_err(|e| e.to_string())?;
        temp.persist(&self.path).map_err(|e| e.error.to_string())?;
        Ok(())
    }
}

impl LearnedStore for FileStore {
    fn load(&self) -> Result<DurationEstimates, StoreError> {
        match read_learned(&self.path) {
            Ok(learned) => Ok(learned.unwrap_or_default()),
            Err(reason) => Err(StoreError::Unusable { location: self.location(), reason }),
        }
    }

    fn save_merged(&self, learned: &DurationEstimates) -> Result<(), StoreError> {
        self.write(learned).map_err(|reason| StoreError::NotSaved { location: self.location(), reason })
    }
}

/// The learned durations in the file at `path`; `None` when there is no file.
fn read_learned(path: &Path) -> Result<Option<DurationEstimates>, String> {
    let Some(bytes) = read_regular(path, FileStore::MAX_FILE_BYTES)? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| e.to_string())
}

/// The bytes of the regular file at `path` (`None` when there is none), at most `limit` of them.
///
/// Nothing else is opened for long or read: opening a FIFO waits for a writer, and a device such
/// as `/dev/zero` reports a size of 0 and never ends.
fn read_regular(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, String> {
    // Refused before opening where it can be: also where no non-blocking flag is known.
    match std::fs::metadata(path) {
        Ok(meta) => regular(&meta)?,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let mut options = OpenOptions::new();
    options.read(true);
    let file = match nonblocking(&mut options).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    // Checked again on what was opened: the path may name something else by now.
    let meta = file.metadata().map_err(|e| e.to_string())?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(format!("{} bytes is far more than genjob ever writes (at most {limit})", meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // Bounded even if the file grows while it is read.
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(format!("it grew past {limit} bytes while being read"));
    }
    Ok(Some(bytes))
}

/// Opens (creating it) the lock file at `path`, if it is a regular file.
fn open_lock(path: &Path) -> Result<File, String> {
    let refused = |reason: String| format!("its lock file {}: {reason}", path.display());
    match std::fs::metadata(path) {
        Ok(meta) => regular(&meta).map_err(refused)?,
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(refused(e.to_string())),
    }
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    let lock = nonblocking(&mut options).open(path).map_err(|e| refused(format!("cannot open it: {e}")))?;
    regular(&lock.metadata().map_err(|e| refused(e.to_string()))?).map_err(refused)?;
    Ok(lock)
}

/// Takes the lock, waiting at most `patience`: a stopped process holding it must not keep this run
/// from ending (its learning is then lost with a warning, its results are not).
fn lock_within(lock: &File, patience: Duration) -> Result<(), String> {
    crate::lock_within(lock, patience).map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => format!("another genjob held its lock for more than {patience:?}"),
        std::fs::TryLockError::Error(e) => format!("cannot lock it: {e}"),
    })
}

/// `Ok` for a regular file, else what it is instead.
fn regular(meta: &Metadata) -> Result<(), String> {
    if meta.is_file() {
        return Ok(());
    }
    Err(format!("it is {}, not a regular file", describe(meta.file_type())))
}

fn describe(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() { "a directory" } else { "a special file" }
}

/// `O_NONBLOCK` of `open(2)`: a FIFO then opens at once (or, for writing without a reader, fails)
/// instead of waiting. std does not name it; these are the platforms' ABI values, as in the libc
/// crate. Where it is unknown (0), the file type checked before opening keeps FIFOs out.
#[cfg(unix)]
const O_NONBLOCK: i32 = if cfg!(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)) {
    0x4
} else if cfg!(any(target_os = "illumos", target_os = "solaris")) {
    0o200
} else if cfg!(not(any(target_os = "linux", target_os = "android"))) {
    0
} else if cfg!(any(target_arch = "mips", target_arch = "mips64", target_arch = "mips32r6", target_arch = "mips64r6")) {
    0o200
} else if cfg!(any(target_arch = "sparc", target_arch = "sparc64")) {
    0x4000
} else {
    0o4000
};

/// `options`, set not to wait when opening a FIFO (reads and writes of regular files are unchanged).
fn nonblocking(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(O_NONBLOCK);
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_lock_file_is_beside_the_file_with_its_own_name() {
        let lock = |path: &str| FileStore::new(path).lock_path();
        assert_eq!(lock("/c/genjob/learned-durations.json"), PathBuf::from("/c/genjob/learned-durations.lock"));
        assert_eq!(lock("learned"), PathBuf::from("learned.lock"));
        assert_eq!(lock("/x/odd.lock"), PathBuf::from("/x/odd.lock.lock"));
    }

    #[test]
    fn a_lock_held_elsewhere_is_waited_for_briefly_then_given_up() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("learned-durations.lock");
        let holder = File::create(&path)?;
        holder.lock()?;
        let other = open_lock(&path)?;
        let started = Instant::now();
        let refused = lock_within(&other, Duration::from_millis(100));
        assert!(refused.is_err_and(|e| e.contains("another genjob")));
        assert!(started.elapsed() >= Duration::from_millis(100));
        holder.unlock()?;
        assert_eq!(lock_within(&other, Duration::from_millis(100)), Ok(()));
        Ok(())
    }

    /// The flag itself, past the type check before opening: a FIFO without a writer opens at once.
    #[cfg(unix)]
    #[test]
    fn the_nonblocking_flag_opens_a_fifo_without_waiting() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(made.success(), "mkfifo failed");
        let (sent, opened) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let mut options = OpenOptions::new();
            options.read(true);
            let _ = sent.send(nonblocking(&mut options).open(&path).map(|file| file.metadata().map(|m| m.is_file())));
        });
        // Only a guard against hanging the test run: a wrong flag would wait here for ever.
        match opened.recv_timeout(Duration::from_secs(60)) {
            Ok(result) => assert!(matches!(result, Ok(Ok(false))), "{result:?}"),
            Err(_) => {
                // Unblock the thread before failing.
                let _ = OpenOptions::new().write(true).open(&fifo);
                panic!("opening a FIFO with O_NONBLOCK = {O_NONBLOCK:#o} waited for a writer");
            }
        }
        Ok(())
    }
}
