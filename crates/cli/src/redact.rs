//! Keeping the configured API tokens, and terminal control characters, out of what `genjob` prints on stderr.

use crate::sources::{Lookup, env_names};
use genjob::Provider;
use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

/// The configured API tokens, in every form a message may quote them, to be replaced by `***`.
///
/// The transport scrubs the token from what providers answer; this catches what it never sees: a
/// token pasted where a job id goes, inside a base URL, or in a value clap or the id parser quotes.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Each token variable that is set, with its value (trimmed, as the transport reads it).
    secrets: Vec<(&'static str, String)>,
    /// The values as written and as quoted with escapes (`{:?}`), longest first, so a token that
    /// contains another is replaced whole.
    forms: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variables: Vec<&str> = self.secrets.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Redactor").field("variables", &variables).finish_non_exhaustive()
    }
}

impl Redactor {
    /// The tokens of every provider, read through `lookup`, whether or not they are valid tokens.
    pub fn from_lookup(lookup: Lookup<'_>) -> Self {
        let mut secrets: Vec<(&'static str, String)> = Vec::new();
        for name in Provider::ALL.into_iter().filter_map(env_names).map(|names| names.token) {
            if secrets.iter().any(|(known, _)| *known == name) {
                continue;
            }
            if let Some(value) = lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
                secrets.push((name, value));
            }
        }
        let mut forms: Vec<String> =
            secrets.iter().flat_map(|(_, value)| [value.clone(), value.escape_debug().to_string()]).collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Self { secrets, forms }
    }

    /// `text` with every occurrence of a configured token replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut shown = text.to_owned();
        for form in &self.forms {
            if shown.contains(form.as_str()) {
                shown = shown.replace(form.as_str(), "***");
            }
        }
        shown
    }

    /// The variable whose value `argument` is: someone pasted the token where a job id goes.
    pub fn token_variable(&self, argument: &str) -> Option<&'static str> {
        let argument = argument.trim();
        self.secrets.iter().find(|(_, value)| value == argument).map(|(name, _)| *name)
    }
}

/// The most characters of one message shown; the rest of a longer one is left out from its middle.
const MAX_SHOWN: usize = 4000;

/// `text` made safe to print: control characters other than newline and tab, and bidirectional
/// overrides, escaped; a message longer than [`MAX_SHOWN`] characters cut in the middle.
///
/// Error messages quote files and servers: an escape sequence in them must not reach the terminal,
/// where it could move the cursor, retitle the window or hide the rest of the line, and a megabyte
/// string quoted by a JSON error must not flood it.
pub fn for_terminal(text: &str) -> String {
    let count = text.chars().count();
    let cut: String = if count > MAX_SHOWN {
        let (head, tail) = (MAX_SHOWN * 3 / 4, MAX_SHOWN / 4);
        let start: String = text.chars().take(head).collect();
        let end: String = text.chars().skip(count - tail).collect();
        format!("{start} … ({} characters left out) … {end}", count - head - tail)
    } else {
        text.to_owned()
    };
    // Line breaks the message was written with stay; everything else goes through the one escaper.
    cut.split('\n').map(crate::output::safe).collect::<Vec<_>>().join("\n")
}

/// A `tracing` writer: collects one event and writes it to stderr redacted when dropped or flushed.
#[derive(Debug)]
pub struct RedactedStderr {
    redactor: Arc<Redactor>,
    pending: Vec<u8>,
}

impl RedactedStderr {
    /// A writer for one event.
    pub fn new(redactor: Arc<Redactor>) -> Self {
        Self { redactor, pending: Vec::new() }
    }
}

impl Write for RedactedStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let shown = self.redactor.redact(&String::from_utf8_lossy(&self.pending));
        self.pending.clear();
        let mut stderr = io::stderr().lock();
        stderr.write_all(shown.as_bytes())?;
        stderr.flush()
    }
}

impl Drop for RedactedStderr {
    fn drop(&mut self) {
        // Nowhere left to report a failed write of a diagnostic.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(pairs: &[(&str, &str)]) -> Redactor {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Redactor::from_lookup(&move |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn every_configured_token_is_replaced_in_every_quoted_form() {
        let r = redactor(&[("USEAPI_TOKEN", " user:12345-abc\"def\n"), ("TOKEN360_API_KEY", "sk-360-key")]);
        assert_eq!(r.redact("job id `user:12345-abc\"def`"), "job id `***`");
        assert_eq!(r.redact("job id \"user:12345-abc\\\"def\""), "job id \"***\"");
        assert_eq!(r.redact("sk-360-key and sk-360-key/x"), "*** and ***/x");
        assert_eq!(r.redact("nothing secret"), "nothing secret");
        assert_eq!(r.token_variable("sk-360-key"), Some("TOKEN360_API_KEY"));
        assert_eq!(r.token_variable("user:12345-abc\"def"), Some("USEAPI_TOKEN"));
        assert_eq!(r.token_variable("video_123"), None);
        assert!(!format!("{r:?}").contains("sk-360-key"));
    }

    #[test]
    fn unset_or_blank_tokens_redact_nothing() {
        let r = redactor(&[("USEAPI_TOKEN", "   ")]);
        assert_eq!(r.redact("a b c"), "a b c");
        assert_eq!(r.token_variable(""), None);
    }

    #[test]
    fn a_token_inside_another_is_replaced_whole() {
        let r = redactor(&[("USEAPI_TOKEN", "abc"), ("TOKEN360_API_KEY", "xxabcxx")]);
        assert_eq!(r.redact("xxabcxx abc"), "*** ***");
    }

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(for_terminal("a\u{1b}[2Jb\u{7}\r\nc\td"), "a\\u{1b}[2Jb\\u{7}\\u{d}\nc\\u{9}d");
        assert_eq!(for_terminal("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(for_terminal("plain – text"), "plain – text");
    }

    #[test]
    fn a_huge_message_keeps_its_start_and_its_end() {
        let text = format!("start {} end", "é".repeat(100_000));
        let shown = for_terminal(&text);
        assert!(shown.starts_with("start é") && shown.ends_with("é end"));
        let left_out = text.chars().count() - MAX_SHOWN;
        assert!(shown.contains(&format!(" … ({left_out} characters left out) … ")));
        assert!(shown.chars().count() < MAX_SHOWN + 50);
        assert_eq!(for_terminal(&"a".repeat(MAX_SHOWN)), "a".repeat(MAX_SHOWN));
    }
}
