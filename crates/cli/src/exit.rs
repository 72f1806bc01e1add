//! Exit codes: what each failure maps to, and which one wins when several jobs end differently.

use genjob::{DownloadError, ErrorKind, Interruption, TransportError, WaitError};
use std::{fmt, io};

/// The table printed by `genjob --help`; the README copies it.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (status/normalize: the job was read, whatever its state; wait: every job completed)
  1  wait: a job ended failed (including the Dreamina 1-hour rule)
  2  bad command line or bad input (unusable job id, unknown provider, missing token, token given as
     a job id, invalid or too large file for normalize; see normalize --max-size)
  3  authentication or permission refused (HTTP 401/403; also 402 payment required, 596 account session expired)
  4  job not found or expired (HTTP 404/410)
  5  the --timeout passed before the jobs finished
  6  network or server error after retries (429, 5xx, timeouts, connection failures, failed downloads)
  7  the server answered something that is not a valid record (invalid JSON, too large)
  8  standard output could not be written (disk full, closed pipe): the command stops there; a closed
     pipe (`| head`) ends quietly, any other failure is named on stderr
  130  wait: interrupted (Ctrl-C, SIGTERM or SIGHUP) before every job finished; the summary shows
     where each job stood, and no half-downloaded file is left
With several jobs the most severe code wins, in this order: 2, 8, 130, 3, 4, 7, 6, 5, 1, 0.

Environment:
  USEAPI_TOKEN, USEAPI_BASE_URL        useapi.net (Dreamina, Google Flow)
  TOKEN360_API_KEY, TOKEN360_BASE_URL  token360
  RUST_LOG                             log filter for diagnostics on stderr (default: warn)";

/// The process exit code of `genjob`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for succeeded.
    Success = 0,
    /// `wait`: a job ended failed.
    JobFailed = 1,
    /// Bad command line or bad input.
    Usage = 2,
    /// The provider refused the token or the account (401/402/403/596).
    Auth = 3,
    /// The job does not exist or has expired (404/410).
    NotFound = 4,
    /// `--timeout` passed first.
    TimedOut = 5,
    /// Network or server trouble that retries did not overcome.
    Network = 6,
    /// The server's answer is not a valid record.
    InvalidResponse = 7,
    /// Standard output could not be written (full disk, closed pipe).
    Output = 8,
    /// `wait` was interrupted (Ctrl-C, SIGTERM, SIGHUP); 128 + SIGINT, as shells report Ctrl-C.
    Interrupted = 130,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Higher is more severe: the order 2, 8, 130, 3, 4, 7, 6, 5, 1, 0.
    fn severity(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::JobFailed => 1,
            Exit::TimedOut => 2,
            Exit::Network => 3,
            Exit::InvalidResponse => 4,
            Exit::NotFound => 5,
            Exit::Auth => 6,
            // The person asked to stop: say so, unless the command line itself was wrong.
            Exit::Interrupted => 7,
            // Whatever the jobs did, the caller did not get to read it.
            Exit::Output => 8,
            Exit::Usage => 9,
        }
    }

    /// The more severe of two outcomes.
    pub fn worst(self, other: Exit) -> Exit {
        if other.severity() > self.severity() { other } else { self }
    }

    /// The exit code for a transport failure.
    pub fn from_transport(error: &TransportError) -> Exit {
        match error.kind() {
            ErrorKind::Config | ErrorKind::BadRequest => Exit::Usage,
            ErrorKind::InvalidInput => Exit::Usage,
            ErrorKind::Unauthorized
            | ErrorKind::PaymentRequired
            | ErrorKind::Forbidden
            | ErrorKind::AccountUnavailable => Exit::Auth,
            ErrorKind::NotFound | ErrorKind::Gone => Exit::NotFound,
            ErrorKind::InvalidResponse | ErrorKind::TooLarge => Exit::InvalidResponse,
            // 429, 5xx, unexpected statuses, timeouts, broken connections, cut downloads, local IO,
            // and any kind added later: trouble that trying again may fix.
            _ => Exit::Network,
        }
    }

    /// The exit code for a wait that ended without a final state.
    pub fn from_wait(error: &WaitError) -> Exit {
        match error {
            WaitError::JobFailed(_) => Exit::JobFailed,
            WaitError::TimedOut { .. } => Exit::TimedOut,
            WaitError::Cancelled { .. } => Exit::Interrupted,
            WaitError::Fetch { source, .. } | WaitError::RetriesExhausted { source, .. } => {
                Exit::from_transport(source)
            }
            WaitError::WrongProvider { .. } => Exit::Usage,
            WaitError::NoSource { .. } => Exit::Usage,
            WaitError::WrongRecord { .. } => Exit::InvalidResponse,
            _ => Exit::Network,
        }
    }

    /// The exit code for a failed download.
    pub fn from_download(error: &DownloadError) -> Exit {
        match error {
            DownloadError::Transport { source, .. } => match Exit::from_transport(source) {
                // A refused file URL is the file host's doing, not the API token's: report it as a download failure.
                Exit::Auth | Exit::NotFound | Exit::Usage => Exit::Network,
                other => other,
            },
            DownloadError::Vanished { .. } | DownloadError::NoOutputs { .. } => Exit::InvalidResponse,
            DownloadError::Interrupted { reason: Interruption::Cancelled, .. } => Exit::Interrupted,
            DownloadError::Directory { .. } => Exit::Usage,
            DownloadError::Interrupted { .. } => Exit::TimedOut,
            _ => Exit::Network,
        }
    }
}

/// A failure that ends the command: the message for stderr and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// What was wrong and what to do.
    pub message: String,
}

impl CliError {
    /// A bad command line or bad input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self { exit: Exit::Usage, message: message.into() }
    }

    /// A transport failure, mapped to its exit code.
    pub fn transport(error: &TransportError) -> Self {
        Self { exit: Exit::from_transport(error), message: error.to_string() }
    }

    /// Standard output could not be written (exit 8). A closed pipe gets no message: the reader left
    /// on purpose (`genjob … | head -1`), and Unix tools end quietly then.
    pub fn stdout(error: &io::Error) -> Self {
        let message = if error.kind() == io::ErrorKind::BrokenPipe {
            String::new()
        } else {
            format!("cannot write to standard output: {error}; free space or redirect it elsewhere")
        };
        Self { exit: Exit::Output, message }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn video_1() -> genjob::JobId {
        genjob::JobId::parse("video_1").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn severity_follows_the_documented_order() {
        let order = [
            Exit::Usage,
            Exit::Output,
            Exit::Interrupted,
            Exit::Auth,
            Exit::NotFound,
            Exit::InvalidResponse,
            Exit::Network,
            Exit::TimedOut,
            Exit::JobFailed,
            Exit::Success,
        ];
        for (i, high) in order.iter().enumerate() {
            for low in &order[i..] {
                assert_eq!(high.worst(*low), *high, "{high:?} vs {low:?}");
                assert_eq!(low.worst(*high), *high, "{low:?} vs {high:?}");
            }
        }
        assert_eq!(order.map(Exit::code), [2, 8, 130, 3, 4, 7, 6, 5, 1, 0]);
    }

    #[test]
    fn transport_errors_map_to_their_codes() {
        let of = |kind, status: Option<u16>| {
            let error = TransportError::new(kind, "detail").with_attempts(1);
            match status {
                Some(s) => error.with_status(s),
                None => error,
            }
        };
        let cases: Vec<(TransportError, Exit)> = vec![
            (TransportError::config("USEAPI_TOKEN is not set"), Exit::Usage),
            (of(ErrorKind::InvalidInput, None), Exit::Usage),
            (of(ErrorKind::Unauthorized, Some(401)), Exit::Auth),
            (of(ErrorKind::PaymentRequired, Some(402)), Exit::Auth),
            (of(ErrorKind::Forbidden, Some(403)), Exit::Auth),
            (of(ErrorKind::AccountUnavailable, Some(596)), Exit::Auth),
            (of(ErrorKind::NotFound, Some(404)), Exit::NotFound),
            (of(ErrorKind::Gone, Some(410)), Exit::NotFound),
            (of(ErrorKind::RateLimited, Some(429)), Exit::Network),
            (of(ErrorKind::Server, Some(503)), Exit::Network),
            (TransportError::timeout(Duration::from_secs(30)), Exit::Network),
            (of(ErrorKind::Network, None), Exit::Network),
            (of(ErrorKind::InvalidResponse, Some(200)), Exit::InvalidResponse),
            (of(ErrorKind::TooLarge, Some(200)), Exit::InvalidResponse),
        ];
        for (error, exit) in cases {
            assert_eq!(Exit::from_transport(&error), exit, "{error}");
        }
    }

    #[test]
    fn wait_and_download_errors_map_to_their_codes() {
        let timed_out = WaitError::TimedOut {
            id: video_1(),
            status: genjob::JobStatus::Running,
            elapsed: Duration::from_secs(1),
            polls: 1,
            last: None,
            last_error: None,
        };
        assert_eq!(Exit::from_wait(&timed_out), Exit::TimedOut);
        let not_found = WaitError::Fetch {
            id: video_1(),
            source: TransportError::new(ErrorKind::NotFound, "").with_status(404),
            polls: 1,
        };
        assert_eq!(Exit::from_wait(&not_found), Exit::NotFound);
        let exhausted = WaitError::RetriesExhausted {
            id: video_1(),
            source: TransportError::new(ErrorKind::Server, "").with_status(503),
            polls: 10,
            failing_for: Duration::from_secs(600),
        };
        assert_eq!(Exit::from_wait(&exhausted), Exit::Network);
        let cancelled = DownloadError::Interrupted { id: "video_1".into(), reason: genjob::Interruption::Cancelled };
        assert_eq!(Exit::from_download(&cancelled), Exit::Interrupted);
        let late = DownloadError::Interrupted { id: "video_1".into(), reason: genjob::Interruption::Deadline };
        assert_eq!(Exit::from_download(&late), Exit::TimedOut);
        let cut = DownloadError::Transport {
            id: "video_1".into(),
            index: 0,
            source: TransportError::new(ErrorKind::Truncated, "5 bytes of 10"),
        };
        assert_eq!(Exit::from_download(&cut), Exit::Network);
        assert_eq!(
            Exit::from_download(&DownloadError::Vanished { id: "video_1".into(), index: 0 }),
            Exit::InvalidResponse
        );
    }
}
