//! Fuzzes the reading of credentials from request headers
//! (`web::access::credentials`): an `Authorization` value (Bearer, or
//! Basic with the token as password) and `Cookie` headers. None panics; a
//! refused `Authorization` names the header and nothing of its content; a
//! token read from a Bearer value is the value's second word; a session
//! cookie found is one of the header's pairs.

#![no_main]

use http::{HeaderMap, HeaderValue};
use belfry::web::access::credentials::{SESSION_COOKIE, session_cookie, token_of};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match token_of(data) {
        Ok(token) => {
            let text = std::str::from_utf8(data).expect("a token is read from UTF-8 only");
            let (scheme, rest) = text.trim().split_once(' ').expect("a scheme and a value");
            if scheme.eq_ignore_ascii_case("bearer") {
                assert_eq!(token, rest.trim());
            }
        }
        Err(e) => assert_eq!(e.to_string(), "malformed Authorization header"),
    }

    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("cookie", value);
    if let Some(found) = session_cookie(&headers) {
        let text = headers["cookie"].to_str().unwrap();
        assert!(
            text.split(';').any(|pair| pair.trim().split_once('=').is_some_and(|(name, v)| {
                name == SESSION_COOKIE && v.trim_matches('"') == found
            })),
            "{text:?} -> {found:?}"
        );
    }
});
