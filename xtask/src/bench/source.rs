//! A family's jobs as their provider would show them: an in-process [`JobSource`] whose every
//! `fetch` answers the record the job would show at that moment of the environment's clock.
//!
//! It stands in for an adapter, not for HTTP: each record is built in its provider's documented
//! JSON shape (the fixtures' fields) and decoded as an adapter decodes it
//! (`ProviderRecord::from_value`), so the watcher reads creation and finish times, model, kind,
//! request size, status and progress from records exactly as it would from a real service. Each
//! request is counted per job. It has no listing: the poll section measures per-job polling.

use super::families::{Family, Reports};
use async_trait::async_trait;
use genjob::models::RequestProfile;
use genjob::transport::{ErrorKind, FinishWindow};
use genjob::{
    Endpoint, Environment, FetchedJob, JobId, JobKind, JobSource, Provider, ProviderRecord, TransportError, WatchTarget,
};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Wall time of a family's start (its time 0): the anchor of the environment's clock.
pub const EPOCH: Timestamp = Timestamp::constant(1_772_409_600, 0); // 2026-03-02T00:00:00Z

/// One job's moments, in Unix milliseconds (the resolution of useapi.net's timestamps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Moments {
    created: i64,
    started: i64,
    finished: i64,
}

/// Answers reads of one family's jobs with the records they would show at the time of the read.
#[derive(Debug)]
pub struct FamilySource {
    provider: Provider,
    kind: JobKind,
    model: String,
    profile: RequestProfile,
    reports: Reports,
    env: Arc<dyn Environment>,
    ids: Vec<String>,
    moments: Vec<Moments>,
    index: HashMap<String, usize>,
    requests: Vec<AtomicU32>,
}

fn millis(seconds: f64) -> i64 {
    // Family times are bounded (30 days) and non-negative, so the rounding cannot overflow.
    (seconds * 1_000.0).round() as i64
}

impl FamilySource {
    /// The source of `family`'s jobs, reading the time from `env` (anchored at [`EPOCH`]).
    pub fn new(family: &Family, env: Arc<dyn Environment>) -> Self {
        let base = EPOCH.as_millisecond();
        let moments: Vec<Moments> = family
            .jobs
            .iter()
            .map(|job| {
                let created = base + millis(job.submit_s);
                Moments {
                    created,
                    started: created + millis(job.queue_s),
                    finished: created + millis(job.duration_s()).max(1),
                }
            })
            .collect();
        let ids: Vec<String> =
            moments.iter().enumerate().map(|(i, m)| job_id(family.provider, family.kind, m.created, i)).collect();
        Self {
            provider: family.provider,
            kind: family.kind,
            model: family.model.clone(),
            profile: family.profile.clone(),
            reports: family.reports,
            env,
            index: ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect(),
            requests: ids.iter().map(|_| AtomicU32::new(0)).collect(),
            ids,
            moments,
        }
    }

    /// How long after the family's start job `i` is submitted (created).
    pub fn submitted_after(&self, i: usize) -> Duration {
        let offset = self.moments.get(i).map_or(0, |m| m.created - EPOCH.as_millisecond());
        Duration::from_millis(u64::try_from(offset).unwrap_or_default())
    }

    /// When job `i` finishes, as its finished record says.
    pub fn finished_at(&self, i: usize) -> Option<Timestamp> {
        self.moments.get(i).and_then(|m| Timestamp::from_millisecond(m.finished).ok())
    }

    /// The target a pipeline watches for job `i`: its id and provider.
    pub fn target(&self, i: usize) -> Result<WatchTarget, String> {
        let raw = self.ids.get(i).ok_or_else(|| format!("no job {i}"))?;
        let id = JobId::parse(raw).map_err(|e| format!("the bench built an unusable id `{raw}`: {e}"))?;
        Ok(WatchTarget::with_provider(id, self.provider))
    }

    /// Record reads of job `i` so far.
    pub fn requests(&self, i: usize) -> u32 {
        self.requests.get(i).map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// The record job `i` shows at `now`.
    fn record(&self, i: usize, now: Timestamp) -> Result<ProviderRecord, TransportError> {
        let m = self.moments[i];
        let now = now.as_millisecond();
        let stage = if now >= m.finished {
            Stage::Completed
        } else if now < m.started || self.reports == Reports::Nothing {
            Stage::Waiting
        } else {
            let run = (m.finished - m.started).max(1);
            let progress = (100 * (now - m.started) / run).clamp(0, 99);
            Stage::Running(u8::try_from(progress).unwrap_or(99))
        };
        let id = &self.ids[i];
        let (endpoint, value) = match self.provider {
            Provider::Dreamina => (dreamina_endpoint(self.kind), self.dreamina(id, m, stage)),
            Provider::GoogleFlow => (Endpoint::GoogleFlowJobs, self.google_flow(id, m, stage)),
            _ => (Endpoint::Token360Videos, self.token360(id, m, stage, now)),
        };
        ProviderRecord::from_value(endpoint, value).map_err(|e| {
            TransportError::new(ErrorKind::InvalidResponse, format!("the bench built an invalid record: {e}"))
        })
    }

    fn dreamina(&self, id: &str, m: Moments, stage: Stage) -> Value {
        let image = matches!(self.kind, JobKind::Image | JobKind::ImageUpscale);
        let mut request = Map::new();
        request.insert("prompt".into(), json!("A serene mountain landscape at sunset"));
        request.insert("model".into(), json!(self.model));
        if let Some(d) = self.profile.duration_s {
            request.insert("duration".into(), json!(d));
        }
        if let Some(r) = &self.profile.resolution {
            request.insert("resolution".into(), json!(r));
        }
        let mut record = json!({
            "jobid": id,
            "type": dreamina_type(self.kind),
            "status": if stage == Stage::Completed { "completed" } else { "created" },
            "model": self.model,
            "created": iso(m.created),
            "request": request,
            "response": { "forecastCost": 125 },
            "code": 200,
        });
        if stage == Stage::Completed {
            record["updated"] = json!(iso(m.finished));
            if image {
                record["response"]["images"] = json!([{ "imageUrl": "https://p9-sign.douyinpic.com/image.jpeg" }]);
            } else {
                record["response"]["videoUrl"] = json!("https://v3-web.douyinvod.com/video.mp4");
            }
        }
        record
    }

    fn google_flow(&self, id: &str, m: Moments, stage: Stage) -> Value {
        let video = self.kind != JobKind::Image;
        let mut request = Map::new();
        request.insert("prompt".into(), json!("A serene mountain landscape at sunset"));
        request.insert("model".into(), json!(self.model));
        if let Some(c) = self.profile.count {
            request.insert("count".into(), json!(c));
        }
        let mut record = json!({
            "jobid": id,
            "type": if video { "video" } else { "image" },
            "status": match stage { Stage::Waiting => "created", Stage::Running(_) => "started", Stage::Completed => "completed" },
            "created": iso(m.created),
            "request": request,
        });
        match stage {
            Stage::Waiting => {}
            Stage::Running(_) => record["updated"] = json!(iso(m.started)),
            Stage::Completed => {
                record["updated"] = json!(iso(m.finished));
                let media = if video {
                    json!({ "name": "bench", "videoUrl": "https://flow-content.google/video/bench" })
                } else {
                    json!({ "name": "bench", "image": { "generatedImage": { "fifeUrl": "https://storage.googleapis.com/bench" } } })
                };
                record["response"] = json!({ "media": [media] });
            }
        }
        record
    }

    /// token360's documented video object: times in whole seconds, progress while it runs.
    fn token360(&self, id: &str, m: Moments, stage: Stage, now: i64) -> Value {
        let seconds = |ms: i64| ms.div_euclid(1_000);
        let mut parameters = Map::new();
        if let Some(d) = self.profile.duration_s {
            parameters.insert("duration".into(), json!(d));
        }
        if let Some(r) = &self.profile.resolution {
            parameters.insert("resolution".into(), json!(r));
        }
        let (status, progress, updated) = match stage {
            Stage::Waiting if self.reports == Reports::Progress => ("queued", Some(0), m.created),
            Stage::Waiting => ("queued", None, m.created),
            Stage::Running(p) => ("in_progress", (self.reports == Reports::Progress).then_some(p), now),
            Stage::Completed => ("completed", Some(100), m.finished),
        };
        let mut record = json!({
            "id": id,
            "object": "video",
            "status": status,
            "model": self.model,
            "prompt": "Add gentle motion to the scene",
            "created_at": seconds(m.created),
            "updated_at": seconds(updated),
            "parameters": parameters,
        });
        if let Some(p) = progress {
            record["progress"] = json!(p);
        }
        if stage == Stage::Completed {
            record["url"] = json!("https://cdn.token360.example/video.mp4");
        }
        record
    }
}

/// Where a job stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Queued (or running, for a provider that reports nothing while it runs).
    Waiting,
    /// Running, with its progress in percent (reported only where the family reports progress).
    Running(u8),
    /// Finished.
    Completed,
}

fn iso(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default()
}

fn dreamina_endpoint(kind: JobKind) -> Endpoint {
    match kind {
        JobKind::Image | JobKind::ImageUpscale => Endpoint::DreaminaImages,
        _ => Endpoint::DreaminaVideos,
    }
}

fn dreamina_type(kind: JobKind) -> &'static str {
    match kind {
        JobKind::VideoUpscale => "video-upscale",
        JobKind::VideoInterpolate => "video-interpolate",
        JobKind::Image => "image",
        JobKind::ImageUpscale => "upscale",
        _ => "video",
    }
}

/// Job `serial`'s id in its provider's real form; useapi.net ids carry the creation time and kind.
fn job_id(provider: Provider, kind: JobKind, created_ms: i64, serial: usize) -> String {
    let letter = match kind {
        JobKind::VideoUpscale => 'V',
        JobKind::VideoInterpolate => 'F',
        JobKind::Image => 'i',
        JobKind::ImageUpscale => 'I',
        _ => 'v',
    };
    match provider {
        Provider::Dreamina => {
            let t = Timestamp::from_millisecond(created_ms).unwrap_or(EPOCH).to_zoned(jiff::tz::TimeZone::UTC);
            format!(
                "j{:02}{:02}{:02}{:02}{:02}{:03}{serial:06}{letter}-u12345-US:bench@example.com-bot:dreamina",
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            )
        }
        // The user id tells apart jobs created in the same millisecond.
        Provider::GoogleFlow => {
            format!("j{created_ms:013}{letter}-u{}-email:bench@example.com-bot:google-flow", serial + 1)
        }
        _ => format!("video_bench{serial:06}"),
    }
}

#[async_trait]
impl JobSource for FamilySource {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn fetch(&self, id: &JobId) -> Result<FetchedJob, TransportError> {
        let Some(&i) = self.index.get(id.as_str()) else {
            let message = format!("the bench has no job {id}");
            return Err(TransportError::new(ErrorKind::NotFound, message).with_status(404));
        };
        self.requests[i].fetch_add(1, Ordering::Relaxed);
        Ok(FetchedJob::new(self.record(i, self.env.now())?, 1, None))
    }

    /// What the provider's adapter declares: the bench plans on the same documents a user's watch does.
    fn documented_window(&self, kind: Option<JobKind>, model: Option<&str>) -> Option<FinishWindow> {
        match self.provider {
            Provider::Dreamina => genjob::dreamina::documented_window(kind, model),
            Provider::GoogleFlow => genjob::google_flow::documented_window(kind, model),
            Provider::Token360 => genjob::token360::documented_window(kind, model),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::families::SimJob;
    use genjob::{JobStatus, TokioEnvironment};

    fn family(provider: Provider, kind: JobKind, reports: Reports, profile: RequestProfile) -> Family {
        let jobs = vec![SimJob { submit_s: 12.3456, queue_s: 10.0, run_s: 90.0 }];
        let spec = ("t", provider, kind, "m-1", profile, reports);
        Family { has_process: false, ..crate::bench::families::family(spec, jobs, vec![100.0]) }
    }

    #[tokio::test(start_paused = true)]
    async fn records_say_what_the_job_shows_as_the_provider_writes_it() -> Result<(), String> {
        let cases = [
            (Provider::Dreamina, JobKind::Video, Reports::Nothing, RequestProfile::new(Some(10), Some("1080p"), None)),
            (Provider::Dreamina, JobKind::Image, Reports::Nothing, RequestProfile::new(None, Some("4k"), None)),
            (Provider::GoogleFlow, JobKind::Video, Reports::Started, RequestProfile::new(None, None, Some(2))),
            (Provider::GoogleFlow, JobKind::Image, Reports::Started, RequestProfile::default()),
            (Provider::Token360, JobKind::Video, Reports::Progress, RequestProfile::new(Some(5), Some("720p"), None)),
        ];
        for (provider, kind, reports, profile) in cases {
            let f = family(provider, kind, reports, profile.clone());
            let source = FamilySource::new(&f, Arc::new(TokioEnvironment::with_seed(EPOCH, 1)));
            let target = source.target(0)?;
            assert_eq!(target.id.kind(), (provider != Provider::Token360).then_some(kind), "{target:?}");
            let created = EPOCH.as_millisecond() + 12_346;
            let at = |ms: i64| Timestamp::from_millisecond(created + ms).map_err(|e| e.to_string());
            let read = |ms| -> Result<ProviderRecord, String> { source.record(0, at(ms)?).map_err(|e| e.to_string()) };
            let running = if reports == Reports::Nothing { JobStatus::Queued } else { JobStatus::Running };
            for (ms, status) in
                [(0, JobStatus::Queued), (55_000, running), (99_999, running), (100_000, JobStatus::Completed)]
            {
                let record = read(ms)?;
                let job = record.normalize();
                assert_eq!(
                    (job.status, job.kind, job.model.as_deref()),
                    (status, Some(kind), Some("m-1")),
                    "{provider} {ms}"
                );
                assert_eq!(record.request_profile(), profile, "{provider}");
                // token360 writes whole seconds.
                let created_at = if provider == Provider::Token360 { created - created % 1000 } else { created };
                assert_eq!(job.created_at.map(|t| t.as_millisecond()), Some(created_at), "{provider}");
            }
            let finish = if provider == Provider::Token360 { created + 100_000 - 346 } else { created + 100_000 };
            assert_eq!(read(100_000)?.finished_at().map(|t| t.as_millisecond()), Some(finish), "{provider}");
            if reports == Reports::Progress {
                assert_eq!(read(55_000)?.normalize().progress, Some(50));
                assert_eq!(read(5_000)?.normalize().progress, Some(0));
            }
        }
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn each_read_is_counted_and_unknown_jobs_are_not_found() -> Result<(), String> {
        let f = family(Provider::Dreamina, JobKind::Video, Reports::Nothing, RequestProfile::default());
        let source = FamilySource::new(&f, Arc::new(TokioEnvironment::with_seed(EPOCH, 1)));
        let id = source.target(0)?.id;
        source.fetch(&id).await.map_err(|e| e.to_string())?;
        source.fetch(&id).await.map_err(|e| e.to_string())?;
        assert_eq!(source.requests(0), 2);
        let stranger = JobId::parse("video_stranger").map_err(|e| e.to_string())?;
        assert_eq!(source.fetch(&stranger).await.map(|_| ()).map_err(|e| e.kind()), Err(ErrorKind::NotFound));
        assert_eq!(source.submitted_after(0), Duration::from_millis(12_346));
        Ok(())
    }
}
