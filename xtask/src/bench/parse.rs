//! Parse speed: typed decode + normalize of every job-record fixture vs `serde_json::Value`.

use genjob_models::{Endpoint, ProviderRecord};
use serde_json::Value;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// Fixture folders holding job records, with the endpoint they come from.
const RECORD_DIRS: [(&str, Endpoint); 4] = [
    ("dreamina/videos", Endpoint::DreaminaVideos),
    ("dreamina/images", Endpoint::DreaminaImages),
    ("google-flow/jobs", Endpoint::GoogleFlowJobs),
    ("token360/videos", Endpoint::Token360Videos),
];

/// Batches per side; the median batch is reported.
const BATCHES: usize = 11;
/// Target wall time of one batch.
const BATCH_TIME: Duration = Duration::from_millis(10);

/// One fixture's figures.
#[derive(Debug, Clone)]
pub struct ParseRow {
    /// Path under `fixtures/`.
    pub fixture: String,
    /// Median ns per typed parse + normalize.
    pub typed_ns: f64,
    /// Median ns per `Value` parse.
    pub value_ns: f64,
}

/// Job-record fixtures (error bodies and listings excluded), sorted by path.
pub fn record_fixtures(root: &Path) -> Result<Vec<(String, Endpoint, Vec<u8>)>, String> {
    let mut out = Vec::new();
    for (dir, endpoint) in RECORD_DIRS {
        let path = root.join("fixtures").join(dir);
        let entries = std::fs::read_dir(&path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", path.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") || name.starts_with("error-") {
                continue;
            }
            let bytes =
                std::fs::read(entry.path()).map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
            out.push((format!("{dir}/{name}"), endpoint, bytes));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn typed(endpoint: Endpoint, bytes: &[u8]) -> bool {
    match ProviderRecord::from_slice(endpoint, black_box(bytes)) {
        Ok(record) => {
            black_box(record.normalize());
            true
        }
        Err(_) => false,
    }
}

fn value(bytes: &[u8]) -> bool {
    black_box(serde_json::from_slice::<Value>(black_box(bytes))).is_ok()
}

/// Median ns per call of `f` over batches of `iters` calls.
fn batch_ns(iters: u64, f: &mut dyn FnMut() -> bool) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

/// Iterations that take about [`BATCH_TIME`], after a warm-up.
fn calibrate(f: &mut dyn FnMut() -> bool) -> u64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < BATCH_TIME * 5 {
        black_box(f());
        n += 1;
    }
    (n / 5).max(1)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Measures every fixture: warm-up, then alternating typed / Value batches, median of each.
pub fn run(root: &Path) -> Result<Vec<ParseRow>, String> {
    let mut rows = Vec::new();
    for (fixture, endpoint, bytes) in record_fixtures(root)? {
        if !typed(endpoint, &bytes) {
            return Err(format!("fixtures/{fixture} does not decode as a {endpoint} record"));
        }
        let mut t = || typed(endpoint, &bytes);
        let mut v = || value(&bytes);
        let (tn, vn) = (calibrate(&mut t), calibrate(&mut v));
        let (mut ts, mut vs) = (Vec::with_capacity(BATCHES), Vec::with_capacity(BATCHES));
        for _ in 0..BATCHES {
            ts.push(batch_ns(tn, &mut t));
            vs.push(batch_ns(vn, &mut v));
        }
        rows.push(ParseRow { fixture, typed_ns: median(&mut ts), value_ns: median(&mut vs) });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_fixture_decodes_and_error_bodies_are_left_out() -> Result<(), String> {
        let root = crate::fixtures::repo_root();
        let fixtures = record_fixtures(&root)?;
        assert!(!fixtures.is_empty());
        for (name, endpoint, bytes) in &fixtures {
            assert!(!name.contains("error-"), "{name}");
            assert!(typed(*endpoint, bytes), "{name} does not decode");
        }
        Ok(())
    }

    #[test]
    fn median_takes_the_middle() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut []), 0.0);
    }
}
