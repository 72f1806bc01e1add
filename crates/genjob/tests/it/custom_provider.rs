//! A provider genjob has never heard of, written in a few lines against `JobSource`, served by a real
//! server on 127.0.0.1, watched and downloaded by the unchanged watcher and downloader.

use async_trait::async_trait;
use futures::StreamExt;
use genjob::policy::FixedInterval;
use genjob::transport::{HttpClient, TransportConfig};
use genjob::{
    ApiToken, DownloadError, DownloadPlan, FetchedJob, Job, JobId, JobListing, JobSource, JobStatus, ListingEntry,
    ListingPage, ListingScope, Output, OutputKind, Provider, TransportError, WaitError, WatchEvent, WatchOptions,
    WatchTarget, Watcher,
};
use genjob_models::{CustomRecord, ProviderRecord};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ACME: Provider = Provider::Custom("acme");
const TOKEN: &str = "acme-secret-token";

/// The whole adapter: a path, a decoding, a listing.
#[derive(Debug)]
struct Acme {
    http: HttpClient,
    /// When true, resolving a job's files panics: a bug in an adapter.
    broken_outputs: bool,
}

fn acme_job(value: &Value) -> Job {
    let status = match value["state"].as_str() {
        Some("done") => JobStatus::Completed,
        Some("broken") => JobStatus::Failed,
        Some("working") => JobStatus::Running,
        _ => JobStatus::Queued,
    };
    let mut job: Job = serde_json::from_value(json!({
        "provider": "token360", "id": value["id"], "kind": "image", "status": "queued",
        "provider_status": value["state"], "model": null, "created_at": null, "updated_at": null,
        "progress": null, "outputs": [], "error": null,
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    job.provider = ACME;
    job.status = status;
    if let Some(file) = value["file"].as_str() {
        job.outputs.push(Output::new(OutputKind::Image, file));
    }
    job
}

#[async_trait]
impl JobSource for Acme {
    fn provider(&self) -> Provider {
        ACME
    }

    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        let value = self.http.get_json::<Value>(&["acme", "jobs", id.as_str()]).await?.value;
        let job = acme_job(&value);
        Ok(FetchedJob::new(ProviderRecord::Custom(CustomRecord::new(value, job)), 1, None))
    }

    fn listing(&self) -> Option<&dyn JobListing> {
        Some(self)
    }

    async fn outputs(&self, _id: &JobId, job: &Job) -> Result<Vec<Output>, TransportError> {
        assert!(!self.broken_outputs, "a bug in the acme adapter");
        Ok(job.outputs.clone())
    }
}

#[async_trait]
impl JobListing for Acme {
    fn covers(&self, _id: &JobId) -> bool {
        true
    }

    async fn list_page(&self, _scope: &ListingScope, _cursor: Option<&str>) -> Result<ListingPage, TransportError> {
        let value = self.http.get_json::<Value>(&["acme", "jobs"]).await?.value;
        let jobs = value["jobs"].as_array().cloned().unwrap_or_default();
        Ok(ListingPage::new(jobs.iter().map(|j| ListingEntry::from_job(&acme_job(j))).collect(), None))
    }
}

/// An acme server: a job is `working` for its first two seconds (counted from the first request
/// naming it), then `done` with a file (`nofile` jobs end `done` without one). The listing shows the
/// same states, unless `lying`: then it claims every job is working forever.
async fn acme_server(lying: bool) -> (MockServer, Arc<Mutex<HashMap<String, usize>>>) {
    let server = MockServer::start().await;
    let reads: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let born: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let base = server.uri();
    let state = {
        let born = Arc::clone(&born);
        move |id: &str| {
            let mut born = born.lock().unwrap_or_else(|p| p.into_inner());
            let since = born.entry(id.to_owned()).or_insert_with(Instant::now).elapsed();
            if since < Duration::from_secs(2) {
                json!({ "id": id, "state": "working" })
            } else if id.starts_with("nofile") {
                json!({ "id": id, "state": "done" })
            } else {
                json!({ "id": id, "state": "done", "file": format!("{base}/files/{id}.png") })
            }
        }
    };
    let (counts, record) = (Arc::clone(&reads), state.clone());
    Mock::given(method("GET"))
        .and(path_regex("^/acme/jobs/[^/]+$"))
        .respond_with(move |request: &Request| {
            let id = request.url.path().rsplit('/').next().unwrap_or_default().to_owned();
            *counts.lock().unwrap_or_else(|p| p.into_inner()).entry(id.clone()).or_default() += 1;
            ResponseTemplate::new(200).set_body_json(record(&id))
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acme/jobs"))
        .respond_with(move |_: &Request| {
            let jobs: Vec<Value> = ["a1", "a2"]
                .into_iter()
                .map(|id| if lying { json!({ "id": id, "state": "working" }) } else { state(id) })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "jobs": jobs }))
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/files/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![1u8; 2048], "image/png"))
        .mount(&server)
        .await;
    (server, reads)
}

fn watcher(server: &MockServer, broken_outputs: bool) -> Watcher {
    let config = TransportConfig::new(server.uri().parse().unwrap(), ApiToken::new(TOKEN).unwrap());
    let acme = Acme { http: HttpClient::new(config).unwrap(), broken_outputs };
    Watcher::new().with_source(Arc::new(acme)).with_policy(Arc::new(FixedInterval(Duration::from_secs(1))))
}

fn targets(ids: &[&str]) -> Vec<WatchTarget> {
    ids.iter().map(|id| WatchTarget::with_provider(id.parse().unwrap(), ACME)).collect()
}

#[tokio::test]
async fn a_provider_of_our_own_is_watched_and_downloaded_like_the_built_in_ones() {
    let (server, reads) = acme_server(false).await;
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<WatchEvent> = watcher(&server, false)
        .watch(targets(&["a1", "a2"]))
        .with_downloads(DownloadPlan::new(dir.path()))
        .unwrap()
        .with_timeout(Duration::from_secs(30))
        .collect()
        .await;
    let finished: Vec<_> =
        events.iter().filter_map(|e| if let WatchEvent::Ended(f) = e { Some(f) } else { None }).collect();
    assert_eq!(finished.len(), 2);
    for f in &finished {
        let job = f.result.as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((job.job.provider, job.job.status), (ACME, JobStatus::Completed));
        assert_eq!(job.job.provider.to_string(), "acme");
    }
    // The listing woke the jobs; their own records finished them.
    let counts = reads.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(counts.values().all(|n| *n >= 1), "each job's record was read before it was reported: {counts:?}");
    let mut files: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files, ["a1-0.png", "a2-0.png"]);
    let requests = server.received_requests().await.unwrap_or_default();
    let files_with_token = requests.iter().filter(|r| r.url.path().starts_with("/files/"));
    assert!(
        files_with_token.clone().count() == 2
            && files_with_token.clone().all(|r| !r.headers.contains_key("authorization"))
    );
}

#[tokio::test]
async fn a_completed_job_without_files_and_a_crashing_adapter_are_download_errors() {
    let (server, _) = acme_server(false).await;
    let dir = tempfile::tempdir().unwrap();
    for (broken, id) in [(false, "nofile1"), (true, "a1")] {
        let events: Vec<WatchEvent> = watcher(&server, broken)
            .watch(targets(&[id]))
            .with_downloads(DownloadPlan::new(dir.path()))
            .unwrap()
            .with_timeout(Duration::from_secs(30))
            .collect()
            .await;
        let downloaded = events
            .iter()
            .find_map(|e| if let WatchEvent::Downloaded(d) = e { Some(d) } else { None })
            .unwrap_or_else(|| panic!("{id}: no download event: {events:?}"));
        match (&downloaded.result, broken) {
            (Err(DownloadError::NoOutputs { .. }), false) => {}
            (Err(DownloadError::Crashed { reason, .. }), true) => assert!(reason.contains("a bug"), "{reason}"),
            (other, _) => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_lying_listing_of_a_custom_provider_cannot_hide_a_finished_job_past_the_unread_bound() {
    let (server, reads) = acme_server(true).await;
    let options = WatchOptions::new().with_max_unread(Duration::from_secs(4));
    let started = Instant::now();
    let result =
        watcher(&server, false).with_options(options).wait(targets(&["a1"]).remove(0), Duration::from_secs(30)).await;
    let done = result.unwrap_or_else(|e: WaitError| panic!("{e}"));
    assert_eq!(done.job.status, JobStatus::Completed);
    // The listing says "working" forever; the bound forced a record read within 4 s of the last.
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(reads.lock().unwrap_or_else(|p| p.into_inner()).get("a1").is_some_and(|n| *n >= 2));
}
