//! The dashboard in a real browser: Chromium, headless, driven through chromedriver (WebDriver)
//! against a sandbox-backed server on 127.0.0.1. It signs in, reads the counts, sees a job finish
//! live, follows a failure to its job's page, and finds provider text with HTML in it shown as text.
//! Without JavaScript the same page is complete (read here with a plain HTTP client).
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); skips, saying why, only when
//! there is no chromium binary.

use crate::common::{API_TOKEN, Api, sandbox};
use fantoccini::{Client, Locator};
use genjob_sandbox::{Failure, JobSpec, Sandbox};
use genjob_server::RunningServer;
use genjob_testkit::browser::{self, Driver};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A label and an error message carrying markup: they must show as text.
const HTML_LABEL: &str = "<i>night</i> & <script>window.pwned=1</script>";
const HTML_ERROR: &str = "<b>risky</b> <img src=x onerror=\"window.pwned=2\">";

/// The text of the first element matching `css`. The live script replaces the page's live part
/// as events arrive, so an element found may be gone before its text is read: find it again.
async fn text(client: &Client, css: &str) -> String {
    let mut last = String::new();
    for _ in 0..20 {
        match client.find(Locator::Css(css)).await {
            Ok(element) => match element.text().await {
                Ok(text) => return text,
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css}: {last}")
}

async fn script(client: &Client, js: &str) -> Value {
    client.execute(js, Vec::new()).await.unwrap_or_else(|e| panic!("{js}: {e}"))
}

/// Estimates as if 60 token360 videos had finished, in 1 to 4 minutes (most near 2).
fn learned_videos() -> genjob::SharedEstimates {
    use genjob::{DurationEstimates, DurationKey, JobKind, Provider, SharedEstimates};
    let learning = SharedEstimates::new(DurationEstimates::new());
    let key = DurationKey::for_kind(Provider::Token360, Some(JobKind::Video));
    for i in 0..60u64 {
        // A spread with a peak: the sum of three even spreads.
        let took = 70 + (i * 37) % 41 + (i * 53) % 43 + (i * 71) % 47;
        learning.record_finished(&key, &format!("video_learned_{i}"), Duration::from_secs(took));
    }
    learning
}

/// A server over a SQLite file in `dir` watching `sandbox`, with what an earlier day taught its
/// watcher, so the overview draws a distribution.
async fn server_that_learned(sandbox: &Sandbox, dir: &Path) -> RunningServer {
    let watcher = crate::common::watcher(sandbox).with_learning(learned_videos());
    let schedule = genjob_server::webhook::RetrySchedule::new(vec![Duration::from_millis(300); 3]);
    crate::common::server_watching(&dir.join("genjob.db"), watcher, schedule).await
}

/// Where the screenshot goes: `<target dir>/dashboard/overview.png`.
fn screenshot_path() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("dashboard").join("overview.png")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_real_browser() {
    let Some(chromium) = browser::chromium() else {
        eprintln!("skipping the browser test: no chromium binary on the PATH ({})", browser::INSTALL_HINT);
        return;
    };
    let chromedriver = browser::chromedriver()
        .unwrap_or_else(|| panic!("chromium is installed but chromedriver is not: {}", browser::INSTALL_HINT));

    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server_that_learned(&sandbox, dir.path()).await;
    let api = Api::new(&server);
    let base = format!("http://{}", server.addr());

    let done = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(30)).with_age(Duration::from_secs(600)));
    let failed = sandbox.add_job(
        JobSpec::token360_video()
            .with_duration(Duration::from_secs(20))
            .with_age(Duration::from_secs(60))
            .failing(Failure::new(2043, HTML_ERROR)),
    );
    // Finishes while the browser watches.
    let later = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(16)).with_age(Duration::from_secs(1)));
    for job in [&done, &failed, &later] {
        let body = json!({"job_id": job, "provider": "token360", "labels": {"batch": HTML_LABEL}});
        assert_eq!(api.post(body).await.status, 201);
    }
    let failed_watch = api.wait_final(&failed).await;
    assert_eq!(failed_watch["status"], "failed", "{failed_watch}");
    let message = failed_watch["job"]["error"]["message"].as_str().expect("a failure message").to_owned();
    assert!(message.contains("<b>risky</b>"), "the provider's message carries markup: {message}");
    assert_eq!(api.wait_final(&done).await["status"], "completed");

    // Without JavaScript: the page is complete as served, and markup arrives escaped.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let unsigned = http.get(format!("{base}/")).send().await.expect("an answer");
    assert_eq!(unsigned.status(), 401, "the page needs a session");
    let refused =
        http.post(format!("{base}/login")).form(&[("token", "not-the-token-at-all")]).send().await.expect("an answer");
    assert_eq!(refused.status(), 401);
    let login = http.post(format!("{base}/login")).form(&[("token", API_TOKEN)]).send().await.expect("an answer");
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().expect("a cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains(API_TOKEN), "the cookie is derived from the token, not the token");
    let session = cookie.split(';').next().expect("name=value").to_owned();
    let page = http.get(format!("{base}/")).header("cookie", &session).send().await.expect("an answer");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().expect("a policy").to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.expect("the page");
    assert!(html.contains("&lt;b&gt;risky&lt;/b&gt;"), "the message is escaped");
    assert!(!html.contains("<b>risky") && !html.contains("<script>window.pwned"), "no provider markup is markup");
    assert!(html.contains(r#"id="count-completed">1<"#), "counts are in the served page");
    let missing = http.get(format!("{base}/jobs/nope")).header("cookie", &session).send().await.expect("an answer");
    assert_eq!(missing.status(), 404);
    assert!(missing.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/html")));

    // In the browser: sign in through the form, which also keeps the token for the live stream.
    let profile = tempfile::tempdir().expect("a profile dir");
    let driver = Driver::start(&chromedriver).await.expect("chromedriver");
    let client = driver.browser(&chromium, profile.path()).await.expect("a browser session");
    sign_in(&client, &base).await;
    assert_eq!(text(&client, "#count-total").await, "3");
    assert_eq!(text(&client, "#count-completed").await, "1");
    assert_eq!(text(&client, "#count-failed").await, "1");
    let queued: u64 = text(&client, "#count-queued").await.parse().expect("a number");
    let running: u64 = text(&client, "#count-running").await.parse().expect("a number");
    let watching = queued + running;
    assert_eq!(watching, 1);

    // Provider text is text: the failure's message, and the label, exactly as given.
    assert_eq!(text(&client, "#failures .message").await, message);
    assert_eq!(text(&client, "#failures .code").await, "2043");
    assert!(text(&client, ".label-name").await.contains(HTML_LABEL), "the label shows as written");
    let injected = script(
        &client,
        "return [window.pwned === undefined, document.querySelectorAll('#failures b, #labels i, main script').length]",
    )
    .await;
    assert_eq!(injected, json!([true, 0]), "nothing from a provider ran or became an element");

    // Live: the stream is followed, and a job that finishes shows within 2 s.
    for _ in 0..50 {
        if script(&client, "return document.getElementById('live-status').dataset.live").await == "on" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shot = screenshot_path();
    std::fs::create_dir_all(shot.parent().expect("a directory")).expect("the screenshot directory");
    std::fs::write(&shot, client.screenshot().await.expect("a screenshot")).expect("the screenshot written");
    eprintln!("overview screenshot: {}", shot.display());

    let finished = api.wait_within(&later, Duration::from_secs(60), |w| w["status"] != "watching").await;
    let seen_final = Instant::now();
    assert_eq!(finished["status"], "completed", "{finished}");
    loop {
        if text(&client, "#count-completed").await == "2" {
            break;
        }
        assert!(seen_final.elapsed() < Duration::from_secs(2), "the page did not show the finished job within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("the page showed the finished job {:?} after the API did", seen_final.elapsed());

    // A failure's job id leads to its page: the reason, the history, all as text.
    client.find(Locator::Css("#failures ul.jobs a")).await.expect("a job link").click().await.expect("followed");
    client.wait().for_element(Locator::Id("job-error")).await.expect("the job's page");
    assert_eq!(text(&client, "h1.job-id").await, failed);
    assert!(text(&client, "#job-error").await.contains(&message), "the reason, as text");
    let history = text(&client, "#history").await;
    assert!(history.contains("watch.created") && history.contains("watch.failed"), "{history}");
    assert!(text(&client, "dd.label-value").await.contains(HTML_LABEL));

    client.close().await.expect("the browser closes");
    drop(driver);
    server.shutdown().await;
}

/// Signs `client` in through the form at `base`.
async fn sign_in(client: &Client, base: &str) {
    client.goto(&format!("{base}/login")).await.expect("the sign-in page");
    let form = client.form(Locator::Id("login-form")).await.expect("the sign-in form");
    form.set_by_name("token", API_TOKEN).await.expect("the token typed");
    form.submit().await.expect("submitted");
    client.wait().for_element(Locator::Id("count-total")).await.expect("the overview");
}

/// Signs in through the form without a browser; returns the session cookie (`name=value`).
async fn session_cookie(http: &reqwest::Client, base: &str) -> String {
    let login = http.post(format!("{base}/login")).form(&[("token", API_TOKEN)]).send().await.expect("an answer");
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().expect("a cookie");
    cookie.split(';').next().expect("name=value").to_owned()
}

/// Without a browser: a kept file is served only with a session and only from the output
/// directory, the job's page previews it, and what the watcher learned is drawn with its median.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_files_and_learned_durations_on_the_pages() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server_that_learned(&sandbox, dir.path()).await;
    let api = Api::new(&server);
    let base = format!("http://{}", server.addr());

    let job = sandbox
        .add_job(JobSpec::token360_video().with_duration(Duration::from_secs(30)).with_age(Duration::from_secs(600)));
    assert_eq!(api.post(json!({"job_id": job, "provider": "token360", "download": true})).await.status, 201);
    let watch = api.wait_until(&job, |w| w["download_state"] == "kept").await;
    let kept = watch["outputs"][0]["path"].as_str().expect("a kept file").to_owned();

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let session = session_cookie(&http, &base).await;
    let file = format!("{base}/jobs/{job}/files/0");
    assert_eq!(http.get(&file).send().await.expect("an answer").status(), 401, "files need a session too");
    let served = http.get(&file).header("cookie", &session).send().await.expect("an answer");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "video/mp4");
    let bytes = served.bytes().await.expect("the file");
    assert_eq!(bytes.as_ref(), std::fs::read(&kept).expect("the kept file").as_slice());
    for missing in ["1", "x", "99999999999999999999999"] {
        let answer = http.get(format!("{base}/jobs/{job}/files/{missing}")).header("cookie", &session).send().await;
        assert_eq!(answer.expect("an answer").status(), 404, "{missing}");
    }
    let page = http.get(format!("{base}/jobs/{job}")).header("cookie", &session).send().await.expect("an answer");
    let html = page.text().await.expect("the page");
    assert!(html.contains(&format!(r#"<video src="/jobs/{job}/files/0""#)), "a video preview of the kept file");

    let overview = http.get(format!("{base}/")).header("cookie", &session).send().await.expect("an answer");
    let html = overview.text().await.expect("the page");
    assert!(html.contains("token360 · video"), "the learned key is named");
    assert!(html.contains(r#"<svg class="histogram""#) && html.contains(r#"<line class="median""#), "drawn");
    assert!(!html.contains("median <span class=\"median\">—"), "the median is known");

    // A forged or expired cookie is no session.
    let forged = http.get(format!("{base}/")).header("cookie", "genjob_session=99999999999.00").send().await;
    assert_eq!(forged.expect("an answer").status(), 401);
    server.shutdown().await;
}
