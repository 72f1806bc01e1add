//! Job identifiers: what a job id says about its provider, kind, endpoint and creation time.

use crate::job::{JobKind, Provider};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::fmt;
use std::str::FromStr;

/// The e-mail obfuscation the captured documents contain in place of `<email>-bot` (see fixtures/README.md).
///
/// The documents write it with a no-break space (U+00A0); a copy through a text editor often turns that
/// into a plain space, so both spellings are accepted.
pub const CAPTURED_EMAIL_PLACEHOLDER: &str = "[email\u{a0}protected]";
const PLACEHOLDER_SPELLINGS: [&str; 2] = [CAPTURED_EMAIL_PLACEHOLDER, "[email protected]"];

/// The status endpoint a job record is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET /v1/dreamina/videos/{jobid}`: video, video-upscale and video-interpolate jobs.
    DreaminaVideos,
    /// `GET /v1/dreamina/images/{jobid}`: image and image-upscale jobs.
    DreaminaImages,
    /// `GET /v1/dreamina/scheduler`: every executing job, grouped by account.
    DreaminaScheduler,
    /// `GET /v1/google-flow/jobs/{jobId}`.
    GoogleFlowJobs,
    /// `GET /v1/videos/{video_id}` on token360.
    Token360Videos,
}

impl Endpoint {
    /// The provider serving this endpoint.
    pub fn provider(self) -> Provider {
        match self {
            Self::DreaminaVideos | Self::DreaminaImages | Self::DreaminaScheduler => Provider::Dreamina,
            Self::GoogleFlowJobs => Provider::GoogleFlow,
            Self::Token360Videos => Provider::Token360,
        }
    }

    /// The path below the provider's base URL, without the job id segment.
    pub fn path_prefix(self) -> &'static [&'static str] {
        match self {
            Self::DreaminaVideos => &["v1", "dreamina", "videos"],
            Self::DreaminaImages => &["v1", "dreamina", "images"],
            Self::DreaminaScheduler => &["v1", "dreamina", "scheduler"],
            Self::GoogleFlowJobs => &["v1", "google-flow", "jobs"],
            Self::Token360Videos => &["v1", "videos"],
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path_prefix().join("/");
        match self {
            Self::DreaminaScheduler => write!(f, "GET /{path}"),
            _ => write!(f, "GET /{path}/{{id}}"),
        }
    }
}

/// Why a string is not a usable job id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobIdParseError {
    /// The string was empty.
    #[error("the job id is empty: pass the id returned when the job was submitted")]
    Empty,
    /// The string contains a character that cannot travel as one URL path segment.
    #[error(
        "the job id contains {found} at byte {at}, which no provider uses in an id: \
         pass the bare id, not a URL or a quoted string"
    )]
    ForbiddenCharacter {
        /// A description of the character (`'/'`, `a space`, `a control character`).
        found: String,
        /// Byte offset of the character.
        at: usize,
    },
    /// The id ends like a provider's id but its body does not follow that provider's format.
    #[error("`{id}` looks like a {provider} job id but {reason}; copy the id exactly as the API returned it")]
    Malformed {
        /// The input, for the message.
        id: String,
        /// The provider whose suffix the id carries.
        provider: Provider,
        /// What is wrong.
        reason: String,
    },
}

/// A job id: the provider's string kept exactly, plus what can be read from it.
///
/// ```
/// use genjob_models::{JobId, JobKind, Provider};
/// let id: JobId = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina".parse()?;
/// assert_eq!(id.provider(), Some(Provider::Dreamina));
/// assert_eq!(id.kind(), Some(JobKind::Video));
/// assert_eq!(id.to_string(), "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina");
/// # Ok::<(), genjob_models::JobIdParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JobId {
    raw: String,
    // Boxed: an id travels in every event and error, and the parsed parts are read rarely.
    form: Box<JobIdForm>,
}

/// What the format of a job id reveals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobIdForm {
    /// A useapi.net Dreamina id.
    Dreamina(DreaminaJobId),
    /// A useapi.net Google Flow id.
    GoogleFlow(GoogleFlowJobId),
    /// An id with no readable structure (token360 and anything unrecognised).
    Opaque,
}

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

const DREAMINA_SUFFIX: &str = "-bot:dreamina";
const FLOW_SUFFIX: &str = "-bot:google-flow";

impl JobId {
    /// Parses and classifies an id; see [`JobIdParseError`] for what is refused.
    pub fn parse(raw: &str) -> Result<Self, JobIdParseError> {
        check_characters(raw)?;
        let form = if raw.ends_with(DREAMINA_SUFFIX) || placeholder_suffix(raw).is_some() {
            JobIdForm::Dreamina(parse_dreamina(raw).map_err(|reason| JobIdParseError::Malformed {
                id: raw.to_owned(),
                provider: Provider::Dreamina,
                reason,
            })?)
        } else if raw.ends_with(FLOW_SUFFIX) {
            JobIdForm::GoogleFlow(parse_google_flow(raw).map_err(|reason| JobIdParseError::Malformed {
                id: raw.to_owned(),
                provider: Provider::GoogleFlow,
                reason,
            })?)
        } else {
            JobIdForm::Opaque
        };
        Ok(Self { raw: raw.to_owned(), form: Box::new(form) })
    }

    /// The id exactly as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// What the id's format reveals.
    pub fn form(&self) -> &JobIdForm {
        &self.form
    }

    /// The provider the id belongs to, or `None` for an opaque id (token360 ids carry no marker).
    pub fn provider(&self) -> Option<Provider> {
        match *self.form {
            JobIdForm::Dreamina(_) => Some(Provider::Dreamina),
            JobIdForm::GoogleFlow(_) => Some(Provider::GoogleFlow),
            JobIdForm::Opaque => None,
        }
    }

    /// The job kind the type letter stands for, when it is a documented one.
    pub fn kind(&self) -> Option<JobKind> {
        match self.form.as_ref() {
            JobIdForm::Dreamina(d) => match d.type_letter {
                'v' => Some(JobKind::Video),
                'V' => Some(JobKind::VideoUpscale),
                'F' => Some(JobKind::VideoInterpolate),
                'i' => Some(JobKind::Image),
                'I' => Some(JobKind::ImageUpscale),
                _ => None,
            },
            JobIdForm::GoogleFlow(g) => match g.type_letter {
                'v' => Some(JobKind::Video),
                'i' => Some(JobKind::Image),
                _ => None,
            },
            JobIdForm::Opaque => None,
        }
    }

    /// The endpoint that reads this job, when the id tells.
    ///
    /// Dreamina ids with an undocumented type letter return `None`: the caller must choose.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self.form.as_ref() {
            JobIdForm::Dreamina(_) => match self.kind()? {
                JobKind::Image | JobKind::ImageUpscale => Some(Endpoint::DreaminaImages),
                _ => Some(Endpoint::DreaminaVideos),
            },
            JobIdForm::GoogleFlow(_) => Some(Endpoint::GoogleFlowJobs),
            JobIdForm::Opaque => None,
        }
    }

    /// The creation time the id embeds, resolved against `reference` (typically "now").
    ///
    /// Dreamina ids omit the year: the result is the latest matching instant not after `reference`
    /// (a `0229` id resolves to the last leap year). Google Flow ids carry the full time.
    pub fn created_at(&self, reference: Timestamp) -> Option<Timestamp> {
        match self.form.as_ref() {
            JobIdForm::Dreamina(d) => d.created_at(reference),
            JobIdForm::GoogleFlow(g) => Timestamp::from_millisecond(g.created_millis).ok(),
            JobIdForm::Opaque => None,
        }
    }
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

impl FromStr for JobId {
    type Err = JobIdParseError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobId({:?})", self.raw)
    }
}

impl AsRef<str> for JobId {
    fn as_ref(&self) -> &str {
        &self.raw
    }
}

impl serde::Serialize for JobId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> serde::Deserialize<'de> for JobId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The maximum age a job can reach before its provider forgets it, if the provider documents one.
pub fn retention(provider: Provider) -> Option<SignedDuration> {
    match provider {
        Provider::Dreamina => Some(SignedDuration::from_hours(30 * 24)),
        Provider::GoogleFlow => Some(SignedDuration::from_hours(7 * 24)),
        Provider::Token360 => None,
    }
}

/// `raw` without a trailing `<placeholder>:dreamina`, when it has one.
fn placeholder_suffix(raw: &str) -> Option<&str> {
    let rest = raw.strip_suffix(":dreamina")?;
    PLACEHOLDER_SPELLINGS.iter().find_map(|p| rest.strip_suffix(p))
}

fn check_characters(raw: &str) -> Result<(), JobIdParseError> {
    if raw.is_empty() {
        return Err(JobIdParseError::Empty);
    }
    // The documents' placeholder contains a space; it is the one place a space is accepted.
    let in_placeholder = |at: usize| {
        PLACEHOLDER_SPELLINGS
            .iter()
            .any(|p| raw.match_indices(p).any(|(start, m)| (start..start + m.len()).contains(&at)))
    };
    for (at, c) in raw.char_indices() {
        if c.is_whitespace() && in_placeholder(at) {
            continue;
        }
        let found = match c {
            '/' | '?' | '#' => format!("{c:?}"),
            c if c.is_whitespace() => "whitespace".to_owned(),
            c if c.is_control() => "a control character".to_owned(),
            _ => continue,
        };
        return Err(JobIdParseError::ForbiddenCharacter { found, at });
    }
    Ok(())
}

/// Splits `n` ASCII digits off the front of `s`.
fn take_digits<'a>(s: &'a str, n: usize, what: &str) -> Result<(&'a str, &'a str), String> {
    match s.get(..n) {
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => Ok((digits, &s[n..])),
        _ => Err(format!("it does not have {n} digits of {what} where expected")),
    }
}

fn two_digits(digits: &str, at: usize) -> i8 {
    // Callers pass strings already checked to be ASCII digits, so the value is 0..=99.
    let b = digits.as_bytes();
    ((b[at] - b'0') * 10 + (b[at + 1] - b'0')) as i8
}

fn take_type_letter(s: &str) -> Result<(char, &str), String> {
    match s.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => Ok((c, &s[1..])),
        _ => Err("the type letter after the timestamp is missing".to_owned()),
    }
}

fn take_user(s: &str) -> Result<(&str, &str), String> {
    let rest = s.strip_prefix("-u").ok_or("`-u<user id>-` does not follow the type letter")?;
    let end = rest.find('-').ok_or("`-u<user id>-` does not follow the type letter")?;
    let user = &rest[..end];
    if user.is_empty() || !user.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the user id `{user}` is not a number"));
    }
    Ok((user, &rest[end + 1..]))
}

fn parse_dreamina(raw: &str) -> Result<DreaminaJobId, String> {
    let body = raw.strip_prefix('j').ok_or("it does not start with `j`")?;
    let (stamp, rest) = take_digits(body, 10, "MMDDhhmmss")?;
    let (millis, rest) = take_digits(rest, 3, "milliseconds")?;
    let (serial, rest) = take_digits(rest, 6, "serial")?;
    let (type_letter, rest) = take_type_letter(rest)?;
    let (user_id, account) = take_user(rest)?;
    let (month, day) = (two_digits(stamp, 0), two_digits(stamp, 2));
    let (hour, minute, second) = (two_digits(stamp, 4), two_digits(stamp, 6), two_digits(stamp, 8));
    // Any year will do to validate month/day, as long as it is a leap year (Feb 29 is legal).
    if jiff::civil::Date::new(2000, month, day).is_err() {
        return Err(format!("`{}` is not a calendar month and day", &stamp[..4]));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("`{}` is not a time of day", &stamp[4..]));
    }
    let (region, email) = if let Some(account) = account.strip_suffix(DREAMINA_SUFFIX) {
        let (region, email) = account.split_once(':').ok_or("the account is not `<REGION>:<email>`")?;
        if email.is_empty() {
            return Err("the account e-mail is empty".to_owned());
        }
        (region, Some(email.to_owned()))
    } else {
        // The captured documents replaced `<email>-bot` by the placeholder: `...-CA:[email protected]:dreamina`.
        let region = placeholder_suffix(account)
            .and_then(|r| r.strip_suffix(':'))
            .ok_or("the account is not `<REGION>:<email>`")?;
        (region, None)
    };
    if region.is_empty() || !region.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("the account region `{region}` is not a region code"));
    }
    Ok(DreaminaJobId {
        month,
        day,
        hour,
        minute,
        second,
        millisecond: millis.parse().map_err(|_| "bad milliseconds")?,
        serial: serial.to_owned(),
        type_letter,
        user_id: user_id.to_owned(),
        region: region.to_owned(),
        email,
    })
}

fn parse_google_flow(raw: &str) -> Result<GoogleFlowJobId, String> {
    let body = raw.strip_prefix('j').ok_or("it does not start with `j`")?;
    let (millis, rest) = take_digits(body, 13, "Unix milliseconds")?;
    let (type_letter, rest) = take_type_letter(rest)?;
    let (user_id, rest) = take_user(rest)?;
    let email = rest
        .strip_prefix("email:")
        .and_then(|r| r.strip_suffix(FLOW_SUFFIX))
        .filter(|e| !e.is_empty())
        .ok_or("the account is not `email:<email>`")?;
    Ok(GoogleFlowJobId {
        created_millis: millis.parse().map_err(|_| "bad milliseconds")?,
        type_letter,
        user_id: user_id.to_owned(),
        email: email.to_owned(),
    })
}
