//! Who may read a job, and for how long: the refusals each provider documents besides 401.
//!
//! useapi.net keeps Dreamina jobs 30 days and answers 404 for an expired job or another user's
//! (seeds 000 and 001); Google Flow keeps jobs 7 days, then answers 410, answers 403 for another
//! user's job and 400 for an id that is no Google Flow id (seed 003). token360 documents neither
//! retention nor ownership; another user's video is simply not found there.

use crate::spec::Provider;
use crate::store::Job;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// useapi.net keeps Dreamina jobs this long ("has expired (>30 days)", seeds 000/001).
pub(crate) const DREAMINA_RETENTION_MS: i64 = 30 * DAY_MS;

/// useapi.net keeps Google Flow jobs this long ("jobs are retained for 7 days", seed 003).
pub(crate) const GOOGLE_FLOW_RETENTION_MS: i64 = 7 * DAY_MS;

/// Why a job that exists is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 404, answered as for a job that never existed.
    NotFound,
    /// Google Flow's 403 "Access denied - job belongs to different user".
    Forbidden,
    /// Google Flow's 410 "Job has expired".
    Gone,
}

/// Whether (and why) the sandbox's token may not read `job` at sim time `now_ms`.
///
/// A job is kept for its whole retention period and expires the millisecond after.
pub(crate) fn refusal(job: &Job, now_ms: i64) -> Option<Refusal> {
    let provider = job.kind.provider();
    if job.other_user {
        return Some(if provider == Provider::GoogleFlow { Refusal::Forbidden } else { Refusal::NotFound });
    }
    let age_ms = now_ms.saturating_sub(job.created_ms);
    match provider {
        Provider::Dreamina if age_ms > DREAMINA_RETENTION_MS => Some(Refusal::NotFound),
        Provider::GoogleFlow if age_ms > GOOGLE_FLOW_RETENTION_MS => Some(Refusal::Gone),
        _ => None,
    }
}

/// Whether `id` can be a Google Flow job id: something ending in `-bot:google-flow`, as every
/// documented one does (`j<13-digit millis><type letter>-u<user>-email:<account>-bot:google-flow`).
///
/// Only the ending is checked: an id of a layout the documents do not show yet is looked up (and
/// not found) rather than refused, the way the service reads its own new ids, so a client's
/// forward compatibility can be tested against the sandbox.
pub(crate) fn is_google_flow_id(id: &str) -> bool {
    id.strip_suffix("-bot:google-flow").is_some_and(|head| !head.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::JobSpec;
    use crate::store::{Store, google_flow_id};

    #[test]
    fn ids_ending_as_google_flows_pass_and_others_do_not() {
        for good in [
            "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow",
            "j1731859345678i-u12345-email:an***@gmail.com-bot:google-flow",
            &google_flow_id(crate::spec::JobKind::GoogleFlowImage, 1_771_855_530_123, 7, "a@b.c"),
            // A layout the documents do not show yet is looked up, not refused.
            "f2-1767225600000-abc-email:user@example.com-bot:google-flow",
        ] {
            assert!(is_google_flow_id(good), "{good}");
        }
        for bad in [
            "",
            "nope",
            "-bot:google-flow",
            "j1731859234567v-u12345-email:jo***@gmail.com-bot:dreamina",
            "j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow ",
            "j0223140530123456789v-u12345-US:user@example.com-bot:dreamina",
            "video_0123",
        ] {
            assert!(!is_google_flow_id(bad), "{bad}");
        }
    }

    #[test]
    fn retention_ends_the_millisecond_after_the_documented_period() {
        let mut store = Store::default();
        let flow = store.add(JobSpec::google_flow_image(), 0);
        let dreamina = store.add(JobSpec::dreamina_video(), 0);
        let token360 = store.add(JobSpec::token360_video(), 0);
        let at = |id: &str, now_ms| store.get(id).and_then(|job| refusal(job, now_ms));
        assert_eq!(at(&flow, GOOGLE_FLOW_RETENTION_MS), None);
        assert_eq!(at(&flow, GOOGLE_FLOW_RETENTION_MS + 1), Some(Refusal::Gone));
        assert_eq!(at(&dreamina, DREAMINA_RETENTION_MS), None);
        assert_eq!(at(&dreamina, DREAMINA_RETENTION_MS + 1), Some(Refusal::NotFound));
        assert_eq!(at(&token360, 365 * DAY_MS), None);
    }

    #[test]
    fn another_users_job_is_forbidden_on_google_flow_and_unknown_elsewhere() {
        let mut store = Store::default();
        let flow = store.add(JobSpec::google_flow_video().with_other_user(), 0);
        let dreamina = store.add(JobSpec::dreamina_image().with_other_user(), 0);
        let token360 = store.add(JobSpec::token360_video().with_other_user(), 0);
        let at = |id: &str| store.get(id).and_then(|job| refusal(job, 0));
        assert_eq!(
            (at(&flow), at(&dreamina), at(&token360)),
            (Some(Refusal::Forbidden), Some(Refusal::NotFound), Some(Refusal::NotFound))
        );
        assert!(flow.contains("-u54321-"), "{flow}");
    }
}
