//! Pushed job records (webhooks): untrusted hints, never the truth about a job.
//!
//! useapi.net posts a job's record to the `replyUrl` given at submit time, and token360 posts its
//! video object to `callback_url`. Neither signs the request (see the providers' documentation), so
//! anyone who learns the URL can post "completed" with any output URL. Use a callback to *wake* the
//! job it names, then read that job's record from the provider (an authenticated GET) and trust
//! only that.

use crate::id::JobId;
use crate::job::Job;
use crate::record::{DecodeError, ProviderRecord};

/// What a callback claims: the record it carries and its normalized view. Untrusted.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CallbackClaim {
    /// The record as posted.
    pub record: ProviderRecord,
    /// Its normalized view: what the sender *claims* about the job.
    pub claimed: Job,
}

impl CallbackClaim {
    /// The id of the job the callback names, when it is a usable id.
    pub fn job_id(&self) -> Option<JobId> {
        JobId::parse(&self.claimed.id).ok()
    }
}

/// Reads a callback body (any provider's job record or video object, recognised by its shape).
///
/// The body is untrusted input: the result says which job to look at, never what state it is in.
/// The verify-by-reading pattern:
///
/// ```
/// use genjob_models::{JobStatus, decode_callback};
///
/// # fn read_record_from_provider(id: &genjob_models::JobId) -> genjob_models::Job {
/// #     let body = br#"{"id": "video_123", "object": "video", "status": "in_progress", "progress": 40}"#;
/// #     genjob_models::ProviderRecord::from_slice(genjob_models::Endpoint::Token360Videos, body).unwrap().normalize()
/// # }
/// // Someone posted this to the callback URL.
/// let posted = br#"{"id": "video_123", "object": "video", "status": "completed", "url": "https://evil.example/x.mp4"}"#;
/// let claim = decode_callback(posted)?;
/// let id = claim.job_id().ok_or("the callback names no usable job id")?;
/// assert_eq!(claim.claimed.status, JobStatus::Completed); // what the sender says…
/// // …so wake the job: read its record with your adapter (an authenticated GET), and trust that.
/// let truth = read_record_from_provider(&id);
/// assert_eq!(truth.status, JobStatus::Running); // it was a forgery
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_callback(body: &[u8]) -> Result<CallbackClaim, DecodeError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| DecodeError::Invalid { what: "callback body", reason: e.to_string() })?;
    let record = ProviderRecord::detect(value)?;
    let claimed = record.normalize();
    Ok(CallbackClaim { record, claimed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_providers_record_is_read_and_anything_else_refused() {
        let dreamina = br#"{"jobid": "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina", "type": "video", "status": "completed"}"#;
        let claim = decode_callback(dreamina).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claim.job_id().map(|id| id.to_string()), Some(claim.claimed.id.clone()));
        for bad in [&b"not json"[..], b"[]", br#"{"hello": "world"}"#, b"\xff\xfe"] {
            assert!(decode_callback(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
