//! The documented layouts of useapi.net job ids, and what their type letters mean.
//!
//! A Dreamina id is `j` + `MMDDhhmmss` + milliseconds + 6 digits + type letter +
//! `-u<user>-<REGION>:<email>-bot:dreamina`; a Google Flow id is `j` + 13-digit Unix milliseconds +
//! type letter + `-u<user>-email:<email>-bot:google-flow`. An id that carries a provider's ending but
//! not its layout is still that provider's id (see `JobIdForm::UnrecognizedLayout`); only its type
//! letter is then looked for, by [`loose_type_letter`].

use super::{CAPTURED_EMAIL_PLACEHOLDER, DREAMINA_SUFFIX, FLOW_SUFFIX, placeholder_suffix};
use crate::job::{JobKind, Provider};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The parts of a Dreamina id: `j` + `MMDDhhmmss` + ms + 6 digits + type letter + `-u<user>-<account>-bot:dreamina`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DreaminaJobId {
    /// Creation month (1–12), UTC.
    pub month: i8,
    /// Creation day of month (1–31), UTC.
    pub day: i8,
    /// Creation hour, UTC.
    pub hour: i8,
    /// Creation minute.
    pub minute: i8,
    /// Creation second.
    pub second: i8,
    /// Creation millisecond.
    pub millisecond: i16,
    /// The six digits after the timestamp.
    pub serial: String,
    /// The type letter (`v`, `V`, `F`, `i`, `I`, or another the service adds).
    pub type_letter: char,
    /// The useapi.net user id (digits after `-u`).
    pub user_id: String,
    /// The account region (`US`, `CA`, …).
    pub region: String,
    /// The account e-mail; `None` when the id carries the captured-document placeholder instead.
    pub email: Option<String>,
}

/// The parts of a Google Flow id: `j` + Unix millis + type letter + `-u<user>-email:<email>-bot:google-flow`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GoogleFlowJobId {
    /// Creation time in Unix milliseconds.
    pub created_millis: i64,
    /// The type letter (`v` video, `i` image, or another).
    pub type_letter: char,
    /// The useapi.net user id.
    pub user_id: String,
    /// The account e-mail (often masked by the service, e.g. `jo***@gmail.com`).
    pub email: String,
}

impl DreaminaJobId {
    /// The latest instant not after `reference` whose UTC month, day and time match the id.
    pub fn created_at(&self, reference: Timestamp) -> Option<Timestamp> {
        let reference_year = reference.to_zoned(TimeZone::UTC).year();
        // Eight years always contain a leap year with a Feb 29 (the 2100-style gap spans 8 years).
        (0..=8).find_map(|back| {
            let year = reference_year.checked_sub(back)?;
            let civil = DateTime::new(
                year,
                self.month,
                self.day,
                self.hour,
                self.minute,
                self.second,
                i32::from(self.millisecond) * 1_000_000,
            )
            .ok()?;
            let at = TimeZone::UTC.to_timestamp(civil).ok()?;
            (at <= reference).then_some(at)
        })
    }

    /// The account the job ran on, as `REGION:email` (with the placeholder when the e-mail is unknown).
    pub fn account(&self) -> String {
        match &self.email {
            Some(email) => format!("{}:{email}", self.region),
            None => format!("{}:{CAPTURED_EMAIL_PLACEHOLDER}", self.region),
        }
    }
}

/// The job kind a provider's type letter stands for, when it is a documented one.
pub(super) fn letter_kind(provider: Provider, letter: char) -> Option<JobKind> {
    match (provider, letter) {
        (Provider::Dreamina | Provider::GoogleFlow, 'v') => Some(JobKind::Video),
        (Provider::Dreamina | Provider::GoogleFlow, 'i') => Some(JobKind::Image),
        (Provider::Dreamina, 'V') => Some(JobKind::VideoUpscale),
        (Provider::Dreamina, 'F') => Some(JobKind::VideoInterpolate),
        (Provider::Dreamina, 'I') => Some(JobKind::ImageUpscale),
        _ => None,
    }
}

/// The type letter of an id in an unrecognised layout: the ASCII letter right before the first
/// `-u<digits>-` in `raw`, if that character is one.
///
/// Both documented layouts put the type letter there, and the user segment is the part a change of
/// timestamp or serial width leaves in place. Only the first `-u<digits>-` counts, because an e-mail
/// after it may contain the same pattern.
pub(super) fn loose_type_letter(raw: &str) -> Option<char> {
    let user_at = raw.match_indices("-u").map(|(at, _)| at).find(|&at| {
        let rest = &raw[at + 2..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with('-')
    })?;
    raw[..user_at].chars().next_back().filter(char::is_ascii_alphabetic)
}

/// Splits `n` ASCII digits off the front of `s`.
fn take_digits(s: &str, n: usize) -> Option<(&str, &str)> {
    let digits = s.get(..n)?;
    digits.bytes().all(|b| b.is_ascii_digit()).then(|| (digits, &s[n..]))
}

fn two_digits(digits: &str, at: usize) -> i8 {
    // Callers pass strings already checked to be ASCII digits, so the value is 0..=99.
    let b = digits.as_bytes();
    ((b[at] - b'0') * 10 + (b[at + 1] - b'0')) as i8
}

fn take_type_letter(s: &str) -> Option<(char, &str)> {
    let c = s.chars().next().filter(char::is_ascii_alphabetic)?;
    Some((c, &s[1..]))
}

fn take_user(s: &str) -> Option<(&str, &str)> {
    let (user, rest) = s.strip_prefix("-u")?.split_once('-')?;
    (!user.is_empty() && user.bytes().all(|b| b.is_ascii_digit())).then_some((user, rest))
}

/// Reads a Dreamina id in the documented layout (real or captured-placeholder form).
pub(super) fn parse_dreamina(raw: &str) -> Option<DreaminaJobId> {
    let body = raw.strip_prefix('j')?;
    let (stamp, rest) = take_digits(body, 10)?;
    let (millis, rest) = take_digits(rest, 3)?;
    let (serial, rest) = take_digits(rest, 6)?;
    let (type_letter, rest) = take_type_letter(rest)?;
    let (user_id, account) = take_user(rest)?;
    let (month, day) = (two_digits(stamp, 0), two_digits(stamp, 2));
    let (hour, minute, second) = (two_digits(stamp, 4), two_digits(stamp, 6), two_digits(stamp, 8));
    // Any year will do to validate month/day, as long as it is a leap year (Feb 29 is legal).
    if jiff::civil::Date::new(2000, month, day).is_err() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let (region, email) = if let Some(account) = account.strip_suffix(DREAMINA_SUFFIX) {
        let (region, email) = account.split_once(':')?;
        if email.is_empty() {
            return None;
        }
        (region, Some(email.to_owned()))
    } else {
        // The captured documents replaced `<email>-bot` by the placeholder: `...-CA:[email protected]:dreamina`.
        (placeholder_suffix(account)?.strip_suffix(':')?, None)
    };
    if region.is_empty() || !region.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(DreaminaJobId {
        month,
        day,
        hour,
        minute,
        second,
        millisecond: millis.parse().ok()?,
        serial: serial.to_owned(),
        type_letter,
        user_id: user_id.to_owned(),
        region: region.to_owned(),
        email,
    })
}

/// Reads a Google Flow id in the documented layout.
pub(super) fn parse_google_flow(raw: &str) -> Option<GoogleFlowJobId> {
    let body = raw.strip_prefix('j')?;
    let (millis, rest) = take_digits(body, 13)?;
    let (type_letter, rest) = take_type_letter(rest)?;
    let (user_id, rest) = take_user(rest)?;
    let email = rest.strip_prefix("email:")?.strip_suffix(FLOW_SUFFIX).filter(|e| !e.is_empty())?;
    Some(GoogleFlowJobId {
        created_millis: millis.parse().ok()?,
        type_letter,
        user_id: user_id.to_owned(),
        email: email.to_owned(),
    })
}
