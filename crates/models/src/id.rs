//! Job identifiers: what a job id says about its provider, kind, endpoint and creation time.

mod layout;

pub use layout::{DreaminaJobId, GoogleFlowJobId};

use crate::job::{JobKind, Provider};
use jiff::{SignedDuration, Timestamp};
use std::fmt;
use std::str::FromStr;

/// The e-mail obfuscation the captured documents contain in place of `<email>-bot` (see fixtures/README.md).
///
/// The documents write it with a no-break space (U+00A0); a copy through a text editor often turns that
/// into a plain space, so both spellings are accepted.
pub const CAPTURED_EMAIL_PLACEHOLDER: &str = "[email\u{a0}protected]";
const PLACEHOLDER_SPELLINGS: [&str; 2] = [CAPTURED_EMAIL_PLACEHOLDER, "[email protected]"];

/// Which documented response a body is: it decides the record type (the adapters own the URL paths).
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
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DreaminaVideos => "the Dreamina video job record",
            Self::DreaminaImages => "the Dreamina image job record",
            Self::DreaminaScheduler => "the Dreamina scheduler listing",
            Self::GoogleFlowJobs => "the Google Flow job record",
            Self::Token360Videos => "the token360 video object",
        })
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
    /// The id is a provider's ending (`-bot:dreamina`, `-bot:google-flow`) with nothing before it.
    ///
    /// Anything else before such an ending is accepted (see [`JobIdForm::UnrecognizedLayout`]); this
    /// case is refused because no job can have it and the provider would only answer 404.
    #[error("`{id}` looks like a {provider} job id but {reason}; copy the id exactly as the API returned it")]
    Malformed {
        /// The input, for the message.
        id: String,
        /// The provider whose ending the id carries.
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
    /// An id with a provider's ending (`-bot:dreamina`, `-bot:google-flow`) but not that provider's
    /// documented layout: most likely a format the service adopted after this version, so it is kept
    /// and usable, like an unknown enum value.
    ///
    /// The provider is known; the creation time is not. The kind is known when `type_letter` is one
    /// of the provider's documented letters.
    #[non_exhaustive]
    UnrecognizedLayout {
        /// The provider whose ending the id carries.
        provider: Provider,
        /// The ASCII letter right before the first `-u<digits>-`, where both documented layouts put the
        /// type letter; `None` when there is no such segment or no letter before it.
        type_letter: Option<char>,
    },
    /// An id with no provider's ending: token360 ids, and anything else.
    Opaque,
}

const DREAMINA_SUFFIX: &str = "-bot:dreamina";
const FLOW_SUFFIX: &str = "-bot:google-flow";

impl JobId {
    /// Parses and classifies an id; see [`JobIdParseError`] for what is refused.
    ///
    /// An id ending in `-bot:dreamina` (or the captured documents' `[email protected]:dreamina`) is a
    /// Dreamina id and one ending in `-bot:google-flow` a Google Flow id, whatever comes before: the
    /// documented layout gives [`JobIdForm::Dreamina`] or [`JobIdForm::GoogleFlow`], any other
    /// [`JobIdForm::UnrecognizedLayout`], so a format the service adopts tomorrow still parses today.
    pub fn parse(raw: &str) -> Result<Self, JobIdParseError> {
        check_characters(raw)?;
        let Some((provider, head)) = provider_ending(raw) else {
            return Ok(Self { raw: raw.to_owned(), form: Box::new(JobIdForm::Opaque) });
        };
        if head.is_empty() {
            return Err(JobIdParseError::Malformed {
                id: raw.to_owned(),
                provider,
                reason: format!("nothing comes before `{raw}`"),
            });
        }
        let documented = match provider {
            Provider::Dreamina => layout::parse_dreamina(raw).map(JobIdForm::Dreamina),
            // `provider_ending` knows two endings, so this is Google Flow.
            _ => layout::parse_google_flow(raw).map(JobIdForm::GoogleFlow),
        };
        let form = documented
            .unwrap_or_else(|| JobIdForm::UnrecognizedLayout { provider, type_letter: layout::loose_type_letter(raw) });
        Ok(Self { raw: raw.to_owned(), form: Box::new(form) })
    }

    /// True when both ids name the same job: equal, or equal but for the e-mail that captured
    /// documents replace with a placeholder (`…-US:[email protected]:dreamina` stands for any e-mail).
    ///
    /// ```
    /// use genjob_models::{CAPTURED_EMAIL_PLACEHOLDER, JobId};
    /// let real: JobId = "j0223140530123456789v-u12345-US:user@example.com-bot:dreamina".parse()?;
    /// let captured: JobId = format!("j0223140530123456789v-u12345-US:{CAPTURED_EMAIL_PLACEHOLDER}:dreamina").parse()?;
    /// let other: JobId = "j0223140530123456789v-u99999-US:user@example.com-bot:dreamina".parse()?;
    /// assert!(real.same_job(&captured) && !real.same_job(&other));
    /// # Ok::<(), genjob_models::JobIdParseError>(())
    /// ```
    pub fn same_job(&self, other: &JobId) -> bool {
        if self.raw == other.raw {
            return true;
        }
        match (self.form.as_ref(), other.form.as_ref()) {
            (JobIdForm::Dreamina(a), JobIdForm::Dreamina(b)) if a.email.is_none() || b.email.is_none() => {
                let without_email = |d: &DreaminaJobId| DreaminaJobId { email: None, ..d.clone() };
                without_email(a) == without_email(b)
            }
            _ => false,
        }
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
            JobIdForm::UnrecognizedLayout { provider, .. } => Some(provider),
            JobIdForm::Opaque => None,
        }
    }

    /// The job kind the type letter stands for, when it is a documented one.
    ///
    /// Dreamina letters: `v` video, `V` video upscale, `F` video interpolation, `i` image, `I` image
    /// upscale; Google Flow letters: `v` video, `i` image.
    pub fn kind(&self) -> Option<JobKind> {
        match self.form.as_ref() {
            JobIdForm::Dreamina(d) => layout::letter_kind(Provider::Dreamina, d.type_letter),
            JobIdForm::GoogleFlow(g) => layout::letter_kind(Provider::GoogleFlow, g.type_letter),
            JobIdForm::UnrecognizedLayout { provider, type_letter } => layout::letter_kind(*provider, (*type_letter)?),
            JobIdForm::Opaque => None,
        }
    }

    /// The endpoint that reads this job, when the id tells.
    ///
    /// A documented-layout Dreamina id with an undocumented type letter returns `None`: the caller must
    /// choose. An id in an unrecognised layout returns its provider's endpoint for a documented letter,
    /// else the fallback `GET /v1/dreamina/videos/{id}` (most Dreamina kinds are video kinds) or
    /// `GET /v1/google-flow/jobs/{id}` (Google Flow has only that one).
    pub fn endpoint(&self) -> Option<Endpoint> {
        let dreamina = |kind: Option<JobKind>| match kind {
            Some(JobKind::Image | JobKind::ImageUpscale) => Endpoint::DreaminaImages,
            _ => Endpoint::DreaminaVideos,
        };
        match self.form.as_ref() {
            JobIdForm::Dreamina(_) => Some(dreamina(Some(self.kind()?))),
            JobIdForm::GoogleFlow(_) => Some(Endpoint::GoogleFlowJobs),
            JobIdForm::UnrecognizedLayout { provider, .. } => match provider {
                Provider::Dreamina => Some(dreamina(self.kind())),
                Provider::GoogleFlow => Some(Endpoint::GoogleFlowJobs),
                // `parse` builds this form only for the two endings it knows; kept total.
                _ => None,
            },
            JobIdForm::Opaque => None,
        }
    }

    /// The creation time the id embeds, resolved against `reference` (typically "now").
    ///
    /// Dreamina ids omit the year: the result is the latest matching instant not after `reference`
    /// (a `0229` id resolves to the last leap year). Google Flow ids carry the full time. An id in an
    /// unrecognised layout gives `None`: its digits may no longer mean what they meant.
    pub fn created_at(&self, reference: Timestamp) -> Option<Timestamp> {
        match self.form.as_ref() {
            JobIdForm::Dreamina(d) => d.created_at(reference),
            JobIdForm::GoogleFlow(g) => Timestamp::from_millisecond(g.created_millis).ok(),
            JobIdForm::UnrecognizedLayout { .. } | JobIdForm::Opaque => None,
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
        _ => None,
    }
}

/// The provider whose ending `raw` carries, and what comes before that ending.
fn provider_ending(raw: &str) -> Option<(Provider, &str)> {
    if let Some(head) = raw.strip_suffix(DREAMINA_SUFFIX).or_else(|| placeholder_suffix(raw)) {
        Some((Provider::Dreamina, head))
    } else {
        Some((Provider::GoogleFlow, raw.strip_suffix(FLOW_SUFFIX)?))
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
