//! Scriptable faults of the job listings: Dreamina's scheduler and token360's video list.
//!
//! A listing is only a hint of what is running; these faults make it lie in the ways a
//! cached or overloaded listing does, so clients can prove they trust only the job records.
//! Each listing has its own fault, so one can misbehave while the other answers.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::SandboxError;
use crate::spec::duration_input;
use crate::store::duration_ms;

/// A scripted misbehaviour of a job listing: Dreamina's scheduler or token360's video list.
///
/// Set it with [`Sandbox::set_listing_fault`](crate::Sandbox::set_listing_fault) (the scheduler,
/// `/v1/dreamina/scheduler`) or [`Sandbox::set_video_list_fault`](crate::Sandbox::set_video_list_fault)
/// (token360's `/v1/videos`), or with `POST /_sandbox/listing` (answered 204; 400 with the reason for
/// a fault it cannot take). In that endpoint's JSON the fault is the `fault` field of the body,
/// written in snake_case, with durations as seconds or jiff text like the job spec's:
/// `{"fault":"none"}`, `{"fault":"frozen"}`, `{"fault":"hang"}`, `{"fault":{"lagging":"5m"}}`,
/// `{"fault":{"elapsed_ahead":3600}}`, `{"fault":{"failing":{"status":503,"count":5}}}`
/// (without `count`, the listing fails until told otherwise); `"listing":"videos"` beside `fault`
/// picks the video list, `"listing":"scheduler"` (the default) the scheduler.
///
/// The video list answers in token360's OpenAI envelope and paginates whatever it shows (a frozen
/// list pages through its snapshot); it has no ages to overstate, so `ElapsedAhead` leaves it as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ListingFault {
    /// The listing answers what is executing now.
    #[default]
    None,
    /// The listing answers, forever, the snapshot it would have answered when the fault was set:
    /// same entries and `elapsedSeconds` (or video states), even for jobs that have finished since.
    Frozen,
    /// The listing answers what it would have answered this much simulated time ago.
    Lagging(#[serde(deserialize_with = "duration_input::required")] Duration),
    /// The listing answers `status` (429 with `Retry-After`, 503 `Service unavailable`, ...)
    /// for the next `count` requests, or for every request when `count` is `None`.
    Failing {
        /// The HTTP status to answer, 400–599.
        status: u16,
        /// How many requests fail before the listing recovers; `None` fails them all.
        #[serde(default)]
        count: Option<u32>,
    },
    /// The listing accepts requests and never answers them (held until the sandbox shuts down, then 503).
    Hang,
    /// Scheduler entries report an `elapsedSeconds` this much larger than the job's real age
    /// (the video list has no such field and ignores this fault).
    ElapsedAhead(#[serde(deserialize_with = "duration_input::required")] Duration),
}

/// The listing fault in force, in the form a listing handler acts on; `S` is a frozen snapshot.
#[derive(Debug, Clone, Default)]
pub(crate) enum ListingState<S = Value> {
    #[default]
    Normal,
    /// What the listing showed when the fault was set.
    Frozen(S),
    LaggingMs(i64),
    Failing {
        status: u16,
        /// Failures still to answer; `None` is unlimited.
        left: Option<u32>,
    },
    Hang,
    AheadMs(i64),
}

/// What one listing request answers, decided under the lock and acted on after it.
#[derive(Debug, Clone)]
pub(crate) enum ListingAnswer<S = Value> {
    /// The listing as of `lag_ms` ago, with `ahead_ms` added to every `elapsedSeconds`.
    Live {
        lag_ms: i64,
        ahead_ms: i64,
    },
    Snapshot(S),
    Fail(u16),
    Hang,
}

impl<S: Clone> ListingState<S> {
    /// The state for `fault`; `snapshot` is called only for [`ListingFault::Frozen`].
    pub fn new(fault: ListingFault, snapshot: impl FnOnce() -> S) -> Result<ListingState<S>, SandboxError> {
        Ok(match fault {
            ListingFault::None => ListingState::Normal,
            ListingFault::Frozen => ListingState::Frozen(snapshot()),
            ListingFault::Lagging(lag) => ListingState::LaggingMs(duration_ms(lag)),
            ListingFault::Failing { status, count } => {
                if !(400..=599).contains(&status) {
                    return Err(SandboxError::InvalidListingStatus { status });
                }
                match count {
                    Some(0) => ListingState::Normal,
                    left => ListingState::Failing { status, left },
                }
            }
            ListingFault::Hang => ListingState::Hang,
            ListingFault::ElapsedAhead(ahead) => ListingState::AheadMs(duration_ms(ahead)),
        })
    }

    /// What the next request answers; counts down a limited failure and recovers after the last.
    pub fn next_answer(&mut self) -> ListingAnswer<S> {
        match self {
            ListingState::Normal => ListingAnswer::Live { lag_ms: 0, ahead_ms: 0 },
            ListingState::Frozen(snapshot) => ListingAnswer::Snapshot(snapshot.clone()),
            ListingState::LaggingMs(lag_ms) => ListingAnswer::Live { lag_ms: *lag_ms, ahead_ms: 0 },
            ListingState::AheadMs(ahead_ms) => ListingAnswer::Live { lag_ms: 0, ahead_ms: *ahead_ms },
            ListingState::Hang => ListingAnswer::Hang,
            ListingState::Failing { status, left } => {
                let status = *status;
                match left {
                    Some(1) => *self = ListingState::Normal,
                    Some(n) => *n = n.saturating_sub(1),
                    None => {}
                }
                ListingAnswer::Fail(status)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        fault: ListingFault,
    }

    fn parse(text: &str) -> Result<ListingFault, serde_json::Error> {
        serde_json::from_str::<Body>(text).map(|body| body.fault)
    }

    #[test]
    fn reads_every_documented_json_shape() -> Result<(), serde_json::Error> {
        assert_eq!(parse(r#"{"fault":"none"}"#)?, ListingFault::None);
        assert_eq!(parse(r#"{"fault":"frozen"}"#)?, ListingFault::Frozen);
        assert_eq!(parse(r#"{"fault":"hang"}"#)?, ListingFault::Hang);
        assert_eq!(parse(r#"{"fault":{"lagging":"5m"}}"#)?, ListingFault::Lagging(Duration::from_secs(300)));
        assert_eq!(parse(r#"{"fault":{"lagging":1.5}}"#)?, ListingFault::Lagging(Duration::from_millis(1500)));
        assert_eq!(
            parse(r#"{"fault":{"elapsed_ahead":3600}}"#)?,
            ListingFault::ElapsedAhead(Duration::from_secs(3600))
        );
        assert_eq!(
            parse(r#"{"fault":{"failing":{"status":503,"count":5}}}"#)?,
            ListingFault::Failing { status: 503, count: Some(5) }
        );
        assert_eq!(
            parse(r#"{"fault":{"failing":{"status":429}}}"#)?,
            ListingFault::Failing { status: 429, count: None }
        );
        Ok(())
    }

    #[test]
    fn rejects_unknown_faults_fields_and_negative_durations() {
        for bad in [
            r#"{"fault":"melted"}"#,
            r#"{"fault":{"lagging":"-5s"}}"#,
            r#"{"fault":{"lagging":"soon"}}"#,
            r#"{"fault":{"failing":{"status":503,"times":2}}}"#,
            r#"{"fault":{"failing":{"count":2}}}"#,
            r#"{"fault":"none","extra":1}"#,
            r#"{}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_limited_failure_counts_down_and_recovers() -> Result<(), SandboxError> {
        let mut state = ListingState::new(ListingFault::Failing { status: 503, count: Some(2) }, || json!(null))?;
        assert!(matches!(state.next_answer(), ListingAnswer::Fail(503)));
        assert!(matches!(state.next_answer(), ListingAnswer::Fail(503)));
        assert!(matches!(state.next_answer(), ListingAnswer::Live { lag_ms: 0, ahead_ms: 0 }));
        let zero = ListingState::new(ListingFault::Failing { status: 503, count: Some(0) }, || json!(null))?;
        assert!(matches!(zero, ListingState::Normal));
        Ok(())
    }

    #[test]
    fn refuses_statuses_that_are_not_errors() {
        for status in [0, 200, 302, 399, 600, 999] {
            let state = ListingState::new(ListingFault::Failing { status, count: None }, || json!(null));
            assert!(matches!(state, Err(SandboxError::InvalidListingStatus { .. })), "{status}");
        }
    }

    #[test]
    fn frozen_snapshots_once_when_set() -> Result<(), SandboxError> {
        let mut state = ListingState::new(ListingFault::Frozen, || json!({ "executing": {}, "total": 0 }))?;
        for _ in 0..2 {
            assert!(
                matches!(state.next_answer(), ListingAnswer::Snapshot(v) if v == json!({ "executing": {}, "total": 0 }))
            );
        }
        Ok(())
    }
}
