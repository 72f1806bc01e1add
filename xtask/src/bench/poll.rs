//! The poll section's table lines and `results.json` rows: every strategy on every family, with goals.

use super::families::{AFTER_CHANGE_GOAL, Family};
use super::sim::{self, Extra, TRANSITION_JOBS};
use super::{Line, SEED, goal, line, per_family, round};
use serde_json::{Value, json};

/// Every strategy on every family, each family on a thread of its own.
fn all_strategies(families: &[Family]) -> Result<Vec<Vec<sim::Row>>, String> {
    per_family(families, |i, family| sim::strategies(family, SEED ^ i as u64))?.into_iter().collect()
}

/// Every strategy on every family, as table lines and `results.json` rows.
pub fn section(families: &[Family]) -> Result<(Vec<Line>, Vec<Value>), String> {
    let (mut lines, mut json_rows) = (Vec::new(), Vec::new());
    for (family, rows) in families.iter().zip(all_strategies(families)?) {
        let find = |strategy: &str| rows.iter().find(|r| r.0 == strategy).map(|r| r.1);
        let (default, fixed, oracle) = (find("default"), find("fixed-10s"), find("oracle"));
        let ratio = default.zip(oracle).map(|(d, o)| d.mean_latency_s / o.mean_latency_s.max(1e-9));
        let (after, after_fixed) = (find("after-change default"), find("after-change fixed-10s"));
        let after_ratio =
            after.zip(find("after-change oracle")).map(|(d, o)| d.mean_latency_s / o.mean_latency_s.max(1e-9));
        for (strategy, s, param) in &rows {
            let mut result = format!(
                "{:6.2} req/job, latency mean {:5.2} s, p95 {:6.2} s ({} jobs)",
                s.mean_requests, s.mean_latency_s, s.p95_latency_s, s.jobs
            );
            match param {
                Extra::Interval(interval) => result.push_str(&format!(", every {interval:.2} s")),
                Extra::Oracle { lambdas, mix } => {
                    result.push_str(&format!(", λ {:.3} s, mix {:.0} %", lambdas.0, 100.0 * mix));
                }
                Extra::Followed(f) => {
                    match f.finishes {
                        Some(n) => result.push_str(&format!(", followed after {n} new finishes")),
                        None => result.push_str(", never followed"),
                    }
                    if f.early > 0 {
                        result.push_str(&format!(" ({} changes seen before it)", f.early));
                    }
                }
                Extra::None => {}
            }
            let mut l = line("poll", format!("{} {strategy}", family.name), result);
            if let (Extra::Followed(f), Some(loop_)) = (param, after_fixed) {
                let (mine, fixed) = f.transition_requests;
                l = goal(
                    l,
                    format!(
                        "req ≤ {:.2} (fixed-10s), first {TRANSITION_JOBS}: {mine:.2} ≤ {fixed:.2}",
                        loop_.mean_requests
                    ),
                    s.mean_requests <= loop_.mean_requests && mine <= fixed && f.finishes.is_some(),
                );
            }
            if *strategy == "after-change oracle"
                && let (Some(d), Some(r)) = (after, after_ratio)
            {
                l = goal(
                    l,
                    format!(
                        "default {:.2} s ≤ {AFTER_CHANGE_GOAL}× this, per half ({:.2} s): ratio {r:.2}",
                        d.mean_latency_s,
                        AFTER_CHANGE_GOAL * s.mean_latency_s
                    ),
                    r <= AFTER_CHANGE_GOAL,
                );
            }
            if *strategy == "default"
                && let Some(f) = fixed
            {
                l = goal(
                    l,
                    format!("req ≤ {:.2}, latency ≤ {:.2} s (fixed-10s)", f.mean_requests, f.mean_latency_s),
                    s.mean_requests <= f.mean_requests && s.mean_latency_s <= f.mean_latency_s,
                );
            }
            if *strategy == "oracle"
                && let (Some(d), Some(r)) = (default, ratio)
            {
                let most = family.latency_goal;
                l = goal(
                    l,
                    format!(
                        "default {:.2} s ≤ {most}× this ({:.2} s): ratio {r:.2}",
                        d.mean_latency_s,
                        most * s.mean_latency_s
                    ),
                    r <= most,
                );
            }
            lines.push(l);
            let mut row = json!({
                "range": family.name,
                "strategy": strategy,
                "documented": family.documented,
                "jobs": s.jobs,
                "mean_requests": round(s.mean_requests, 3),
                "mean_latency_s": round(s.mean_latency_s, 3),
                "p95_latency_s": round(s.p95_latency_s, 3),
            });
            match (*strategy, param, row.as_object_mut()) {
                (_, Extra::Interval(interval), Some(o)) => {
                    o.insert("interval_s".into(), json!(round(*interval, 3)));
                }
                (_, Extra::Oracle { lambdas, mix }, Some(o)) => {
                    o.insert("lambda_s".into(), json!([round(lambdas.0, 4), round(lambdas.1, 4)]));
                    o.insert("costlier_plan_share".into(), json!(round(*mix, 3)));
                }
                (_, Extra::Followed(f), Some(o)) => {
                    o.insert("followed_after_finishes".into(), json!(f.finishes));
                    o.insert("changes_before".into(), json!(f.early));
                    o.insert("transition_jobs".into(), json!(TRANSITION_JOBS));
                    o.insert("transition_requests".into(), json!(round(f.transition_requests.0, 3)));
                    o.insert("transition_requests_fixed".into(), json!(round(f.transition_requests.1, 3)));
                    o.insert("latency_ratio_to_oracle".into(), json!(after_ratio.map(|r| round(r, 3))));
                }
                ("default", _, Some(o)) => {
                    o.insert("latency_ratio_to_oracle".into(), json!(ratio.map(|r| round(r, 3))));
                }
                _ => {}
            }
            json_rows.push(row);
        }
    }
    Ok((lines, json_rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_file_family_is_reported_like_the_built_in_ones() -> Result<(), String> {
        let jobs: Vec<Value> = (0..40)
            .map(|i| json!({"submit_s": f64::from(i) * 20.0, "queue_s": 3.0, "run_s": 40.0 + f64::from(i % 7)}))
            .collect();
        // The same jobs again, with draws of the process that made them: the oracle plans on those.
        let draws: Vec<f64> = (0..500).map(|i| 43.0 + f64::from(i % 70) / 10.0).collect();
        let file = json!({"families": [
            {"name": "mine", "provider": "google-flow", "kind": "video", "model": "veo-3.1-fast",
             "reports": "started", "jobs": jobs},
            {"name": "drawn", "provider": "google-flow", "kind": "video", "model": "veo-3.1-fast",
             "reports": "started", "jobs": jobs, "draws": draws}]});
        let dir = std::env::temp_dir().join(format!("genjob-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("jobs.json");
        std::fs::write(&path, file.to_string()).map_err(|e| e.to_string())?;
        let families = super::super::families::from_file(&path)?;
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
        let (lines, rows) = section(&families)?;
        let strategies = |family: &str| -> Vec<&str> {
            rows.iter().filter(|r| r["range"] == family).filter_map(|r| r["strategy"].as_str()).collect()
        };
        let own = ["default", "default-cold", "default-unlearned", "fixed-10s", "equal-budget-fixed", "oracle"];
        assert_eq!(strategies("mine"), own);
        assert_eq!(strategies("drawn")[..own.len()], own);
        assert_eq!(strategies("drawn")[own.len()..], ["oracle-sample"]);
        let sample = rows.iter().find(|r| r["strategy"] == "oracle-sample").ok_or("no per-sample row")?;
        assert!(sample["lambda_s"].is_array() && sample["costlier_plan_share"].is_number());
        assert_eq!(rows[0]["jobs"], 20, "the first 20 jobs are the warm-up");
        assert_eq!(rows[1]["jobs"], 20);
        assert!(rows[0]["latency_ratio_to_oracle"].is_number());
        assert_eq!(lines.len(), rows.len());
        Ok(())
    }
}
