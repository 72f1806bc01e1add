//! Every documented JSON example under `fixtures/`: decoded losslessly, then its normalized view snapshotted.

use genjob_models::{Endpoint, ErrorBody, JobId, ProviderRecord, decode_executing, detect_endpoint};
use serde_json::Value;
use std::path::Path;

fn endpoint_of(path: &Path) -> Endpoint {
    let dir = path.parent().expect("fixtures live in <provider>/<endpoint>/");
    let endpoint = dir.file_name().and_then(|s| s.to_str()).unwrap_or_default();
    let provider = dir.parent().and_then(Path::file_name).and_then(|s| s.to_str()).unwrap_or_default();
    match (provider, endpoint) {
        ("dreamina", "videos") => Endpoint::DreaminaVideos,
        ("dreamina", "images") => Endpoint::DreaminaImages,
        ("dreamina", "scheduler") => Endpoint::DreaminaScheduler,
        ("google-flow", "jobs") => Endpoint::GoogleFlowJobs,
        ("token360", "videos") => Endpoint::Token360Videos,
        other => panic!("fixture in an unknown folder {other:?}: {}", path.display()),
    }
}

/// Invariants first (lossless round trip, shape detection, id parsing), then the snapshot.
#[test]
fn every_fixture() {
    insta::glob!("../../../fixtures", "*/*/*.json", |path| {
        let bytes = std::fs::read(path).unwrap();
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        let endpoint = endpoint_of(path);
        if name.starts_with("error-") {
            let body = ErrorBody::parse(&bytes).expect("documented error body parses");
            assert_eq!(serde_json::to_value(&body).unwrap(), original, "error body round trip");
            assert!(!body.message().unwrap_or_default().is_empty());
            return;
        }
        if endpoint == Endpoint::DreaminaScheduler {
            let listing = decode_executing(&bytes).unwrap();
            assert_eq!(serde_json::to_value(&listing).unwrap(), original, "scheduler round trip");
            assert_eq!(Some(listing.jobs().count() as u64), listing.total.into_option());
            for job in listing.jobs() {
                assert!(listing.contains(&job.jobid));
                JobId::parse(&job.jobid).unwrap();
            }
            insta::assert_json_snapshot!("executing", listing);
            return;
        }
        let record = ProviderRecord::from_slice(endpoint, &bytes).unwrap();
        assert_eq!(record.to_value(), original, "record round trip must be lossless");
        assert_eq!(detect_endpoint(&original).unwrap(), endpoint, "shape detection");
        let job = record.normalize();
        let id = JobId::parse(&job.id).unwrap();
        assert_eq!(id.to_string(), job.id);
        if let Some(from_id) = id.endpoint() {
            assert_eq!(from_id, endpoint, "the id's type letter names the endpoint that served it");
        }
        insta::assert_json_snapshot!("normalized", job);
    });
}

/// Every committed snapshot belongs to a fixture that still exists (insta's `--unreferenced reject`, without cargo-insta).
#[test]
fn no_unreferenced_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("../../fixtures");
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(root.join("tests/snapshots")).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".snap") else {
            orphans.push(file);
            continue;
        };
        let referenced = stem.split_once('@').is_some_and(|(test, rel)| {
            test.starts_with("fixtures__") && fixtures.join(rel.replace("__", "/")).is_file()
        });
        if !referenced {
            orphans.push(file);
        }
    }
    assert!(orphans.is_empty(), "snapshots without a fixture (delete them): {orphans:?}");
}
