//! `cargo xtask bench`: poll efficiency, the cost of planning on a sample, batch scale, pushed
//! callbacks, client overhead, parse speed, many watched jobs and `genjob serve` replicas.
//!
//! Prints one table and writes `target/bench/results.json`. A debug build re-runs itself in release
//! (`cargo run --release -p xtask -- bench`), because timings of unoptimised code mean nothing.

mod families;
mod live;
mod oracle;
mod page;
mod parse;
mod poll;
mod push;
mod sample;
mod serve;
mod sim;
mod source;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// The usage line shown by `cargo xtask --help`.
pub const USAGE: &str = "  bench [--only poll,sample,batch,push,overhead,parse,scale,serve] [--jobs FILE] [--seed N] [--debug-build]\n      \
     run the benchmarks (release build), print a table, write target/bench/results.json;\n      \
     --jobs FILE runs the poll section on the job families in FILE (alone, unless --only says more);\n      \
     --seed N runs it on six families of unseen shapes drawn from N (with FILE's, if given), and the\n      \
     sample section (plans on n draws against the plan that knows the distribution) on N's families\n      \
     instead of seeds 1 and 2 (poll and sample alone, unless --only says more);\n      \
     serve needs GENJOB_TEST_POSTGRES_URL (skipped without it)\n";

/// Sections, in run order.
const SECTIONS: [&str; 8] = ["poll", "sample", "batch", "push", "overhead", "parse", "scale", "serve"];

/// Batch scale: jobs, sandbox clock speed.
const BATCH_JOBS: usize = 1_000;
const BATCH_SPEED: f64 = 20.0;
/// Client overhead: rounds per side and their length.
const OVERHEAD_ROUNDS: usize = 4;
const OVERHEAD_ROUND: Duration = Duration::from_millis(1_000);
/// Many watched jobs: jobs, clock speed; the one-job baseline: watches in sequence, clock speed.
const SCALE_JOBS: usize = 10_000;
const SCALE_SPEED: f64 = 10.0;
const SINGLE_WATCHES: usize = 12;
const SINGLE_SPEED: f64 = 400.0;

const SEED: u64 = 20_240_601;

#[derive(Debug)]
struct Args {
    only: Vec<String>,
    debug_build: bool,
    /// Job families for the poll section, instead of the built-in ones.
    jobs: Option<PathBuf>,
    /// Families of unseen shapes drawn from this seed, instead of the built-in ones.
    seed: Option<u64>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed =
        Args { only: SECTIONS.iter().map(|s| (*s).to_owned()).collect(), debug_build: false, jobs: None, seed: None };
    let mut only_given = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--only" => {
                let list = it.next().ok_or("--only needs a comma-separated list of sections")?;
                parsed.only = list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if let Some(bad) = parsed.only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                    return Err(format!("unknown section `{bad}` (known: {})", SECTIONS.join(", ")));
                }
                only_given = true;
            }
            "--jobs" => parsed.jobs = Some(PathBuf::from(it.next().ok_or("--jobs needs a JSON file")?)),
            "--seed" => {
                let seed = it.next().ok_or("--seed needs a number")?;
                parsed.seed = Some(seed.parse().map_err(|_| format!("--seed needs a whole number, not `{seed}`"))?);
            }
            "--debug-build" => parsed.debug_build = true,
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    if !only_given && parsed.seed.is_some() {
        parsed.only = vec!["poll".to_owned(), "sample".to_owned()];
    } else if !only_given && parsed.jobs.is_some() {
        parsed.only = vec!["poll".to_owned()];
    }
    Ok(parsed)
}

/// Entry point of `cargo xtask bench`.
pub fn main(args: &[String]) -> ExitCode {
    // The serve section runs its replicas as this binary again.
    if let Some(code) = serve::replica_from_env() {
        return code;
    }
    let parsed = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) && !parsed.debug_build {
        return rerun_in_release(args);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&parsed)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn rerun_in_release(args: &[String]) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("bench: building and running xtask in release mode (timings of a debug build mean nothing)");
    let status = Command::new(&cargo)
        .args(["run", "--release", "--quiet", "--package", "xtask", "--", "bench"])
        .args(args)
        .current_dir(crate::fixtures::repo_root())
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => ExitCode::from(s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: cannot run `{cargo} run --release`: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One table row.
struct Line {
    section: &'static str,
    case: String,
    result: String,
    goal: String,
    met: Option<bool>,
}

fn line(section: &'static str, case: impl Into<String>, result: impl Into<String>) -> Line {
    Line { section, case: case.into(), result: result.into(), goal: String::new(), met: None }
}

fn goal(mut l: Line, goal: impl Into<String>, met: bool) -> Line {
    l.goal = goal.into();
    l.met = Some(met);
    l
}

async fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let root = crate::fixtures::repo_root();
    let on = |s: &str| args.only.iter().any(|o| o == s);
    let mut lines = Vec::new();
    let mut results = serde_json::Map::new();

    if on("poll") {
        let mut families = match &args.jobs {
            Some(path) => families::from_file(path)?,
            None if args.seed.is_some() => Vec::new(),
            None => families::builtin(),
        };
        families.extend(args.seed.map(families::unseen).unwrap_or_default());
        eprintln!(
            "bench: poll efficiency ({} families, watched as pipelines by the real watcher in simulated time)…",
            families.len()
        );
        let poll_started = Instant::now();
        let (poll_lines, json_rows) = poll::section(&families)?;
        eprintln!("bench: poll section took {:.1} s", poll_started.elapsed().as_secs_f64());
        lines.extend(poll_lines);
        results.insert("poll_efficiency".into(), Value::Array(json_rows));
    }

    if on("sample") {
        let seeds = args.seed.map_or_else(|| sample::DEFAULT_SEEDS.to_vec(), |s| vec![s]);
        let families = sample::families(&seeds);
        eprintln!(
            "bench: sample cost ({} families of seeds {seeds:?}; plans on {:?} draws scored on the truth)…",
            families.len(),
            sample::SIZES
        );
        let sample_started = Instant::now();
        let (sample_lines, json_rows) = sample::section(&families)?;
        eprintln!("bench: sample section took {:.1} s", sample_started.elapsed().as_secs_f64());
        lines.extend(sample_lines);
        results.insert("sample_cost".into(), Value::Array(json_rows));
    }

    if on("batch") {
        eprintln!("bench: batch scale ({BATCH_JOBS} Dreamina videos, sandbox at {BATCH_SPEED}× speed, twice)…");
        let durations = live::uniform_durations(BATCH_JOBS, 60.0, 180.0, SEED);
        let batched = live::dreamina_batch(true, &durations, BATCH_SPEED, SEED).await?;
        let per_job = live::dreamina_batch(false, &durations, BATCH_SPEED, SEED).await?;
        let (rows, json) = batch_rows("", &batched, &per_job, 1.1)?;
        lines.extend(rows);
        results.insert("batch".into(), json);

        eprintln!("bench: batch scale ({BATCH_JOBS} token360 videos, sandbox at {BATCH_SPEED}× speed, twice)…");
        let durations = live::uniform_durations(BATCH_JOBS, 60.0, 180.0, SEED ^ 0x360);
        let batched = live::token360_batch(true, &durations, BATCH_SPEED, SEED).await?;
        let per_job = live::token360_batch(false, &durations, BATCH_SPEED, SEED).await?;
        let (rows, json) = batch_rows("token360 ", &batched, &per_job, 1.3)?;
        lines.extend(rows);
        results.insert("batch_token360".into(), json);
    }

    if on("push") {
        eprintln!(
            "bench: pushed callbacks ({BATCH_JOBS} Dreamina videos at {BATCH_SPEED}× speed, 10 % of callbacks lost, \
             then polling alone)…"
        );
        let (push_lines, json) = push::section().await?;
        lines.extend(push_lines);
        results.insert("push".into(), json);
    }

    if on("overhead") {
        eprintln!("bench: client overhead ({OVERHEAD_ROUNDS} rounds per side, alternating)…");
        let o = live::overhead(OVERHEAD_ROUNDS, OVERHEAD_ROUND).await?;
        let ratio = o.genjob_per_s / o.bare_per_s.max(1e-9);
        lines.push(goal(
            line(
                "overhead",
                "token360 status check",
                format!("genjob {:.0}/s, bare reqwest+Value {:.0}/s, ratio {ratio:.3}", o.genjob_per_s, o.bare_per_s),
            ),
            "ratio ≥ 0.9",
            ratio >= 0.9,
        ));
        results.insert(
            "overhead".into(),
            json!({
                "genjob_per_s": round(o.genjob_per_s, 1),
                "bare_per_s": round(o.bare_per_s, 1),
                "ratio": round(ratio, 4),
            }),
        );
    }

    if on("parse") {
        eprintln!("bench: parse speed (every job-record fixture)…");
        let rows = parse::run(&root)?;
        let mut json_rows = Vec::new();
        for r in &rows {
            let ratio = r.typed_ns / r.value_ns.max(1e-9);
            lines.push(goal(
                line(
                    "parse",
                    r.fixture.clone(),
                    format!("typed+normalize {:.0} ns, Value {:.0} ns, ratio {ratio:.2}", r.typed_ns, r.value_ns),
                ),
                "typed ≤ 1.0× Value",
                ratio <= 1.0,
            ));
            json_rows.push(json!({
                "fixture": r.fixture,
                "typed_ns": round(r.typed_ns, 1),
                "value_ns": round(r.value_ns, 1),
                "ratio": round(ratio, 3),
            }));
        }
        results.insert("parse".into(), Value::Array(json_rows));
    }

    if on("scale") {
        eprintln!(
            "bench: many watched jobs ({SCALE_JOBS} token360 tasks at {SCALE_SPEED}× speed, then {SINGLE_WATCHES} one at a time)…"
        );
        let s = live::scale(SCALE_JOBS, SCALE_SPEED, SINGLE_WATCHES, SINGLE_SPEED, SEED).await?;
        let ratio = s.cpu_ns_per_poll_many / s.cpu_ns_per_poll_one.max(1e-9);
        lines.push(goal(
            line(
                "scale",
                format!("{} token360 jobs: memory", s.jobs),
                format!("{:.0} bytes per watched job", s.bytes_per_job),
            ),
            "≤ 4096 bytes/job",
            s.bytes_per_job <= 4096.0,
        ));
        lines.push(goal(
            line(
                "scale",
                format!("{} token360 jobs: CPU/poll", s.jobs),
                format!(
                    "{:.1} µs/poll ({} polls, {:.1} s real) vs one job {:.1} µs/poll ({} polls), ratio {ratio:.2}",
                    s.cpu_ns_per_poll_many / 1e3,
                    s.polls_many,
                    s.real_many.as_secs_f64(),
                    s.cpu_ns_per_poll_one / 1e3,
                    s.polls_one
                ),
            ),
            "≤ 1.3× one job",
            ratio <= 1.3,
        ));
        results.insert(
            "scale".into(),
            json!({
                "jobs": s.jobs,
                "bytes_per_job": round(s.bytes_per_job, 1),
                "cpu_per_poll_ratio": round(ratio, 3),
            }),
        );
    }

    if on("serve") {
        let (serve_lines, json) = serve::section().await?;
        lines.extend(serve_lines);
        results.insert("serve".into(), json);
    }

    print!("{}", render_table(&lines));
    println!("total run time {:.1} s", started.elapsed().as_secs_f64());
    write_json(&root, &Value::Object(results))
}

/// The two rows and the JSON of one batch comparison: the batched run against the goal
/// (at most `max_rpj` requests per job, no later than per-job polling), then the per-job run.
fn batch_rows(
    label: &str,
    batched: &live::BatchRun,
    per_job: &live::BatchRun,
    max_rpj: f64,
) -> Result<(Vec<Line>, Value), String> {
    for (name, run) in [("batched", batched), ("per-job", per_job)] {
        if run.failures > 0 {
            return Err(format!("{label}batch scale ({name}): {} of {} jobs did not complete", run.failures, run.jobs));
        }
    }
    let per_request = |run: &live::BatchRun| run.requests as f64 / run.jobs.max(1) as f64;
    let describe = |run: &live::BatchRun| {
        format!(
            "{} requests, {:.3} req/job, latency mean {:.2} s ({:.1} s real)",
            run.requests,
            per_request(run),
            run.mean_latency_s,
            run.real.as_secs_f64()
        )
    };
    let rpj = per_request(batched);
    let rows = vec![
        goal(
            line("batch", format!("{} {label}jobs batched", batched.jobs), describe(batched)),
            format!("≤ {max_rpj} req/job, latency ≤ per-job ({:.2} s)", per_job.mean_latency_s),
            rpj <= max_rpj && batched.mean_latency_s <= per_job.mean_latency_s,
        ),
        line("batch", format!("{} {label}jobs per-job", per_job.jobs), describe(per_job)),
    ];
    let json = json!({
        "jobs": batched.jobs,
        "requests_batched": batched.requests,
        "requests_per_job": round(rpj, 4),
        "mean_latency_batched_s": round(batched.mean_latency_s, 3),
        "mean_latency_per_job_s": round(per_job.mean_latency_s, 3),
    });
    Ok((rows, json))
}

/// `work` on every family, each on a thread of its own (as many at once as there are cores), results
/// in family order. Each simulation builds its own paused runtimes, so this may be called from
/// within the bench's runtime.
fn per_family<T: Send>(
    families: &[families::Family],
    work: impl Fn(usize, &families::Family) -> T + Sync,
) -> Result<Vec<T>, String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(families.len()).max(1);
    let done = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(family) = families.get(i) else { break mine };
                        mine.push((i, work(i, family)));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().map_err(|_| "a family's thread panicked".to_owned())).collect::<Vec<_>>()
    });
    let mut results: Vec<Option<T>> = families.iter().map(|_| None).collect();
    for worker in done {
        for (i, result) in worker? {
            results[i] = Some(result);
        }
    }
    results.into_iter().map(|r| r.ok_or_else(|| "a family was left out".to_owned())).collect()
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn write_json(root: &Path, value: &Value) -> Result<(), String> {
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("results.json");
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// A Markdown-compatible table: section | case | result | goal | ✓/✗.
fn render_table(lines: &[Line]) -> String {
    let header = ["section", "case", "result", "goal", "ok"];
    let cells: Vec<[String; 5]> = lines
        .iter()
        .map(|l| {
            let ok = match l.met {
                Some(true) => "✓",
                Some(false) => "✗",
                None => "",
            };
            [l.section.to_owned(), l.case.clone(), l.result.clone(), l.goal.clone(), ok.to_owned()]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt_row = |row: &[String]| {
        let padded: Vec<String> =
            row.iter().zip(widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = fmt_row(&header.map(str::to_owned));
    out.push_str(&format!("|{}|\n", widths.map(|w| "-".repeat(w + 2)).join("|")));
    for row in &cells {
        out.push_str(&fmt_row(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_select_sections() -> Result<(), String> {
        assert_eq!(parse_args(&[])?.only.len(), SECTIONS.len());
        let a = parse_args(&["--only".into(), "poll,parse".into()])?;
        assert_eq!(a.only, ["poll", "parse"]);
        assert!(parse_args(&["--only".into(), "nope".into()]).is_err());
        assert!(parse_args(&["--fast".into()]).is_err());
        // A jobs file runs the poll section alone, unless --only says more.
        let jobs = parse_args(&["--jobs".into(), "f.json".into()])?;
        assert_eq!((jobs.only, jobs.jobs), (vec!["poll".to_owned()], Some(PathBuf::from("f.json"))));
        let both = parse_args(&["--jobs".into(), "f.json".into(), "--only".into(), "poll,parse".into()])?;
        assert_eq!(both.only, ["poll", "parse"]);
        assert!(parse_args(&["--jobs".into()]).is_err());
        // A seed runs the poll and sample sections on the families it draws, unless --only says more.
        let seeded = parse_args(&["--seed".into(), "42".into()])?;
        assert_eq!((seeded.only, seeded.seed), (vec!["poll".to_owned(), "sample".to_owned()], Some(42)));
        let seeded_file = parse_args(&["--jobs".into(), "f.json".into(), "--seed".into(), "42".into()])?;
        assert_eq!(seeded_file.only, ["poll", "sample"]);
        let seeded_only = parse_args(&["--seed".into(), "42".into(), "--only".into(), "sample".into()])?;
        assert_eq!(seeded_only.only, ["sample"]);
        assert!(parse_args(&["--seed".into(), "x".into()]).is_err());
        Ok(())
    }

    #[test]
    fn table_aligns_columns() {
        let t = render_table(&[goal(line("poll", "x", "1"), "g", true), line("parse", "longer case", "2")]);
        let widths: Vec<usize> = t.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{t}");
        assert!(t.contains('✓'));
    }
}
