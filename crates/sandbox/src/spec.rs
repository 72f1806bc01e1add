//! What a sandbox job is told to do: its kind, timing, outcome and injected faults.

use std::time::Duration;

use serde::Deserialize;

/// Which provider endpoint and job type a sandbox job imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum JobKind {
    /// Dreamina text/image-to-video job (`v`), read from `/v1/dreamina/videos/{jobid}`.
    DreaminaVideo,
    /// Dreamina video upscale job (`V`), read from `/v1/dreamina/videos/{jobid}`.
    DreaminaVideoUpscale,
    /// Dreamina video frame-interpolation job (`F`), read from `/v1/dreamina/videos/{jobid}`.
    DreaminaVideoInterpolate,
    /// Dreamina image job (`i`), read from `/v1/dreamina/images/{jobid}`.
    DreaminaImage,
    /// Dreamina image upscale job (`I`), read from `/v1/dreamina/images/{jobid}`.
    DreaminaImageUpscale,
    /// Google Flow video job, read from `/v1/google-flow/jobs/{jobId}`.
    GoogleFlowVideo,
    /// Google Flow image job, read from `/v1/google-flow/jobs/{jobId}`.
    GoogleFlowImage,
    /// token360 OpenAI-style video task, read from `/v1/videos/{video_id}`.
    Token360Video,
}

/// The provider family a job belongs to; decides the path, record shape and error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Dreamina,
    GoogleFlow,
    Token360,
}

impl JobKind {
    /// The kebab-case name used in the control endpoint's JSON (`dreamina-video`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::DreaminaVideo => "dreamina-video",
            JobKind::DreaminaVideoUpscale => "dreamina-video-upscale",
            JobKind::DreaminaVideoInterpolate => "dreamina-video-interpolate",
            JobKind::DreaminaImage => "dreamina-image",
            JobKind::DreaminaImageUpscale => "dreamina-image-upscale",
            JobKind::GoogleFlowVideo => "google-flow-video",
            JobKind::GoogleFlowImage => "google-flow-image",
            JobKind::Token360Video => "token360-video",
        }
    }

    pub(crate) fn provider(self) -> Provider {
        match self {
            JobKind::DreaminaVideo
            | JobKind::DreaminaVideoUpscale
            | JobKind::DreaminaVideoInterpolate
            | JobKind::DreaminaImage
            | JobKind::DreaminaImageUpscale => Provider::Dreamina,
            JobKind::GoogleFlowVideo | JobKind::GoogleFlowImage => Provider::GoogleFlow,
            JobKind::Token360Video => Provider::Token360,
        }
    }

    /// Whether the job produces videos (and is read from a video endpoint).
    pub(crate) fn is_video(self) -> bool {
        matches!(
            self,
            JobKind::DreaminaVideo
                | JobKind::DreaminaVideoUpscale
                | JobKind::DreaminaVideoInterpolate
                | JobKind::GoogleFlowVideo
                | JobKind::Token360Video
        )
    }

    pub(crate) fn default_model(self) -> &'static str {
        match self {
            JobKind::DreaminaVideo
            | JobKind::DreaminaVideoUpscale
            | JobKind::DreaminaVideoInterpolate
            | JobKind::Token360Video => "seedance-2.0",
            JobKind::DreaminaImage | JobKind::DreaminaImageUpscale => "seedream-4.0",
            JobKind::GoogleFlowVideo => "veo-3.1-fast",
            JobKind::GoogleFlowImage => "imagen-4",
        }
    }

    /// Typical generation times from PROVIDER_FACTS.md and the documented example jobs.
    pub(crate) fn default_duration(self) -> Duration {
        let secs = match self {
            // The documented Dreamina video example took 105 s (14:05:30 → 14:07:15).
            JobKind::DreaminaVideo => 105,
            // Upscale/interpolation times are undocumented; the middle of "60–180 s".
            JobKind::DreaminaVideoUpscale | JobKind::DreaminaVideoInterpolate => 90,
            // The documented image example took 36.7 s.
            JobKind::DreaminaImage => 37,
            // The documented image upscale example took 97 s (14:06:30 → 14:08:07).
            JobKind::DreaminaImageUpscale => 97,
            // Veo 3.1 typically takes 60–180 s.
            JobKind::GoogleFlowVideo => 120,
            // Imagen 4 / Nano Banana typically take 10–20 s.
            JobKind::GoogleFlowImage => 15,
            JobKind::Token360Video => 90,
        };
        Duration::from_secs(secs)
    }

    pub(crate) fn default_outputs(self) -> u32 {
        match self {
            JobKind::DreaminaImage | JobKind::GoogleFlowImage => 2,
            _ => 1,
        }
    }

    /// How many outputs the real service can return for this kind of job.
    pub(crate) fn max_outputs(self) -> u32 {
        match self {
            // Seedream returns up to 4 images; Google Flow's `count` is 1–4.
            JobKind::DreaminaImage | JobKind::GoogleFlowImage | JobKind::GoogleFlowVideo => 4,
            _ => 1,
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a job failed: the code, summary and optional details the provider reports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// Provider error code (Dreamina `code`, Google Flow `code`, token360 `error.code` as text).
    pub code: i64,
    /// Error summary (Dreamina/Google Flow `error`, token360 `error.message`).
    pub error: String,
    /// Extra detail (Dreamina `errorDetails`, Google Flow `response.error.message`).
    #[serde(default)]
    pub details: Option<String>,
}

impl Failure {
    /// A failure with `code` and summary `error` and no details.
    pub fn new(code: i64, error: impl Into<String>) -> Failure {
        Failure { code, error: error.into(), details: None }
    }

    /// The same failure with `details` attached.
    pub fn with_details(mut self, details: impl Into<String>) -> Failure {
        self.details = Some(details.into());
        self
    }

    /// Dreamina's documented output-moderation failure (`2043`, `OutputVideoRisk`).
    pub fn moderation() -> Failure {
        Failure::new(2043, "fail_code: 2043").with_details("OutputVideoRisk")
    }
}

/// How a job ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Finishes successfully when its duration has passed.
    #[default]
    Complete,
    /// Fails with the given failure when its duration has passed.
    Fail(Failure),
    /// Never finishes: stays `created` (useapi) or `queued` (token360). Like the real service,
    /// the sandbox still fails a Dreamina job left `created` for an hour (code 408) after a lag.
    Stuck,
}

/// A job to add to the sandbox; `None` fields take per-kind defaults.
///
/// In the control endpoint's JSON, durations are seconds (`105`, `0.5`) or text that
/// jiff understands (`"1m 45s"`, `"PT2M"`, `"50ms"`, and with 24-hour days `"8d"`, `"1w 2d"`), e.g.
/// `{"kind":"dreamina-video","duration":"2m","outcome":{"fail":{"code":2043,"error":"fail_code: 2043"}}}`
/// or, with read faults, `{"kind":"token360-video","stale_reads":2,"record_lag":"30s","retry_after":"-5"}`,
/// or, with callback faults, `{"kind":"google-flow-video","reply_url":"http://127.0.0.1:8080/hook","callback_duplicates":1,"callback_delay":"5s"}`.
///
/// Each read of the job (a record read, or a token360 `/content` request; never a listing) meets
/// its faults in this order: `rate_limited` 429s, then `server_errors` 503s, then `hang_reads`
/// held-open reads; only then is a record (or `/content` answer) rendered, as of `record_lag` ago
/// and, for `stale_reads` reads after the job was first seen finished, as of just before it
/// finished. `slow` delays every answer but the held-open ones. Before any fault, a read the token
/// may not make is refused: another user's job (`other_user`), or one past its provider's retention.
///
/// Callbacks meet none of the read faults: each body is the true record as of its status change.
/// A job added already past a status change (with `age`) gets no callback for that change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JobSpec {
    /// Which endpoint and job type to imitate.
    pub kind: JobKind,
    /// Model name; defaults per kind (seedance-2.0, seedream-4.0, veo-3.1-fast, imagen-4).
    #[serde(default)]
    pub model: Option<String>,
    /// Prompt echoed in the record; a stock prompt when absent.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Simulated time from creation to the final state; typical times per kind when absent.
    #[serde(default, deserialize_with = "duration_input::optional")]
    pub duration: Option<Duration>,
    /// How old the job already is when added: backdates its creation.
    #[serde(default, deserialize_with = "duration_input::required")]
    pub age: Duration,
    /// How the job ends.
    #[serde(default)]
    pub outcome: Outcome,
    /// Number of outputs (images or videos), clamped to what the service allows.
    #[serde(default)]
    pub outputs: Option<u32>,
    /// Account e-mail (Dreamina account `REGION:email`; masked in Google Flow ids as the service does).
    #[serde(default)]
    pub email: Option<String>,
    /// Dreamina account region (`US` when absent).
    #[serde(default)]
    pub region: Option<String>,
    /// useapi.net user id embedded in job ids (`12345` when absent).
    #[serde(default)]
    pub user_id: Option<u64>,
    /// Webhook URL echoed as `replyUrl` in the request and the scheduler listing (as
    /// `parameters.callback_url` in a documented-style token360 record), and POSTed the job's callbacks: Google Flow
    /// on every status change, Dreamina on completion, token360 once finished (retried).
    #[serde(default)]
    pub reply_url: Option<String>,
    /// The job's callbacks are never sent (a webhook lost on the way); reads are unaffected.
    #[serde(default)]
    pub callback_lost: bool,
    /// Every callback is sent this many extra times, the copies at the same moment (an
    /// at-least-once sender repeating itself); each copy is an attempt of its own.
    #[serde(default)]
    pub callback_duplicates: u32,
    /// Every callback is sent this much simulated time after its status change, its body still
    /// the record as of the change (a webhook stuck in the sender's queue).
    #[serde(default, deserialize_with = "duration_input::optional")]
    pub callback_delay: Option<Duration>,
    /// The next this-many reads of the job answer 429 with `Retry-After`.
    #[serde(default)]
    pub rate_limited: u32,
    /// After any 429s, the next this-many reads of the job answer 503.
    #[serde(default)]
    pub server_errors: u32,
    /// Real-time delay added to every read of the job.
    #[serde(default, deserialize_with = "duration_input::optional")]
    pub slow: Option<Duration>,
    /// Output downloads announce the full `Content-Length` but drop the connection half-way.
    #[serde(default)]
    pub truncate_download: bool,
    /// Simulated lifetime of output URLs handed out by a read (the sandbox default, 6 h, when absent).
    #[serde(default, deserialize_with = "duration_input::optional")]
    pub expire_urls_after: Option<Duration>,
    /// After any 429s and 503s, the next this-many reads are accepted and never answered
    /// (held open until the sandbox shuts down, then answered 503); `u32::MAX` holds every read.
    #[serde(default)]
    pub hang_reads: u32,
    /// After the first read that shows the job finished, the next this-many reads answer the
    /// record from just before it finished (a lagging replica); then the true record again.
    #[serde(default)]
    pub stale_reads: u32,
    /// Raw `Retry-After` value for this job's 429s instead of the config's seconds, sent verbatim
    /// (`"18446744073709551615"`, `"-5"`, an HTTP date); Dreamina's `retryAfter` carries it when numeric.
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Every read renders the job as of this much simulated time ago (a replica that lags behind);
    /// a job younger than the lag reads as just created.
    #[serde(default, deserialize_with = "duration_input::optional")]
    pub record_lag: Option<Duration>,
    /// Renders a token360 task as OpenAI's own video object (`seconds`, `size`, `completed_at`,
    /// `expires_at`, no URL: the file comes from `/content`); other kinds ignore it.
    #[serde(default)]
    pub openai_style: bool,
    /// The job belongs to another useapi.net user than the token's (its id names user 54321 unless
    /// `user_id` says otherwise): Google Flow answers 403, Dreamina and token360 404, and no
    /// listing shows it.
    #[serde(default)]
    pub other_user: bool,
}

impl JobSpec {
    /// A job of `kind` with every default: completes after the kind's typical time.
    pub fn new(kind: JobKind) -> JobSpec {
        JobSpec {
            kind,
            model: None,
            prompt: None,
            duration: None,
            age: Duration::ZERO,
            outcome: Outcome::Complete,
            outputs: None,
            email: None,
            region: None,
            user_id: None,
            reply_url: None,
            callback_lost: false,
            callback_duplicates: 0,
            callback_delay: None,
            rate_limited: 0,
            server_errors: 0,
            slow: None,
            truncate_download: false,
            expire_urls_after: None,
            hang_reads: 0,
            stale_reads: 0,
            retry_after: None,
            record_lag: None,
            openai_style: false,
            other_user: false,
        }
    }

    /// A Dreamina video job.
    pub fn dreamina_video() -> JobSpec {
        JobSpec::new(JobKind::DreaminaVideo)
    }

    /// A Dreamina image job.
    pub fn dreamina_image() -> JobSpec {
        JobSpec::new(JobKind::DreaminaImage)
    }

    /// A Google Flow video job.
    pub fn google_flow_video() -> JobSpec {
        JobSpec::new(JobKind::GoogleFlowVideo)
    }

    /// A Google Flow image job.
    pub fn google_flow_image() -> JobSpec {
        JobSpec::new(JobKind::GoogleFlowImage)
    }

    /// A token360 video task.
    pub fn token360_video() -> JobSpec {
        JobSpec::new(JobKind::Token360Video)
    }

    /// Sets the model name.
    pub fn with_model(mut self, model: impl Into<String>) -> JobSpec {
        self.model = Some(model.into());
        self
    }

    /// Sets the prompt.
    pub fn with_prompt(mut self, prompt: impl Into<String>) -> JobSpec {
        self.prompt = Some(prompt.into());
        self
    }

    /// Sets the simulated time from creation to the final state.
    pub fn with_duration(mut self, duration: Duration) -> JobSpec {
        self.duration = Some(duration);
        self
    }

    /// Backdates the job's creation by `age`.
    pub fn with_age(mut self, age: Duration) -> JobSpec {
        self.age = age;
        self
    }

    /// Sets how the job ends.
    pub fn with_outcome(mut self, outcome: Outcome) -> JobSpec {
        self.outcome = outcome;
        self
    }

    /// Makes the job fail with `failure`.
    pub fn failing(self, failure: Failure) -> JobSpec {
        self.with_outcome(Outcome::Fail(failure))
    }

    /// Makes the job never finish on its own.
    pub fn stuck(self) -> JobSpec {
        self.with_outcome(Outcome::Stuck)
    }

    /// Sets the number of outputs.
    pub fn with_outputs(mut self, outputs: u32) -> JobSpec {
        self.outputs = Some(outputs);
        self
    }

    /// Sets the account e-mail.
    pub fn with_email(mut self, email: impl Into<String>) -> JobSpec {
        self.email = Some(email.into());
        self
    }

    /// Sets the Dreamina account region.
    pub fn with_region(mut self, region: impl Into<String>) -> JobSpec {
        self.region = Some(region.into());
        self
    }

    /// Sets the useapi.net user id.
    pub fn with_user_id(mut self, user_id: u64) -> JobSpec {
        self.user_id = Some(user_id);
        self
    }

    /// Sets the webhook URL echoed as `replyUrl` and POSTed the job's callbacks.
    pub fn with_reply_url(mut self, url: impl Into<String>) -> JobSpec {
        self.reply_url = Some(url.into());
        self
    }

    /// Never sends the job's callbacks.
    pub fn with_callback_lost(mut self) -> JobSpec {
        self.callback_lost = true;
        self
    }

    /// Sends every callback `extra` more times.
    pub fn with_callback_duplicates(mut self, extra: u32) -> JobSpec {
        self.callback_duplicates = extra;
        self
    }

    /// Sends every callback `delay` of simulated time late.
    pub fn with_callback_delay(mut self, delay: Duration) -> JobSpec {
        self.callback_delay = Some(delay);
        self
    }

    /// Makes the next `reads` reads answer 429.
    pub fn with_rate_limited(mut self, reads: u32) -> JobSpec {
        self.rate_limited = reads;
        self
    }

    /// Makes the next `reads` reads (after any 429s) answer 503.
    pub fn with_server_errors(mut self, reads: u32) -> JobSpec {
        self.server_errors = reads;
        self
    }

    /// Delays every read by `delay` of real time.
    pub fn with_slow(mut self, delay: Duration) -> JobSpec {
        self.slow = Some(delay);
        self
    }

    /// Makes output downloads break off half-way.
    pub fn with_truncated_download(mut self) -> JobSpec {
        self.truncate_download = true;
        self
    }

    /// Sets the simulated lifetime of the output URLs handed out by each read.
    pub fn with_expire_urls_after(mut self, lifetime: Duration) -> JobSpec {
        self.expire_urls_after = Some(lifetime);
        self
    }

    /// Holds the next `reads` reads (after any 429s and 503s) open without answering; `u32::MAX` holds all.
    pub fn with_hang_reads(mut self, reads: u32) -> JobSpec {
        self.hang_reads = reads;
        self
    }

    /// Makes the `reads` reads after the first finished one answer the pre-finish record.
    pub fn with_stale_reads(mut self, reads: u32) -> JobSpec {
        self.stale_reads = reads;
        self
    }

    /// Sends `value` verbatim as `Retry-After` in this job's 429 answers.
    pub fn with_retry_after(mut self, value: impl Into<String>) -> JobSpec {
        self.retry_after = Some(value.into());
        self
    }

    /// Renders every read as of `lag` of simulated time ago.
    pub fn with_record_lag(mut self, lag: Duration) -> JobSpec {
        self.record_lag = Some(lag);
        self
    }

    /// Renders a token360 task as OpenAI's own video object, without a URL.
    pub fn with_openai_style(mut self) -> JobSpec {
        self.openai_style = true;
        self
    }

    /// Makes the job another user's, which the sandbox's token may not read.
    pub fn with_other_user(mut self) -> JobSpec {
        self.other_user = true;
        self
    }
}

/// A mixed batch that exercises every provider, outcome and fault, for a standalone sandbox.
pub fn demo_jobs() -> Vec<JobSpec> {
    vec![
        JobSpec::dreamina_video(),
        JobSpec::dreamina_video().with_email("second@example.com").with_duration(Duration::from_secs(150)),
        JobSpec::dreamina_video().failing(Failure::moderation()),
        JobSpec::dreamina_image(),
        JobSpec::new(JobKind::DreaminaImageUpscale),
        JobSpec::new(JobKind::DreaminaVideoUpscale).with_rate_limited(2),
        // Almost an hour old and never finishing: shows the 1-hour timeout rule.
        JobSpec::dreamina_video().stuck().with_age(Duration::from_secs(59 * 60 + 30)),
        JobSpec::google_flow_video(),
        JobSpec::google_flow_image().with_outputs(4),
        JobSpec::google_flow_image()
            .failing(Failure::new(500, "API error: 500").with_details("Internal error encountered.")),
        JobSpec::token360_video(),
        JobSpec::token360_video().with_server_errors(1),
        JobSpec::token360_video().failing(Failure::new(400, "The generated video did not pass content moderation.")),
        // For OpenAI's own clients: no URL in the record, the bytes from `/content`.
        JobSpec::token360_video().with_openai_style(),
    ]
}

/// Reading durations from control-endpoint JSON: seconds as a number, or jiff duration text.
pub(crate) mod duration_input {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Input {
        Seconds(f64),
        Text(String),
    }

    fn parse(input: Input) -> Result<Duration, String> {
        match input {
            Input::Seconds(secs) => Duration::try_from_secs_f64(secs)
                .map_err(|_| format!("{secs} is not a usable number of seconds: give a value of 0 or more")),
            Input::Text(text) => {
                let signed = text.parse::<jiff::SignedDuration>().or_else(|_| in_days(&text)).map_err(|e| {
                    format!("cannot read {text:?} as a duration ({e}): write e.g. 105, \"1m 45s\", \"8d\" or \"PT2M\"")
                })?;
                Duration::try_from(signed)
                    .map_err(|_| format!("duration {text:?} is negative: give a value of 0 or more"))
            }
        }
    }

    /// Text with days or weeks (`"8d"`, `"1w 2d"`, `"P31D"`), which a `SignedDuration` refuses:
    /// a job's age in days is common, and here a day is 24 hours (the sandbox runs in UTC).
    fn in_days(text: &str) -> Result<jiff::SignedDuration, jiff::Error> {
        text.parse::<jiff::Span>()?.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
    }

    pub(crate) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        parse(Input::deserialize(d)?).map_err(D::Error::custom)
    }

    pub(crate) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<Input>::deserialize(d)? {
            Some(input) => parse(input).map(Some).map_err(D::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_control_json_with_numbers_and_text_durations() -> Result<(), serde_json::Error> {
        let spec: JobSpec = serde_json::from_str(
            r#"{"kind":"dreamina-video","duration":"1m 45s","age":30,"slow":"50ms",
                "outcome":{"fail":{"code":2043,"error":"fail_code: 2043","details":"OutputVideoRisk"}}}"#,
        )?;
        assert_eq!(spec.kind, JobKind::DreaminaVideo);
        assert_eq!(spec.duration, Some(Duration::from_secs(105)));
        assert_eq!(spec.age, Duration::from_secs(30));
        assert_eq!(spec.slow, Some(Duration::from_millis(50)));
        assert_eq!(spec.outcome, Outcome::Fail(Failure::moderation()));

        let stuck: JobSpec = serde_json::from_str(r#"{"kind":"token360-video","outcome":"stuck"}"#)?;
        assert_eq!(stuck.outcome, Outcome::Stuck);
        assert_eq!(stuck.kind.as_str(), "token360-video");
        Ok(())
    }

    #[test]
    fn reads_ages_in_days_and_weeks_as_24_hour_days() -> Result<(), serde_json::Error> {
        const DAY: u64 = 24 * 60 * 60;
        for (age, secs) in [
            ("8d", 8 * DAY),
            ("31 days", 31 * DAY),
            ("1w 2d", 9 * DAY),
            ("P31D", 31 * DAY),
            ("2d 3h", 2 * DAY + 3 * 3600),
        ] {
            let spec: JobSpec = serde_json::from_value(serde_json::json!({"kind": "google-flow-video", "age": age}))?;
            assert_eq!(spec.age, Duration::from_secs(secs), "{age}");
        }
        // Months and years have no fixed length: refused with advice, as is a negative age.
        for bad in ["1 month", "1y", "-8d"] {
            let error = serde_json::from_value::<JobSpec>(serde_json::json!({"kind": "dreamina-video", "age": bad}));
            assert!(error.is_err_and(|e| e.to_string().contains("give") || e.to_string().contains("write")), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn reads_the_read_fault_fields() -> Result<(), serde_json::Error> {
        let spec: JobSpec = serde_json::from_str(
            r#"{"kind":"dreamina-video","hang_reads":4294967295,"stale_reads":2,
                "retry_after":"Wed, 21 Oct 2015 07:28:00 GMT","record_lag":"30s"}"#,
        )?;
        assert_eq!((spec.hang_reads, spec.stale_reads), (u32::MAX, 2));
        assert_eq!(spec.retry_after.as_deref(), Some("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(spec.record_lag, Some(Duration::from_secs(30)));
        let plain: JobSpec = serde_json::from_str(r#"{"kind":"dreamina-video"}"#)?;
        assert_eq!((plain.hang_reads, plain.stale_reads, plain.retry_after, plain.record_lag), (0, 0, None, None));
        assert!(!plain.openai_style);
        let openai: JobSpec = serde_json::from_str(r#"{"kind":"token360-video","openai_style":true}"#)?;
        assert!(openai.openai_style);
        Ok(())
    }

    #[test]
    fn reads_the_callback_fault_fields() -> Result<(), serde_json::Error> {
        let spec: JobSpec = serde_json::from_str(
            r#"{"kind":"google-flow-video","reply_url":"http://127.0.0.1:9/hook","callback_lost":true,
                "callback_duplicates":2,"callback_delay":"1m"}"#,
        )?;
        assert_eq!(spec.reply_url.as_deref(), Some("http://127.0.0.1:9/hook"));
        assert_eq!((spec.callback_lost, spec.callback_duplicates), (true, 2));
        assert_eq!(spec.callback_delay, Some(Duration::from_secs(60)));
        let plain = JobSpec::token360_video();
        assert_eq!((plain.callback_lost, plain.callback_duplicates, plain.callback_delay), (false, 0, None));
        Ok(())
    }

    #[test]
    fn rejects_negative_durations_and_unknown_fields() {
        for bad in [
            r#"{"kind":"dreamina-video","duration":-5}"#,
            r#"{"kind":"dreamina-video","duration":"-5s"}"#,
            r#"{"kind":"dreamina-video","duration":"soon"}"#,
            r#"{"kind":"dreamina-video","durration":5}"#,
            r#"{"kind":"dreamina-video","record_lag":"-1s"}"#,
            r#"{"kind":"dreamina-video","hang_reads":-1}"#,
            r#"{"kind":"dreamina-video","callback_delay":"-1s"}"#,
            r#"{"kind":"dreamina-video","callback_duplicates":-1}"#,
            r#"{"kind":"midjourney"}"#,
        ] {
            assert!(serde_json::from_str::<JobSpec>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kind_names_round_trip_through_json() -> Result<(), serde_json::Error> {
        for kind in [
            JobKind::DreaminaVideo,
            JobKind::DreaminaVideoUpscale,
            JobKind::DreaminaVideoInterpolate,
            JobKind::DreaminaImage,
            JobKind::DreaminaImageUpscale,
            JobKind::GoogleFlowVideo,
            JobKind::GoogleFlowImage,
            JobKind::Token360Video,
        ] {
            let parsed: JobKind = serde_json::from_value(serde_json::json!(kind.as_str()))?;
            assert_eq!(parsed, kind);
        }
        Ok(())
    }
}
