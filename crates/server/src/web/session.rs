//! The dashboard's sign-in: the page asks for the server's API token once (`POST /login`) and
//! answers with a session cookie the server derives from the token; the token itself is never
//! stored in a cookie nor put in a URL.
//!
//! The cookie is `<expires>.<HMAC-SHA256(token, expires)>` (hex): stateless (nothing to store,
//! any replica checks it), valid for [`SESSION_TTL`], and void as soon as the token changes. It is
//! `HttpOnly` (scripts cannot read it) and `SameSite=Strict` (no other site can make the browser
//! send it, so the page routes need no CSRF token). Signing out removes it from the browser; a
//! copied cookie stays valid until it expires or the token is rotated.

use crate::cfg::ServerToken;
use axum::http::{HeaderMap, header};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The cookie's name.
pub(crate) const COOKIE: &str = "genjob_session";

/// How long a session lasts (seconds).
pub(crate) const SESSION_TTL: i64 = 12 * 60 * 60;

/// The signature of a session ending at `expires` (Unix seconds).
fn signature(token: &ServerToken, expires: i64) -> Option<Vec<u8>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).ok()?;
    mac.update(b"genjob dashboard session v1\n");
    mac.update(expires.to_string().as_bytes());
    Some(mac.finalize().into_bytes().to_vec())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new session's cookie value, valid from `now_s` (Unix seconds) for [`SESSION_TTL`].
pub(crate) fn issue(token: &ServerToken, now_s: i64) -> Option<String> {
    let expires = now_s.saturating_add(SESSION_TTL);
    Some(format!("{expires}.{}", hex(&signature(token, expires)?)))
}

/// Whether `value` is a session this server issued that has not expired at `now_s`.
pub(crate) fn is_valid(token: &ServerToken, value: &str, now_s: i64) -> bool {
    let Some((expires, sig)) = value.split_once('.') else { return false };
    let Ok(expires) = expires.parse::<i64>() else { return false };
    // One issued later than now + TTL was not issued by this clock: refuse it too.
    if expires <= now_s || expires > now_s.saturating_add(SESSION_TTL + 60) {
        return false;
    }
    let Some(expected) = signature(token, expires) else { return false };
    bool::from(hex(&expected).as_bytes().ct_eq(sig.as_bytes()))
}

/// The session cookie's value in a request, if it sent one.
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` value that starts a session.
pub(crate) fn set_cookie(value: &str) -> String {
    format!("{COOKIE}={value}; Path=/; Max-Age={SESSION_TTL}; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that ends it.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_valid_until_it_expires_and_only_for_its_token() {
        let token = ServerToken::new("a-token-of-sufficient-length-123").expect("a token");
        let other = ServerToken::new("another-token-of-sufficient-length").expect("a token");
        let value = issue(&token, 1_000).expect("a session");
        assert!(is_valid(&token, &value, 1_000));
        assert!(is_valid(&token, &value, 1_000 + SESSION_TTL - 1));
        assert!(!is_valid(&token, &value, 1_000 + SESSION_TTL));
        assert!(!is_valid(&other, &value, 1_000));
        let (expires, sig) = value.split_once('.').expect("two parts");
        let later = expires.parse::<i64>().expect("a number") + 1;
        assert!(!is_valid(&token, &format!("{later}.{sig}"), 1_000), "the expiry is signed");
        for junk in ["", ".", "x.y", "1", "99999999999999999999.00"] {
            assert!(!is_valid(&token, junk, 1_000), "{junk:?}");
        }
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; genjob_session=5.ab ; b=2".parse().expect("a header"));
        assert_eq!(from_headers(&headers), Some("5.ab"));
    }
}
