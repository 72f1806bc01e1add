//! Job ids in layouts this version does not know: still the provider's, with what can be read.

use genjob_models::{Endpoint, JobId, JobIdForm, JobIdParseError, JobKind, Provider};
use jiff::Timestamp;

fn parse(raw: &str) -> JobId {
    let id = JobId::parse(raw).unwrap_or_else(|e| panic!("{raw} must parse: {e}"));
    assert_eq!(id.to_string(), raw, "an id prints back exactly as given");
    id
}

fn type_letter(id: &JobId) -> Option<char> {
    match id.form() {
        JobIdForm::UnrecognizedLayout { type_letter, .. } => *type_letter,
        other => panic!("{id} must be an unrecognised layout, is {other:?}"),
    }
}

#[test]
fn a_dreamina_id_with_an_extra_serial_digit() {
    let id = parse("j02231405301234567890i-u12345-CA:user@example.com-bot:dreamina");
    assert_eq!(type_letter(&id), Some('i'));
    assert_eq!(id.provider(), Some(Provider::Dreamina));
    assert_eq!(id.kind(), Some(JobKind::Image));
    assert_eq!(id.endpoint(), Some(Endpoint::DreaminaImages));
    assert_eq!(id.created_at(Timestamp::MAX), None, "the digits may no longer mean a time");
}

#[test]
fn a_dreamina_id_with_a_new_type_letter_and_a_longer_timestamp() {
    let id = parse("j20260223140530123456789x-u12345-US:user@example.com-bot:dreamina");
    assert_eq!(type_letter(&id), Some('x'));
    assert_eq!(id.kind(), None);
    assert_eq!(id.endpoint(), Some(Endpoint::DreaminaVideos), "the documented fallback");
}

#[test]
fn a_dreamina_id_without_the_user_segment() {
    let id = parse("j0223140530123456789v-CA:user@example.com-bot:dreamina");
    assert_eq!(type_letter(&id), None, "no `-u<digits>-`, so no type letter");
    assert_eq!((id.provider(), id.kind()), (Some(Provider::Dreamina), None));
    assert_eq!(id.endpoint(), Some(Endpoint::DreaminaVideos));
}

#[test]
fn a_captured_placeholder_id_in_a_new_layout() {
    let id = parse("j0223140530123456789012V-u7-CA:[email\u{a0}protected]:dreamina");
    assert_eq!(type_letter(&id), Some('V'));
    assert_eq!(id.kind(), Some(JobKind::VideoUpscale));
}

#[test]
fn only_the_first_user_segment_names_the_type_letter() {
    // The e-mail repeats the pattern; the letter before the first one is a digit, so none is read.
    let id = parse("j0223140530123456789-u1-CA:i-u2-x@example.com-bot:dreamina");
    assert_eq!(type_letter(&id), None);
}

#[test]
fn a_google_flow_id_with_microseconds() {
    let id = parse("j1731859234567890v-u12345-email:jo***@gmail.com-bot:google-flow");
    assert_eq!(type_letter(&id), Some('v'));
    assert_eq!((id.provider(), id.kind()), (Some(Provider::GoogleFlow), Some(JobKind::Video)));
    assert_eq!(id.endpoint(), Some(Endpoint::GoogleFlowJobs));
    assert_eq!(id.created_at(Timestamp::MAX), None);
}

#[test]
fn a_google_flow_id_with_a_new_account_form() {
    let id = parse("j1731859234567y-u12345-account:42-bot:google-flow");
    assert_eq!(type_letter(&id), Some('y'));
    assert_eq!(id.kind(), None);
    assert_eq!(id.endpoint(), Some(Endpoint::GoogleFlowJobs), "Google Flow has one job endpoint");
}

#[test]
fn documented_layouts_keep_their_precise_forms() {
    let dreamina = parse("j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina");
    assert!(matches!(dreamina.form(), JobIdForm::Dreamina(d) if d.type_letter == 'v'));
    let flow = parse("j1731859234567v-u12345-email:jo***@gmail.com-bot:google-flow");
    assert!(matches!(flow.form(), JobIdForm::GoogleFlow(g) if g.created_millis == 1_731_859_234_567));
    // A documented layout whose digits are not a date is still the provider's, without a time.
    let thirteenth_month = parse("j1323140530123456789v-u12345-CA:user@example.com-bot:dreamina");
    assert_eq!(type_letter(&thirteenth_month), Some('v'));
    assert_eq!(thirteenth_month.kind(), Some(JobKind::Video));
}

#[test]
fn what_is_still_refused() {
    assert_eq!(JobId::parse(""), Err(JobIdParseError::Empty));
    for bare in ["-bot:dreamina", "-bot:google-flow", "[email\u{a0}protected]:dreamina"] {
        let err = JobId::parse(bare).unwrap_err();
        assert!(matches!(err, JobIdParseError::Malformed { .. }), "{bare}: {err:?}");
        assert!(err.to_string().contains("nothing comes before"), "{err}");
    }
    for bad in [
        "j0223 140530123456789v-u1-CA:a@b.c-bot:dreamina",
        "x/y-bot:dreamina",
        "x?y-bot:google-flow",
        "a\u{0}-bot:dreamina",
    ] {
        assert!(matches!(JobId::parse(bad), Err(JobIdParseError::ForbiddenCharacter { .. })), "{bad:?}");
    }
}

#[test]
fn ids_without_a_provider_ending_stay_opaque() {
    for raw in ["video_123", "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina2", "x-bot:Dreamina"] {
        let id = parse(raw);
        assert_eq!(id.form(), &JobIdForm::Opaque, "{raw}");
        assert_eq!((id.provider(), id.endpoint()), (None, None));
    }
}
