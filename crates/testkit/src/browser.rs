//! Headless Chromium driven through chromedriver (WebDriver): the dashboard's browser tests and
//! the bench's render measurement start it the same way.

use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The first of `names` found on the PATH, or the file `env` names when it is set.
pub fn find(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env).map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The Chromium binary (`GENJOB_CHROMIUM`, or `chromium`, `chromium-browser`, `google-chrome`).
pub fn chromium() -> Option<PathBuf> {
    find("GENJOB_CHROMIUM", &["chromium", "chromium-browser", "google-chrome"])
}

/// The chromedriver binary (`GENJOB_CHROMEDRIVER`, or `chromedriver` on the PATH).
pub fn chromedriver() -> Option<PathBuf> {
    find("GENJOB_CHROMEDRIVER", &["chromedriver"])
}

/// What to install when a binary is missing.
pub const INSTALL_HINT: &str = "apt-get install chromium chromium-driver (.ci/run installs them)";

/// chromedriver on a free port of 127.0.0.1, stopped when dropped.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts `chromedriver` and waits (up to 10 s) until it answers.
    pub async fn start(chromedriver: &Path) -> Result<Driver, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for chromedriver: {e}"))?
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", chromedriver.display()))?;
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        for _ in 0..100 {
            if reqwest::get(format!("{}/status", driver.url)).await.is_ok_and(|r| r.status().is_success()) {
                return Ok(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("chromedriver did not answer within 10 s".to_owned())
    }

    /// A headless Chromium session with its profile in `profile`, its window 1280×1100.
    pub async fn browser(&self, chromium: &Path, profile: &Path) -> Result<Client, String> {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                // As root the sandbox must be off; the rest keeps Chromium from calling hosts a
                // closed network refuses.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,1100", format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .map_err(|e| format!("no browser session from chromedriver: {e}"))
    }
}
