//! Rendering jobs for people (summaries, tables, live progress) and for programs (one JSON line per job).

use crate::exit::CliError;
use genjob::{Job, JobProgress, JobStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Text from a provider made safe to print on a terminal: control characters (escape sequences,
/// carriage returns, line breaks) and bidirectional-override characters are shown as visible escapes.
///
/// A provider controls job ids, model names, statuses and error messages; printed raw, a model name
/// holding `ESC ] 0;… BEL` would retitle the user's terminal. `--json` output is exact JSON instead.
pub fn safe(text: &str) -> Cow<'_, str> {
    let risky = |c: char| {
        c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(risky) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if risky(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// Writes one line to stdout.
///
/// A line that cannot be written is an error (exit 8): output lost must not look like success. A
/// closed pipe (`genjob … | head`) is one too, reported quietly (see [`CliError::stdout`]).
pub fn stdout_line(line: &str) -> Result<(), CliError> {
    stdout_text(&format!("{line}\n"))
}

/// Writes `text` to stdout as it is, failing like [`stdout_line`].
pub fn stdout_text(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| CliError::stdout(&e))
}

/// The `--json` line of a job: the normalized contract, one object, no newline.
pub fn job_json(job: &Job) -> Result<String, CliError> {
    serde_json::to_string(job).map_err(|e| CliError {
        exit: crate::exit::Exit::InvalidResponse,
        message: format!("cannot render job {} as JSON: {e}", job.id),
    })
}

/// A duration rounded for people: `1m 45s`, `850ms`.
pub fn human_duration(d: Duration) -> String {
    let rounded = if d >= Duration::from_secs(10) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX) / 100 * 100)
    };
    if rounded.is_zero() { "0s".to_owned() } else { humantime::format_duration(rounded).to_string() }
}

/// A readable multi-line description of one job (what `genjob status` prints).
pub fn describe(job: &Job) -> String {
    let mut lines = vec![
        format!("job       {}", safe(&job.id)),
        format!("provider  {}", job.provider),
        format!(
            "status    {}{} (provider: {})",
            job.status,
            job.progress.map(|p| format!(" {p}%")).unwrap_or_default(),
            safe(&job.provider_status)
        ),
    ];
    if let Some(kind) = job.kind {
        lines.push(format!(
            "kind      {}",
            serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        ));
    }
    if let Some(model) = &job.model {
        lines.push(format!("model     {}", safe(model)));
    }
    if let Some(created) = job.created_at {
        lines.push(format!("created   {created}"));
    }
    if let Some(updated) = job.updated_at {
        lines.push(format!("updated   {updated}"));
    }
    for (i, output) in job.outputs.iter().enumerate() {
        lines.push(format!("output {i}  {:?} {}", output.kind, safe(&output.url)));
    }
    if let Some(error) = &job.error {
        lines.push(format!(
            "error     {}{}",
            error.code.as_deref().map(|c| format!("[{}] ", safe(c))).unwrap_or_default(),
            safe(&error.message)
        ));
        if let Some(detail) = &error.detail {
            lines.push(format!("detail    {}", safe(detail)));
        }
    }
    lines.join("\n")
}

/// A short reason for a failed job: `[2043] fail_code: 2043 (OutputVideoRisk)`.
pub fn failure_reason(job: &Job) -> String {
    match &job.error {
        Some(e) => format!(
            "{}{}{}",
            e.code.as_deref().map(|c| format!("[{}] ", safe(c))).unwrap_or_default(),
            safe(&e.message),
            e.detail.as_deref().map(|d| format!(" ({})", safe(d))).unwrap_or_default()
        ),
        None => safe(&job.provider_status).into_owned(),
    }
}

/// Renders rows as an aligned text table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| safe(c).into_owned()).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let render = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let last = i + 1 == cells.len();
            if last {
                line.push_str(cell);
            } else {
                let pad = widths.get(i).copied().unwrap_or(0);
                line.push_str(&format!("{cell:<pad$}  "));
            }
        }
        line.trim_end().to_owned()
    };
    let mut out = vec![render(header.to_vec())];
    out.extend(rows.iter().map(|r| render(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

/// Shortens a long id for a progress line, keeping both ends.
fn short_id(id: &str, max: usize) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= max {
        return id.to_owned();
    }
    let keep = max.saturating_sub(1) / 2;
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[chars.len() - keep..].iter().collect();
    format!("{head}…{tail}")
}

enum Mode {
    /// A terminal: one bar per job, redrawn in place.
    Bars(MultiProgress),
    /// Not a terminal: a plain line when a job's status or progress changes.
    Plain,
    /// `--json`: nothing on stderr but diagnostics.
    Off,
}

/// Live progress on stderr while jobs are watched.
pub struct LiveProgress {
    mode: Mode,
    redactor: Option<crate::redact::Redactor>,
    bars: Vec<ProgressBar>,
    labels: Vec<String>,
    last: Vec<Option<(JobStatus, Option<u8>)>>,
    clock_note: &'static str,
}

impl std::fmt::Debug for LiveProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveProgress").field("jobs", &self.labels.len()).finish_non_exhaustive()
    }
}

impl LiveProgress {
    /// Progress for `ids`; bars on a terminal, plain lines otherwise, nothing when `enabled` is false.
    ///
    /// `clock_note` is appended to times (`" (sim)"` in the demo, where time is simulated).
    pub fn new(ids: &[String], enabled: bool, clock_note: &'static str) -> Self {
        let labels: Vec<String> = ids.iter().map(|id| short_id(&safe(id), 44)).collect();
        let mode = if !enabled {
            Mode::Off
        } else if std::io::stderr().is_terminal() {
            Mode::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Mode::Plain
        };
        let mut bars = Vec::new();
        if let Mode::Bars(multi) = &mode {
            let style = ProgressStyle::with_template("{spinner} {prefix:44} [{bar:20}] {pos:>3}% {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            for label in &labels {
                let bar = multi.add(ProgressBar::new(100).with_style(style.clone()).with_prefix(label.clone()));
                bar.set_message("waiting for the first check");
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.push(bar);
            }
        }
        Self { mode, redactor: None, bars, last: vec![None; labels.len()], labels, clock_note }
    }

    /// Keeps the configured tokens out of everything shown (a note may quote a server or an id).
    pub fn with_redactor(mut self, redactor: crate::redact::Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Text as shown: without tokens, with provider control characters escaped.
    fn shown(&self, text: &str) -> String {
        let text = self.redactor.as_ref().map_or_else(|| text.to_owned(), |r| r.redact(text));
        safe(&text).into_owned()
    }

    /// Shows a progress report.
    pub fn update(&mut self, p: &JobProgress) {
        let message = format!(
            "{} · {} polls · {}{} · next check in {}{}",
            p.status,
            p.polls,
            human_duration(p.elapsed),
            self.clock_note,
            human_duration(p.next_delay),
            p.note.as_deref().map(|n| format!(" · {}", self.shown(n))).unwrap_or_default()
        );
        match &self.mode {
            Mode::Bars(_) => {
                if let Some(bar) = self.bars.get(p.index) {
                    bar.set_position(u64::from(p.progress.unwrap_or(0)));
                    bar.set_message(message);
                }
            }
            Mode::Plain => {
                let now = Some((p.status, p.progress));
                let changed = self.last.get(p.index).is_none_or(|last| *last != now);
                if changed || p.note.is_some() {
                    if let Some(slot) = self.last.get_mut(p.index) {
                        *slot = now;
                    }
                    let label = self.labels.get(p.index).map_or("?", String::as_str);
                    let percent = p.progress.map(|v| format!(" {v}%")).unwrap_or_default();
                    eprintln!("{label}: {}{percent} ({message})", p.status);
                }
            }
            Mode::Off => {}
        }
    }

    /// Marks a job as finished with a one-line summary.
    pub fn finish(&mut self, index: usize, completed: bool, summary: &str) {
        let summary = &*self.shown(summary);
        match &self.mode {
            Mode::Bars(_) => {
                if let Some(bar) = self.bars.get(index) {
                    if completed {
                        bar.set_position(100);
                    }
                    bar.finish_with_message(summary.to_owned());
                }
            }
            Mode::Plain => {
                let label = self.labels.get(index).map_or("?", String::as_str);
                eprintln!("{label}: {summary}");
            }
            Mode::Off => {}
        }
    }

    /// Prints a diagnostic on stderr without tearing the bars.
    pub fn note(&self, line: &str) {
        let line = &*self.shown(line);
        match &self.mode {
            Mode::Bars(multi) => {
                if multi.println(line).is_err() {
                    eprintln!("{line}");
                }
            }
            _ => eprintln!("{line}"),
        }
    }

    /// Removes the bars before the summary is printed.
    pub fn clear(&self) {
        if let Mode::Bars(multi) = &self.mode {
            let _ = multi.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rendered =
            table(&["job", "status"], &[vec!["a".into(), "completed".into()], vec!["long-id".into(), "failed".into()]]);
        assert_eq!(rendered, "job      status\na        completed\nlong-id  failed");
    }

    #[test]
    fn long_ids_keep_both_ends() {
        let short = short_id("j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina", 21);
        assert_eq!(short, "j022314053…t:dreamina");
        assert_eq!(short_id("video_1", 21), "video_1");
    }

    #[test]
    fn provider_text_cannot_drive_the_terminal() {
        let hostile = "seedance\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n\u{202e}evil";
        let shown = safe(hostile);
        assert!(!shown.chars().any(|c| c.is_control() || c == '\u{202e}'), "{shown}");
        assert_eq!(shown, "seedance\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{d}\\u{a}\\u{202e}evil");
        assert!(matches!(safe("plain ünïcode ✓"), Cow::Borrowed(_)));
        let cell = table(&["model"], &[vec![hostile.to_owned()]]);
        assert!(!cell.contains('\u{1b}'), "{cell}");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(105_400)), "1m 45s");
        assert_eq!(human_duration(Duration::from_millis(850)), "800ms");
        assert_eq!(human_duration(Duration::ZERO), "0s");
    }
}
