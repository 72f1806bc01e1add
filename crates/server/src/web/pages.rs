//! The dashboard's HTML, rendered by maud: every value interpolated is escaped by the template
//! (provider messages, labels, job ids may hold markup; they show as text).

use crate::db::dashboard::{DeliveryRow, HistoryRow, Overview, StateCounts};
use crate::db::{WatchRow, WatchState};
use maud::{DOCTYPE, Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What is escaped in a job id put in a path: all but `-`, `_`, `~` and alphanumerics (a `.` too,
/// so an id `..` cannot become a relative path).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// What the overview shows of one learned duration key.
#[derive(Debug, Clone)]
pub(crate) struct Learned {
    /// `provider · kind · model`.
    pub(crate) name: String,
    /// Finished and still-running samples behind it.
    pub(crate) finished: u32,
    /// Still-running samples behind it.
    pub(crate) running: u32,
    /// Median and 90th percentile (seconds), when within what was seen.
    pub(crate) median: Option<f64>,
    /// The 90th percentile (seconds).
    pub(crate) p90: Option<f64>,
    /// The share of jobs finishing in each of [`BINS`] equal bins up to `horizon`.
    pub(crate) bins: Vec<f64>,
    /// The latest finish seen (seconds).
    pub(crate) horizon: f64,
}

/// Bins of a histogram.
pub(crate) const BINS: usize = 24;

/// The path of a job's page.
pub(crate) fn job_href(job_id: &str) -> String {
    format!("/jobs/{}", utf8_percent_encode(job_id, SEGMENT))
}

/// A Unix-ms time as `2026-12-03 10:48:13 UTC`.
pub(crate) fn time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => {
            let text = t.to_string();
            format!("{} UTC", text.get(..19).unwrap_or(&text).replace('T', " "))
        }
        Err(_) => "—".to_owned(),
    }
}

/// A Unix-ms time as RFC 3339, for `<time datetime>`.
fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default()
}

/// How far `ms` is from `now_ms`, in words (`in 3 s`, `2 min ago`).
pub(crate) fn relative(ms: i64, now_ms: i64) -> String {
    let delta = (ms - now_ms) / 1000;
    let abs = delta.unsigned_abs();
    let amount = match abs {
        0..60 => format!("{abs} s"),
        60..3600 => format!("{} min", abs / 60),
        _ => format!("{} h {} min", abs / 3600, abs % 3600 / 60),
    };
    if delta >= 0 { format!("in {amount}") } else { format!("{amount} ago") }
}

fn seconds(s: f64) -> String {
    if s < 120.0 { format!("{s:.0} s") } else { format!("{:.1} min", s / 60.0) }
}

/// The page around `body`: one stylesheet and one script of our own, nothing from elsewhere.
pub(crate) fn layout(title: &str, signed_in: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · genjob" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "genjob" }
                    span.title { (title) }
                    @if signed_in {
                        form #logout-form method="post" action="/logout" { button type="submit" { "Sign out" } }
                    }
                }
                (body)
            }
        }
    }
}

/// The sign-in form; `problem` says why the last attempt was refused.
pub(crate) fn login(problem: Option<&str>) -> Markup {
    layout(
        "Sign in",
        false,
        html! {
            main.narrow {
                h1 { "Sign in" }
                p { "Give this server's API token (GENJOB_SERVER_TOKEN). The browser keeps a session cookie \
                     derived from it for 12 hours; this tab also keeps the token for the live updates." }
                @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
                form #login-form method="post" action="/login" {
                    label for="token" { "API token" }
                    input #token type="password" name="token" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// A plain error page.
pub(crate) fn error(title: &str, message: &str, signed_in: bool) -> Markup {
    layout(
        title,
        signed_in,
        html! {
            main.narrow {
                h1 { (title) }
                p { (message) }
                p { a href="/" { "Back to the overview" } }
            }
        },
    )
}

fn counts_block(counts: &StateCounts) -> Markup {
    let items: [(&str, &str, u64); 5] = [
        ("queued", "queued", counts.queued),
        ("running", "running", counts.running),
        ("completed", "completed", counts.completed),
        ("failed", "failed", counts.failed),
        ("error", "expired / error", counts.error),
    ];
    html! {
        div.counts {
            @for (state, name, n) in items {
                div.count data-state=(state) {
                    span.n #{"count-" (state)} { (n) }
                    span.label { (name) }
                }
            }
            div.count data-state="total" {
                span.n #count-total { (counts.total()) }
                span.label { "total" }
            }
        }
    }
}

fn histogram(learned: &Learned) -> Markup {
    const W: f64 = 360.0;
    const H: f64 = 90.0;
    let top = learned.bins.iter().copied().fold(0.0_f64, f64::max).max(f64::EPSILON);
    let bar = W / BINS as f64;
    let x_of = |s: f64| (s / learned.horizon.max(f64::EPSILON) * W).clamp(0.0, W);
    html! {
        svg.histogram viewBox={"0 0 " (W) " " (H + 16.0)} width=(W) height=(H + 16.0) role="img"
            aria-label={"Time to finish of " (learned.name)} {
            @for (i, share) in learned.bins.iter().enumerate() {
                @let h = share / top * H;
                rect x=(format!("{:.1}", i as f64 * bar + 1.0)) y=(format!("{:.1}", H - h)) width=(format!("{:.1}", bar - 2.0))
                    height=(format!("{:.1}", h)) { title { (format!("{:.0}% of jobs", share * 100.0)) } }
            }
            @if let Some(m) = learned.median {
                line.median x1=(format!("{:.1}", x_of(m))) x2=(format!("{:.1}", x_of(m))) y1="0" y2=(H) {}
            }
            @if let Some(p) = learned.p90 {
                line.p90 x1=(format!("{:.1}", x_of(p))) x2=(format!("{:.1}", x_of(p))) y1="0" y2=(H) {}
            }
            text x="0" y=(H + 13.0) { "0" }
            text x=(W) y=(H + 13.0) text-anchor="end" { (seconds(learned.horizon)) }
        }
    }
}

/// The overview: counts, labels, failures, learned durations, next checks. `after`: the newest
/// event when it was read (the live script follows the stream from there, missing nothing).
pub(crate) fn overview(o: &Overview, learned: &[Learned], after: i64, now_ms: i64) -> Markup {
    layout(
        "Overview",
        true,
        html! {
            main #live data-after=(after) {
                p.live-status #live-status { "Live updates need JavaScript; reload to refresh." }
                section #states {
                    h2 { "Watches" }
                    (counts_block(&o.counts))
                }
                section #labels {
                    h2 { "By label" }
                    @if o.labels.is_empty() { p.empty { "No watch has a label." } }
                    @else {
                        table {
                            thead { tr { th { "Label" } th { "Done" } th { "Progress" } th { "Failed" } th { "Watching" } } }
                            tbody {
                                @for l in &o.labels {
                                    @let done = l.counts.completed + l.counts.failed + l.counts.error;
                                    tr.label-row {
                                        td.label-name { code { (l.key) } "=" code { (l.value) } }
                                        td.label-done { (done) " / " (l.counts.total()) }
                                        td { progress value=(done) max=(l.counts.total().max(1)) { (done) " of " (l.counts.total()) } }
                                        td { (l.counts.failed + l.counts.error) }
                                        td { (l.counts.queued + l.counts.running) }
                                    }
                                }
                            }
                        }
                        @if o.more_labels { p.note { "More labels than shown; filter with GET /v1/watches?label=key:value." } }
                    }
                }
                section #failures {
                    h2 { "Failures by reason" }
                    @if o.failures.is_empty() { p.empty { "No failures." } }
                    @for f in &o.failures {
                        div.failure {
                            h3 {
                                span.times { (f.count) "×" }
                                " "
                                @if let Some(code) = &f.code { span.code { (code) } " " }
                                span.message { (f.message) }
                                @if let Some(detail) = &f.detail { " " span.detail { "(" (detail) ")" } }
                                " " span.state { (f.state) }
                            }
                            ul.jobs {
                                @for id in &f.job_ids { li { a href=(job_href(id)) { (id) } } }
                                @if f.count > f.job_ids.len() as u64 { li.more { "… and " (f.count - f.job_ids.len() as u64) " more" } }
                            }
                        }
                    }
                }
                section #durations {
                    h2 { "Time to finish" }
                    @if learned.is_empty() { p.empty { "Nothing learned yet: estimates appear once jobs of a provider and model finish." } }
                    @for l in learned {
                        figure.duration {
                            figcaption {
                                strong { (l.name) }
                                " — median " span.median { (l.median.map_or("—".to_owned(), seconds)) }
                                ", p90 " span.p90 { (l.p90.map_or("—".to_owned(), seconds)) }
                                " (" (l.finished) " finished, " (l.running) " running)"
                            }
                            (histogram(l))
                        }
                    }
                }
                section #checks {
                    h2 { "Next checks" }
                    @if o.providers.is_empty() { p.empty { "Nothing is being watched." } }
                    @else {
                        table {
                            thead { tr { th { "Provider" } th { "Watching" } th { "Next check" } } }
                            tbody {
                                @for p in &o.providers {
                                    tr {
                                        td { (p.provider) }
                                        td { (p.watching) }
                                        td { @if let Some(at) = p.next_check_at { time datetime=(iso(at)) title=(time(at)) { (relative(at, now_ms)) } } @else { "—" } }
                                    }
                                }
                            }
                        }
                        h3 { "Soonest" }
                        ul.next-checks {
                            @for c in &o.next_checks {
                                li {
                                    a href=(job_href(&c.job_id)) { (c.job_id) }
                                    " (" (c.provider) ", " (c.job_status.as_deref().unwrap_or("not read yet")) "): "
                                    @if let Some(at) = c.next_check_at { (relative(at, now_ms)) } @else { "—" }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn state_word(state: WatchState) -> &'static str {
    state.as_str()
}

/// Only http(s) links are links: a provider's `javascript:` URL stays text.
fn safe_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// A job's page.
pub(crate) fn job(w: &WatchRow, history: &[HistoryRow], deliveries: &[DeliveryRow], after: i64, now_ms: i64) -> Markup {
    let job_json = w.job.as_ref().and_then(|j| serde_json::to_string_pretty(j).ok());
    let error = w.job.as_ref().and_then(|j| j.get("error")).filter(|e| !e.is_null());
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_owned));
    html! {
        (layout(&format!("Job {}", w.new.job_id), true, html! {
            main #live data-after=(after) data-job-id=(w.new.job_id) {
                p.live-status #live-status { "Live updates need JavaScript; reload to refresh." }
                h1.job-id { (w.new.job_id) }
                dl.record {
                    dt { "Provider" } dd { (w.new.provider.as_str()) }
                    dt { "State" } dd #job-state data-state=(state_word(w.state)) { (state_word(w.state)) }
                    dt { "Status" } dd { (w.job_status.as_deref().unwrap_or("not read yet")) }
                    @if let Some(p) = w.progress { dt { "Progress" } dd { progress value=(p) max="100" { (p) "%" } " " (p) "%" } }
                    dt { "Record reads" } dd { (w.polls) }
                    @if let Some(at) = w.next_check_at.filter(|_| w.state == WatchState::Watching) {
                        dt { "Next check" } dd { (time(at)) " (" (relative(at, now_ms)) ")" }
                    }
                    dt { "Added" } dd { (time(w.created_at)) }
                    dt { "Updated" } dd { (time(w.updated_at)) }
                    @for (k, v) in &w.new.labels { dt { "Label " code { (k) } } dd.label-value { (v) } }
                    @if let Some(e) = error {
                        dt { "Reason" }
                        dd #job-error {
                            @if let Some(code) = text(e.get("code")) { span.code { (code) } " " }
                            span.message { (text(e.get("message")).unwrap_or_default()) }
                            @if let Some(detail) = text(e.get("detail")) { " (" (detail) ")" }
                        }
                    }
                    @if let Some(e) = &w.error { dt { "Trouble" } dd #watch-error { (e) } }
                    @if let Some(d) = w.download_state {
                        dt { "Files" } dd { (d.as_str()) @if let Some(e) = &w.download_error { ": " (e) } }
                    }
                }
                section #outputs {
                    h2 { "Outputs" }
                    @if w.outputs.is_empty() { p.empty { "None yet." } }
                    @for (i, o) in w.outputs.iter().enumerate() {
                        @let file = format!("{}/files/{i}", job_href(&w.new.job_id));
                        div.output {
                            p {
                                (o.kind) " #" (i) ": "
                                @if o.path.is_some() { a href=(file) { "kept file" } " " }
                                @if let Some(url) = o.url.as_deref() {
                                    @if safe_link(url) { a href=(url) rel="noreferrer noopener" { "provider link" } }
                                    @else { code { (url) } }
                                }
                            }
                            @if o.path.is_some() {
                                @if o.kind.starts_with("image") { img src=(file) alt={"output " (i)} loading="lazy"; }
                                @else if o.kind.starts_with("video") { video src=(file) controls preload="metadata" {} }
                            }
                        }
                    }
                }
                section #history {
                    h2 { "History" }
                    @if history.is_empty() { p.empty { "No events kept (the log is pruned by age)." } }
                    @else {
                        table {
                            thead { tr { th { "Time" } th { "Event" } th { "State" } th { "Status" } th { "Progress" } } }
                            tbody {
                                @for h in history {
                                    tr {
                                        td { (time(h.created_at)) }
                                        td { (h.event_type) }
                                        td { (h.state.as_deref().unwrap_or("")) }
                                        td { (h.job_status.as_deref().unwrap_or("")) }
                                        td { @if let Some(p) = h.progress { (p) "%" } }
                                    }
                                }
                            }
                        }
                    }
                }
                section #deliveries {
                    h2 { "Webhook deliveries" }
                    @if deliveries.is_empty() { p.empty { "None." } }
                    @else {
                        table {
                            thead { tr { th { "Id" } th { "To" } th { "Attempts" } th { "Outcome" } th { "Last answer" } } }
                            tbody {
                                @for d in deliveries {
                                    tr {
                                        td { code { (d.id) } }
                                        td { (d.url) }
                                        td { (d.attempts) }
                                        td {
                                            @if let Some(at) = d.delivered_at { "delivered " (time(at)) }
                                            @else if let Some(at) = d.given_up_at { "given up " (time(at)) }
                                            @else if let Some(at) = d.next_attempt_at { "next attempt " (relative(at, now_ms)) }
                                            @else { "pending" }
                                        }
                                        td { (d.last_error.as_deref().unwrap_or(if d.delivered_at.is_some() { "2xx" } else { "" })) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(json) = job_json {
                    section #record { h2 { "Normalized record" } pre { (json) } }
                }
            }
        }))
    }
}
