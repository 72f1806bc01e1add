//! The dashboard in the serve section: the overview's render time in headless Chromium over a
//! 10,000-watch store, and what the requests the page makes get while replicas are killed.

use fantoccini::Locator;
use genjob_testkit::browser::{self, Driver};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Loads of the overview measured; their median is reported.
const LOADS: usize = 5;
/// The longest a page request may take under chaos before it counts as hung.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// The overview's render time at `base`: signed in through the form in headless Chromium, then
/// [`LOADS`] loads of `/`, each `loadEventEnd - startTime` of its navigation entry, in ms.
pub async fn render_ms(base: &str, token: &str) -> Result<Vec<f64>, String> {
    let chromium = browser::chromium().ok_or_else(|| format!("no chromium binary: {}", browser::INSTALL_HINT))?;
    let chromedriver =
        browser::chromedriver().ok_or_else(|| format!("no chromedriver binary: {}", browser::INSTALL_HINT))?;
    let profile = super::serve::TempDir::new("chromium")?;
    let driver = Driver::start(&chromedriver).await?;
    let client = driver.browser(&chromium, &profile.0).await?;
    let measured = async {
        let fail = |what: &str, e: fantoccini::error::CmdError| format!("the dashboard in Chromium: {what}: {e}");
        client.goto(&format!("{base}/login")).await.map_err(|e| fail("the sign-in page", e))?;
        let form = client.form(Locator::Id("login-form")).await.map_err(|e| fail("the sign-in form", e))?;
        form.set_by_name("token", token).await.map_err(|e| fail("the token typed", e))?;
        form.submit().await.map_err(|e| fail("signing in", e))?;
        client.wait().for_element(Locator::Id("count-total")).await.map_err(|e| fail("the overview", e))?;
        let mut loads = Vec::with_capacity(LOADS);
        for _ in 0..LOADS {
            client.goto(&format!("{base}/")).await.map_err(|e| fail("loading the overview", e))?;
            client.find(Locator::Id("count-total")).await.map_err(|e| fail("the overview's counts", e))?;
            // The load event may still be running when the driver answers: read once it ended.
            let mut took = 0.0;
            for _ in 0..100 {
                let value = client
                    .execute(
                        "const n = performance.getEntriesByType('navigation')[0]; \
                         return n && n.loadEventEnd > 0 ? n.loadEventEnd - n.startTime : 0;",
                        Vec::new(),
                    )
                    .await
                    .map_err(|e| fail("its navigation timing", e))?;
                took = value.as_f64().unwrap_or(0.0);
                if took > 0.0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if took <= 0.0 {
                return Err("the overview's load event did not end within 2 s of the page loading".to_owned());
            }
            loads.push(took);
        }
        Ok(loads)
    }
    .await;
    let _ = client.close().await;
    measured
}

/// The median of `values` (0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// What the page's requests got while replicas were killed.
#[derive(Debug, Default, Clone)]
pub struct PageVisits {
    /// Requests answered.
    pub answered: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
    /// Requests that found no replica (killed before or while they were sent).
    pub unreachable: u64,
    /// Requests with no answer within [`PAGE_TIMEOUT`].
    pub hung: u64,
    /// The first 5xx: its request and status, to say in the report.
    pub first_error: Option<String>,
}

/// Makes, until `stop`, the requests the dashboard makes to each replica in `bases`: the sign-in
/// form, the overview (the page and its live re-render), its script and style, a job's page, a kept
/// file, and the live stream of events. Every 250 ms, round after round, `jobs` taken in turn.
pub async fn visit(
    bases: Arc<Mutex<Vec<String>>>,
    jobs: Vec<String>,
    token: String,
    stop: Arc<AtomicBool>,
) -> PageVisits {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(PAGE_TIMEOUT)
        .build()
        .unwrap_or_default();
    let mut visits = PageVisits::default();
    let mut turn = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let now: Vec<String> = bases.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for base in now {
            let job = jobs.get(turn % jobs.len().max(1)).map(|id| {
                let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
                encoded.replace('+', "%20")
            });
            turn += 1;
            let login = http.post(format!("{base}/login")).form(&[("token", token.as_str())]).send().await;
            let cookie = login
                .as_ref()
                .ok()
                .and_then(|r| r.headers().get("set-cookie")?.to_str().ok()?.split(';').next().map(str::to_owned));
            visits.record("POST /login", login);
            let Some(cookie) = cookie else { continue };
            let mut pages = vec!["/".to_owned(), "/assets/app.js".to_owned(), "/assets/app.css".to_owned()];
            if let Some(job) = &job {
                pages.push(format!("/jobs/{job}"));
                pages.push(format!("/jobs/{job}/files/0"));
            }
            for page in pages {
                let answer = http.get(format!("{base}{page}")).header("cookie", &cookie).send().await;
                visits.record(&format!("GET {page}"), answer);
            }
            // The live stream: its answer's status is what counts; the stream itself is left.
            let events = http
                .get(format!("{base}/v1/events"))
                .bearer_auth(&token)
                .header("accept", "text/event-stream")
                .send()
                .await;
            visits.record("GET /v1/events", events);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    visits
}

impl PageVisits {
    fn record(&mut self, request: &str, answer: Result<reqwest::Response, reqwest::Error>) {
        match answer {
            Ok(response) => {
                self.answered += 1;
                if response.status().is_server_error() {
                    self.server_errors += 1;
                    self.first_error.get_or_insert_with(|| format!("{request}: {}", response.status()));
                }
            }
            Err(e) if e.is_timeout() => self.hung += 1,
            Err(_) => self.unreachable += 1,
        }
    }
}
