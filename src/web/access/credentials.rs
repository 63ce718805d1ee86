//! Reading what a request presents: an API token (`Authorization:
//! Bearer`, or HTTP Basic with the token as password, since Promtail,
//! Filebeat, Grafana, `amtool` and Prometheus's `remote_write` each offer
//! only one of the two), the session cookie, and the CSRF header. These
//! are outside input of any length and shape, so reading is bounded and a
//! failure names the header, never what it held.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use base64::Engine;

use crate::auth::AuthError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "belfry_session";
/// The header pages send a session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Longest `Authorization` value read: a token is 36 characters; Basic
/// adds a user name and base64. Longer is refused before decoding.
const MAX_AUTHORIZATION_LEN: usize = 1024;

/// What a request presented; each part absent when not sent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// An API token's secret (its shape is checked by the token store).
    pub token: Option<String>,
    /// The session cookie's value.
    pub session: Option<String>,
}

/// Reads the `Authorization` header and the session cookie.
pub fn read(headers: &HeaderMap) -> Result<Credentials, AuthError> {
    let token = match headers.get(AUTHORIZATION) {
        None => None,
        Some(value) => Some(token_of(value.as_bytes())?),
    };
    Ok(Credentials {
        token,
        session: session_cookie(headers),
    })
}

/// The token in an `Authorization` value: `Bearer TOKEN`, or `Basic`
/// with base64 of `ANY-USER:TOKEN`.
pub fn token_of(value: &[u8]) -> Result<String, AuthError> {
    let malformed = AuthError::MalformedCredentials("Authorization");
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(malformed);
    }
    let text = std::str::from_utf8(value).map_err(|_| AuthError::MalformedCredentials("Authorization"))?;
    let (scheme, rest) = text.trim().split_once(' ').ok_or(malformed)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(rest.to_string());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::MalformedCredentials("Authorization"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .map_err(|_| AuthError::MalformedCredentials("Authorization"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthError::MalformedCredentials("Authorization"))?;
    // The user name is whatever the client needed to fill in; the token
    // says who it is.
    let (_user, password) = decoded
        .split_once(':')
        .ok_or(AuthError::MalformedCredentials("Authorization"))?;
    Ok(password.to_string())
}

/// The session cookie's value, from any of the `Cookie` headers.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// One cookie's value (quotes taken off), from any of the `Cookie`
/// headers; the first when a browser sent the name twice.
pub fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == wanted).then(|| value.trim().trim_matches('"').to_string())
        })
}

/// The CSRF header's value.
pub fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

/// The `Set-Cookie` value that gives the browser a session: not readable
/// by scripts, not sent on cross-site sub-requests or form posts, only
/// over TLS when Belfry serves TLS.
pub fn session_set_cookie(secret: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn session_clear_cookie(secure: bool) -> String {
    session_set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn basic(userpass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(userpass)
        )
    }

    #[test]
    fn bearer_and_basic_carry_the_token() {
        assert_eq!(token_of(b"Bearer bfy_x").unwrap(), "bfy_x");
        assert_eq!(token_of(b"bearer  bfy_x ").unwrap(), "bfy_x");
        assert_eq!(token_of(basic("promtail:bfy_x").as_bytes()).unwrap(), "bfy_x");
        assert_eq!(token_of(basic(":bfy_x").as_bytes()).unwrap(), "bfy_x");
        assert_eq!(token_of(basic("u:p:q").as_bytes()).unwrap(), "p:q");
    }

    #[test]
    fn malformed_authorization_names_the_header_only() {
        for bad in [
            "Bearer".to_string(),
            "Digest abc".to_string(),
            "Basic %%%".to_string(),
            basic("no-colon"),
            format!("Bearer {}", "x".repeat(2000)),
        ] {
            let e = token_of(bad.as_bytes()).unwrap_err();
            assert_eq!(e.to_string(), "malformed Authorization header");
        }
        assert!(token_of(b"Bearer \xff").is_err());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[
            ("cookie", "theme=dark; belfry_session=bfs_abc"),
            ("cookie", "other=1"),
        ]);
        assert_eq!(session_cookie(&h).as_deref(), Some("bfs_abc"));
        assert_eq!(session_cookie(&headers(&[("cookie", "belfry_sessionx=1")])), None);
        assert_eq!(read(&HeaderMap::new()).unwrap(), Credentials::default());
    }

    #[test]
    fn cookies_are_http_only_same_site_and_secure_under_tls() {
        let c = session_set_cookie("bfs_x", 60, true);
        assert_eq!(
            c,
            "belfry_session=bfs_x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert!(!session_clear_cookie(false).contains("Secure"));
        assert!(session_clear_cookie(false).contains("Max-Age=0"));
    }

    proptest! {
        #[test]
        fn any_header_value_is_read_or_refused_without_panic(value in proptest::collection::vec(any::<u8>(), 0..1500)) {
            let _ = token_of(&value);
        }

        #[test]
        fn basic_round_trips(user in "[^:]{0,20}", token in "[ -~]{1,60}") {
            let header = basic(&format!("{user}:{token}"));
            prop_assert_eq!(token_of(header.as_bytes()).unwrap(), token);
        }
    }
}
