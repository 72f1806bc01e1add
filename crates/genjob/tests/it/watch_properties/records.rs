//! Job records as the providers document them, built from a script's [`RecordSpec`] and decoded the
//! way an adapter decodes them (`ProviderRecord::from_slice`), plus job ids in their real form.

use super::scripted::{Created, RecordSpec, Said, ScriptedJob};
use genjob::{Endpoint, Provider, ProviderRecord};
use jiff::Timestamp;
use serde_json::{Value, json};

/// The id a foreign record carries: same shape as the provider's ids, never one that is watched.
pub fn foreign_id(provider: Provider, created: Timestamp) -> String {
    match provider {
        Provider::Dreamina => dreamina_id(created, 999_999),
        _ => "video_foreign".to_owned(),
    }
}

/// A Dreamina video id in the real form: `j` + MMDDhhmmss + ms + 6 digits + `v-u12345-US:<email>-bot:dreamina`.
pub fn dreamina_id(created: Timestamp, serial: u32) -> String {
    let t = created.to_zoned(jiff::tz::TimeZone::UTC);
    format!(
        "j{:02}{:02}{:02}{:02}{:02}{:03}{serial:06}v-u12345-US:user@example.com-bot:dreamina",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The documented JSON of a record, decoded the way an adapter decodes it.
pub fn record(job: &ScriptedJob, spec: &RecordSpec, now: Timestamp) -> ProviderRecord {
    let id = if spec.foreign_id { foreign_id(job.provider, job.created) } else { job.id.clone() };
    let (endpoint, value) = match job.provider {
        Provider::Dreamina => (Endpoint::DreaminaVideos, dreamina_record(&id, job.created, spec, now)),
        _ => (Endpoint::Token360Videos, token360_record(&id, job.created, spec, now)),
    };
    let bytes = serde_json::to_vec(&value).expect("a JSON value serializes");
    ProviderRecord::from_slice(endpoint, &bytes).unwrap_or_else(|e| panic!("the scripted record {value} is valid: {e}"))
}

fn dreamina_record(id: &str, created: Timestamp, spec: &RecordSpec, now: Timestamp) -> Value {
    // A broken replica sends years that no job has.
    let created = match spec.created {
        Created::AsId => Some(created.to_string()),
        Created::Absent => None,
        Created::YearOne => Some("0001-01-01T00:00:00Z".to_owned()),
        Created::Year9999 => Some("9999-12-30T21:30:00Z".to_owned()),
    };
    let status = match spec.said {
        Said::Waiting | Said::Running => "created",
        Said::Completed => "completed",
        Said::Failed => "failed",
    };
    let mut record = json!({
        "jobid": id,
        "type": "video",
        "status": status,
        "model": "seedance-2.0",
        "request": { "prompt": "A serene mountain landscape at sunset", "model": "seedance-2.0", "duration": 5 },
        "response": { "forecastCost": 125 },
        "code": 200,
    });
    if let Some(created) = created {
        record["created"] = json!(created);
    }
    match spec.said {
        Said::Waiting | Said::Running => {}
        Said::Completed => {
            record["updated"] = json!(now.to_string());
            if spec.outputs >= 1 {
                record["response"]["videoUrl"] = json!("https://v3-web.douyinvod.com/video.mp4");
                record["response"]["assetId"] = json!("US:user@example.com:7341234567890123456");
            }
            if spec.outputs >= 2 {
                record["response"]["coverUrl"] = json!("https://p9-sign.douyinpic.com/cover.jpg");
            }
        }
        Said::Failed => {
            record["updated"] = json!(now.to_string());
            record["error"] = json!("fail_code: 2043");
            record["errorDetails"] = json!("OutputVideoRisk");
            record["code"] = json!(2043);
        }
    }
    record
}

fn token360_record(id: &str, created: Timestamp, spec: &RecordSpec, now: Timestamp) -> Value {
    let created = match spec.created {
        Created::AsId => Some(created.as_second()),
        Created::Absent => None,
        Created::YearOne => Some(-62_135_596_800),
        Created::Year9999 => Some(253_402_205_400),
    };
    let status = match spec.said {
        Said::Waiting => "queued",
        Said::Running => "in_progress",
        Said::Completed => "completed",
        Said::Failed => "failed",
    };
    let mut record = json!({
        "id": id,
        "object": "video",
        "status": status,
        "model": "seedance-2.0",
        "prompt": "Add gentle motion to the scene",
        "updated_at": now.as_second(),
    });
    if let Some(created) = created {
        record["created_at"] = json!(created);
    }
    if let Some(progress) = spec.progress {
        record["progress"] = json!(progress);
    }
    match spec.said {
        Said::Completed => {
            if spec.outputs >= 1 {
                record["url"] = json!("https://cdn.token360.example/video.mp4");
            }
            if spec.outputs >= 2 {
                record["content"] = json!({ "last_frame_url": "https://cdn.token360.example/last.png" });
            }
        }
        Said::Failed => record["error"] = json!({ "code": "content_policy", "message": "rejected" }),
        Said::Waiting | Said::Running => {}
    }
    record
}
