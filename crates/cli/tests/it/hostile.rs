//! The built `genjob` against hostile servers, with the configuration it ships.
//!
//! Lying, failing and hanging listings, the 1-hour mark, 429 storms, absurd `Retry-After`,
//! held-open reads, stale replicas, stalled downloads and Ctrl-C, one behaviour per test.
//!
//! Everything runs in real time (the CLI reads the real clock), so jobs are made old with
//! `with_age` instead of waiting for them. The timelines in the comments use the shipped defaults:
//! a Dreamina video's typical window is 60–180 s, inside it the adaptive schedule checks about every
//! 4.9 s (±10 %); one listing answers for 3 s; the listing degrades after 3 failures in a row; a
//! request may take 30 s; `RetryTransient` allows 10 attempts; `Retry-After` is capped at 10 min.

use crate::common::files::{FileServer, TRICKLING_MP4, names_in};
use crate::common::{Run, TOKEN, env_for, genjob, sandbox};
use genjob_sandbox::{JobSpec, ListingFault};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Old enough that any job has finished: read once at the start of a wait (rule 3).
const DONE: Duration = Duration::from_secs(600);
/// Inside the Dreamina video window (60–180 s): read at the start, then about every 4.9 s.
const RUNNING: Duration = Duration::from_secs(97);
/// The Dreamina 1-hour mark.
const HOUR: Duration = Duration::from_secs(3600);

/// Runs the binary and measures the real time around it.
async fn timed(args: &[&str], env: &[(String, String)]) -> (Run, Duration) {
    let started = Instant::now();
    let run = genjob(args, env, None).await;
    (run, started.elapsed())
}

/// The one `--json` line of a single-job run.
fn only_line(run: &Run) -> Value {
    let mut lines = run.json_lines();
    assert_eq!(lines.len(), 1, "expected exactly one JSON line: {run:?}");
    lines.remove(0)
}

/// The run did not panic: a panic exits 101 and prints `panicked` on stderr.
fn assert_no_panic(run: &Run) {
    assert_ne!(run.code, 101, "genjob panicked: {run:?}");
    assert!(!run.stderr.contains("panicked"), "genjob panicked: {run:?}");
}

/// A Dreamina video, running when the wait starts, that completes `after` it.
fn dreamina_completing_in(after: Duration) -> JobSpec {
    JobSpec::dreamina_video().with_age(RUNNING).with_duration(RUNNING + after)
}

// ---------------------------------------------------------------------------------------------
// Listings that lie: a listing is a hint, only a record finishes a job.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_listing_does_not_hide_a_job_that_completed() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let id = sandbox.add_job(dreamina_completing_in(Duration::from_secs(3)));
    // Frozen while the job still runs: the listing shows it executing, at 97 s, forever.
    sandbox.set_listing_fault(ListingFault::Frozen).expect("the sandbox takes the fault");

    let (run, elapsed) = timed(&["wait", &id, "--json", "--timeout", "60s"], &env).await;

    // Read at the start (created), covered by the listing at ~4.9 s, and at ~9.7 s the entry has
    // not aged while the clock moved: the listing stops covering the job and its record is read.
    // Trusting the listing would leave it unread until the 5-minute bound, past the timeout.
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(only_line(&run)["status"], "completed", "{run:?}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}: {run:?}");
    let stats = sandbox.stats();
    // Two listings are needed to see that the elapsed time does not move.
    assert!(stats.scheduler >= 2, "the frozen listing was not consulted: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_claiming_more_elapsed_time_than_the_job_has_lived_stops_covering_it() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let id = sandbox.add_job(dreamina_completing_in(Duration::from_secs(8)));
    sandbox.set_listing_fault(ListingFault::ElapsedAhead(HOUR)).expect("the sandbox takes the fault");

    let (run, elapsed) = timed(&["wait", &id, "--json", "--timeout", "60s"], &env).await;

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(only_line(&run)["status"], "completed", "{run:?}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}: {run:?}");
    // The first listing (~4.9 s) says the job has run an hour more than it has lived: from then on
    // its record is read on its own schedule and the listing is not asked again for it. (A healthy
    // listing would be asked at ~4.9 s and ~9.7 s, when the job leaves it.)
    let stats = sandbox.stats();
    assert_eq!(stats.scheduler, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_lagging_five_minutes_does_not_hold_back_a_job_it_cannot_show_yet() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let id = sandbox.add_job(dreamina_completing_in(Duration::from_secs(3)));
    // The listing of five minutes ago: this 97-second-old job was not created yet, so it is absent.
    // Absent-but-never-seen is neither "finished" nor "still running": the record decides.
    // (A job over five minutes old does appear in it, with an `elapsedSeconds` that advances with
    // the clock and stays under the job's age: nothing contradicts it, so only the 5-minute unread
    // bound ends its cover — measured at 300 s, too slow for this suite.)
    sandbox.set_listing_fault(ListingFault::Lagging(Duration::from_secs(300))).expect("the sandbox takes the fault");

    let (run, elapsed) = timed(&["wait", &id, "--json", "--timeout", "60s"], &env).await;

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(only_line(&run)["status"], "completed", "{run:?}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}: {run:?}");
    let stats = sandbox.stats();
    assert!(stats.scheduler >= 1, "the lagging listing was not consulted: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_failing_503_forever_stops_blocking_and_is_asked_rarely() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let id = sandbox.add_job(dreamina_completing_in(Duration::from_secs(3)));
    sandbox.set_listing_fault(ListingFault::Failing { status: 503, count: None }).expect("the sandbox takes the fault");

    let (run, elapsed) = timed(&["wait", &id, "--json", "--timeout", "60s"], &env).await;

    // Read at the start (created). At ~4.9 s the job waits for the listing: 503, back off 6 s;
    // 503 again, back off 12 s; the third 503 (~23 s) degrades the listing and the job's own
    // record is read: completed. That is the whole cost of a dead listing for a covered job.
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(only_line(&run)["status"], "completed", "{run:?}");
    assert!(elapsed < Duration::from_secs(35), "took {elapsed:?}: {run:?}");
    let stats = sandbox.stats();
    // Three failures to degrade, backing off in between: not one request per second (~23 here).
    assert!((3..=4).contains(&stats.scheduler), "{stats:?}");
    assert_eq!(stats.server_error_answers, stats.scheduler, "{stats:?}");
    // The start read and the read after the listing degraded; nothing in between.
    assert!((2..=3).contains(&stats.dreamina_videos), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_listing_is_cut_at_the_deadline_and_does_not_hold_other_jobs() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    // `done` is read at the start and is finished whatever the listing does. `young` is covered by
    // the listing: at ~4.9 s it waits for a listing request the server never answers. It completes
    // only ~23 s into the wait, so with a 10 s timeout it must time out under any design; what is
    // tested is that the hung request cannot stretch the deadline. (Without a timeout a covered job
    // is read only after three hung listing requests of 30 s each plus the back-offs: measured at
    // 113 s for a job done 3 s into the wait, too slow for this suite.)
    let done = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE));
    let young = sandbox.add_job(dreamina_completing_in(Duration::from_secs(23)));
    sandbox.set_listing_fault(ListingFault::Hang).expect("the sandbox takes the fault");

    let (run, elapsed) = timed(&["wait", &done, &young, "--json", "--timeout", "10s"], &env).await;

    assert_eq!(run.code, 5, "{run:?}");
    let line = only_line(&run);
    assert_eq!((line["id"].as_str(), line["status"].as_str()), (Some(done.as_str()), Some("completed")), "{run:?}");
    assert!(run.stderr.contains(&young) && run.stderr.contains("timeout"), "{run:?}");
    assert!(elapsed >= Duration::from_secs(10), "ended before its timeout: {elapsed:?}: {run:?}");
    assert!(elapsed < Duration::from_millis(11_500), "the deadline was stretched to {elapsed:?}: {run:?}");
    let stats = sandbox.stats();
    assert!(stats.scheduler >= 1 && stats.hung_answers >= 1, "no listing request was held open: {stats:?}");
}

// ---------------------------------------------------------------------------------------------
// The 1-hour rule: it needs a confirming read at the mark, and a final record wins.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_completing_two_seconds_before_its_hour_completes_despite_a_frozen_listing() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    // 5 s before the mark; done 3 s into the wait, 2 s before the mark.
    let age = HOUR - Duration::from_secs(5);
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(age).with_duration(HOUR - Duration::from_secs(2)));
    // The frozen listing shows the job executing at the mark and after: only its record may decide.
    sandbox.set_listing_fault(ListingFault::Frozen).expect("the sandbox takes the fault");

    let (run, elapsed) = timed(&["wait", &id, "--json", "--timeout", "30s"], &env).await;

    assert_eq!(run.code, 0, "{run:?}");
    let line = only_line(&run);
    assert_eq!(line["status"], "completed", "{run:?}");
    assert!(line["error"].is_null(), "{run:?}");
    // Read at the start (created), then again just past the mark: completed.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}: {run:?}");
    assert_eq!(sandbox.stats().dreamina_videos, 2, "{:?}", sandbox.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_still_created_at_its_hour_fails_408_only_after_a_confirming_read() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let to_mark = Duration::from_secs(5);
    let added = Instant::now();
    // Stuck: the sandbox itself fails it only 2 minutes after the mark, so at the mark its record
    // still says `created` and the local 1-hour rule has to decide.
    let id = sandbox.add_job(JobSpec::dreamina_video().stuck().with_age(HOUR - to_mark));
    sandbox.set_listing_fault(ListingFault::Frozen).expect("the sandbox takes the fault");
    let mark = added + to_mark;

    let args = ["wait", &id, "--json", "--timeout", "30s"];
    let wait = genjob(&args, &env, None);
    let before_mark = async {
        tokio::time::sleep_until((mark - Duration::from_millis(700)).into()).await;
        sandbox.stats().dreamina_videos
    };
    let (run, reads_before_mark) = tokio::join!(wait, before_mark);
    let ended = Instant::now();

    assert_eq!(run.code, 1, "{run:?}");
    let line = only_line(&run);
    assert_eq!(line["status"], "failed", "{run:?}");
    assert_eq!(line["error"]["code"], "408", "{run:?}");
    // One read at the start; the second, confirming read only once the mark has passed (a read
    // before it would not fail the job, and there is no third read). The rule never fires early.
    assert_eq!(reads_before_mark, 1, "{run:?}");
    assert_eq!(sandbox.stats().dreamina_videos, 2, "{:?}", sandbox.stats());
    assert!(ended >= mark, "failed {:?} before the mark", mark - ended);
    assert!(ended < mark + Duration::from_secs(3), "failed {:?} after the mark", ended - mark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_wait_agree_on_a_job_still_created_61_minutes_after_creation() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    // The sandbox's own sweep runs 2 minutes after the mark: at 61 minutes the record says `created`.
    let id = sandbox.add_job(JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(61 * 60)));

    let status = genjob(&["status", &id, "--json"], &env, None).await;
    let wait = genjob(&["wait", &id, "--json", "--timeout", "30s"], &env, None).await;

    assert_eq!(status.code, 0, "status reports whatever state it read: {status:?}");
    assert_eq!(wait.code, 1, "wait fails on a failed job: {wait:?}");
    let (seen, waited) = (only_line(&status), only_line(&wait));
    assert_eq!(seen["status"], "failed", "{status:?}");
    assert_eq!(seen["error"]["code"], "408", "{status:?}");
    for key in ["status", "provider_status", "error"] {
        assert_eq!(seen[key], waited[key], "`{key}` differs between status and wait");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors: one retry layer, one policy, a budget that holds.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_spends_a_bounded_budget_and_the_timeout_names_the_last_answer() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    // Every read answers 429 with `Retry-After: 1`.
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE).with_rate_limited(1000));

    let (run, elapsed) = timed(&["wait", &id, "--timeout", "8s"], &env).await;

    assert_eq!(run.code, 5, "{run:?}");
    assert!(elapsed < Duration::from_millis(9_500), "took {elapsed:?}: {run:?}");
    // The message says why the job never got anywhere: the server's last answer.
    assert!(run.stderr.contains("429"), "stderr does not name the 429: {run:?}");
    assert!(run.stdout.contains("timed out") && run.stdout.contains("429"), "the summary table: {run:?}");
    // Single attempts under a doubling back-off: reads at 0, 1, 3 and 7 s. A second retry layer
    // (the transport retrying inside each attempt) or a fixed 1 s loop would show 8 or more.
    let stats = sandbox.stats();
    assert!((3..=6).contains(&stats.dreamina_videos), "{stats:?}");
    assert_eq!(stats.rate_limited_answers, stats.dreamina_videos, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_exhaust_the_error_policy_after_ten_single_attempts() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE).with_server_errors(1000));

    // With the adaptive schedule the back-off of an old job doubles up to its 30 s poll interval:
    // ten attempts take about 2.5 minutes. `--every 1s` keeps the back-off at one second, so the
    // same policy (`RetryTransient`: 10 attempts) gives up in about ten seconds.
    let (run, elapsed) = timed(&["wait", &id, "--every", "1s"], &env).await;

    assert_eq!(run.code, 6, "{run:?}");
    assert!(run.stderr.contains("503"), "{run:?}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}: {run:?}");
    let stats = sandbox.stats();
    // Exactly the policy's ten attempts, each a single request.
    assert_eq!(stats.dreamina_videos, 10, "{stats:?}");
    assert_eq!(stats.server_error_answers, 10, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_retry_after_is_capped_and_never_panics() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    // u64::MAX seconds, in the header and in Dreamina's `retryAfter` body field.
    let id = sandbox.add_job(
        JobSpec::dreamina_video().with_age(DONE).with_rate_limited(2).with_retry_after("18446744073709551615"),
    );

    let (run, elapsed) = timed(&["wait", &id, "--json", "--timeout", "5s"], &env).await;

    assert_no_panic(&run);
    // Honoured up to the 10-minute cap: still waiting when the 5 s timeout ends the wait on time.
    assert_eq!(run.code, 5, "{run:?}");
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}: {run:?}");
    assert_eq!(sandbox.stats().dreamina_videos, 1, "{:?}", sandbox.stats());

    // `status` has a --timeout too (60 s by default): a server asking to wait past it ends the read
    // as its timeout (5), reported at once rather than slept on.
    let other = sandbox.add_job(
        JobSpec::dreamina_video().with_age(DONE).with_rate_limited(2).with_retry_after("18446744073709551615"),
    );
    let (status, elapsed) = timed(&["status", &other], &env).await;
    assert_no_panic(&status);
    assert_eq!(status.code, 5, "{status:?}");
    assert!(status.stderr.contains("429"), "{status:?}");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_or_past_retry_after_is_retried_soon() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    let negative =
        sandbox.add_job(JobSpec::dreamina_video().with_age(DONE).with_rate_limited(2).with_retry_after("-5"));
    let past = sandbox.add_job(
        JobSpec::dreamina_video().with_age(DONE).with_rate_limited(2).with_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
    );

    let negative_args = ["wait", &negative, "--json", "--timeout", "30s"];
    let past_args = ["wait", &past, "--json", "--timeout", "30s"];
    let ((negative_run, negative_elapsed), (past_run, past_elapsed)) =
        tokio::join!(timed(&negative_args, &env), timed(&past_args, &env));

    // Neither value is a reason to wait: the usual back-off (1 s, 2 s) applies, then the record.
    for (run, elapsed) in [(&negative_run, negative_elapsed), (&past_run, past_elapsed)] {
        assert_no_panic(run);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(only_line(run)["status"], "completed", "{run:?}");
        assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}: {run:?}");
    }
    assert_eq!(sandbox.stats().rate_limited_answers, 4, "{:?}", sandbox.stats());
}

// ---------------------------------------------------------------------------------------------
// Deadlines are deadlines; stale replicas never undo a completion.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_the_server_never_answers_is_cut_at_the_deadline() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    // Accepted, then held open forever: only the deadline (3 s, well under the 30 s request
    // timeout) can end it.
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE).with_hang_reads(u32::MAX));

    let (run, elapsed) = timed(&["wait", &id, "--json", "--timeout", "3s"], &env).await;

    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stdout.is_empty(), "a job never read prints no line: {run:?}");
    assert!(run.stderr.contains("timeout"), "{run:?}");
    assert!(elapsed < Duration::from_millis(4_500), "took {elapsed:?}: {run:?}");
    assert!(sandbox.stats().hung_answers >= 1, "{:?}", sandbox.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_reads_after_completion_never_reach_the_report() {
    let sandbox = sandbox(1.0).await;
    let env = env_for(&sandbox.base_url(), TOKEN);
    // After its first finished read, the next three reads of this job show it unfinished again
    // (a lagging replica).
    let id = sandbox.add_job(JobSpec::dreamina_video().with_age(DONE).with_stale_reads(3));

    let run = genjob(&["wait", &id, "--json", "--timeout", "30s"], &env, None).await;

    assert_eq!(run.code, 0, "{run:?}");
    let line = only_line(&run);
    assert_eq!(line["status"], "completed", "{run:?}");
    assert!(!line["outputs"].as_array().is_none_or(Vec::is_empty), "{run:?}");
    // The first final record ends the job's watch: it is never read again, so a stale replica has
    // nothing to contradict.
    let stats = sandbox.stats();
    assert_eq!((stats.dreamina_videos, stats.stale_answers), (1, 0), "{stats:?}");
}

// ---------------------------------------------------------------------------------------------
// Stalled downloads: a server of our own, since the sandbox serves files at full speed.
// ---------------------------------------------------------------------------------------------

/// The token360 id the stalled downloads are asked for.
const STALLED_ID: &str = "video_stalleddownload";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_is_cut_at_the_deadline_leaving_no_file() {
    let server = FileServer::start(TRICKLING_MP4).await;
    let env = env_for(&server.base, TOKEN);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_string_lossy().into_owned();

    let (run, elapsed) =
        timed(&["wait", STALLED_ID, "--provider", "token360", "--download", &out, "--json", "--timeout", "3s"], &env)
            .await;

    // The job completed (its line is printed); its download did not finish before the deadline.
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(only_line(&run)["status"], "completed", "{run:?}");
    assert!(run.stderr.contains("deadline"), "{run:?}");
    assert!(elapsed < Duration::from_millis(4_500), "took {elapsed:?}: {run:?}");
    assert_eq!(server.file_requests.load(Ordering::SeqCst), 1, "the download never started: {run:?}");
    assert_eq!(names_in(dir.path()), Vec::<String>::new(), "no file and no `.part` may remain");
}

/// Starts the built binary with exactly `env`, its output piped.
fn spawn_genjob(args: &[String], env: &[(String, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_genjob"))
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the genjob binary starts")
}

/// Polls `ready` every 20 ms for up to `limit`; true once it holds.
fn eventually(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ready()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_download_exits_130_leaving_no_file() {
    let server = FileServer::start(TRICKLING_MP4).await;
    let env = env_for(&server.base, TOKEN);
    let dir = tempfile::tempdir().expect("temp dir");
    let out: PathBuf = dir.path().to_path_buf();
    let args: Vec<String> = ["wait", STALLED_ID, "--provider", "token360", "--download", &out.to_string_lossy()]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let file_requests = Arc::clone(&server.file_requests);

    let (output, part_seen) = tokio::task::spawn_blocking(move || {
        let child = spawn_genjob(&args, &env);
        // Interrupt only once the download is under way: its temporary file exists.
        let part_seen = eventually(Duration::from_secs(10), || {
            file_requests.load(Ordering::SeqCst) == 1 && names_in(&out).iter().any(|n| n.ends_with(".part"))
        });
        // The shell's builtin `kill` sends SIGINT as a terminal's Ctrl-C would.
        let sent = Command::new("sh").args(["-c", &format!("kill -INT {}", child.id())]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -INT failed");
        (child.wait_with_output().expect("genjob exits"), part_seen)
    })
    .await
    .expect("the blocking task completes");

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(part_seen, "the download never wrote its temporary file: {stdout} {stderr}");
    assert_eq!(output.status.code(), Some(130), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(names_in(dir.path()), Vec::<String>::new(), "no file and no `.part` may remain");
}
