//! The API token's secret: `bfy_` and 32 base62 characters (about 190
//! random bits), made from the thread's CSPRNG. The prefix lets secret
//! scanners and people recognise a leaked token; the fixed shape lets a
//! check refuse anything else before hashing it.
//!
//! Only the SHA-256 of a secret is stored. A fast hash is right here,
//! unlike for passwords: a secret of 190 random bits cannot be guessed
//! from its hash however fast the hash is, and the check runs on every
//! request.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "bfy_";
/// A session cookie's secret: the same shape, its own prefix, so one is
/// never accepted as the other.
pub const SESSION_PREFIX: &str = "bfs_";
/// Random characters after the prefix.
pub const RANDOM_LEN: usize = 32;
pub const SECRET_LEN: usize = PREFIX.len() + RANDOM_LEN;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new token secret.
pub fn generate() -> String {
    generate_with(PREFIX)
}

/// A new session secret.
pub fn generate_session() -> String {
    generate_with(SESSION_PREFIX)
}

fn generate_with(prefix: &str) -> String {
    let mut out = String::with_capacity(SECRET_LEN);
    out.push_str(prefix);
    while out.len() < SECRET_LEN {
        let bytes: [u8; 32] = rand::random();
        // 248 = 4 × 62: bytes at or above it are skipped, so every
        // character is equally likely (no modulo bias).
        for b in bytes.into_iter().filter(|b| *b < 248) {
            if out.len() == SECRET_LEN {
                break;
            }
            out.push(char::from(BASE62[usize::from(b % 62)]));
        }
    }
    out
}

/// Whether `text` has the shape of a secret: the prefix and exactly 32
/// base62 characters, nothing before or after.
pub fn is_well_formed(text: &str) -> bool {
    is_well_formed_with(text, PREFIX)
}

/// As [`is_well_formed`], for a session secret.
pub fn is_well_formed_session(text: &str) -> bool {
    is_well_formed_with(text, SESSION_PREFIX)
}

fn is_well_formed_with(text: &str, prefix: &str) -> bool {
    text.len() == SECRET_LEN
        && text.starts_with(prefix)
        && text.as_bytes()[PREFIX.len()..]
            .iter()
            .all(u8::is_ascii_alphanumeric)
}

/// The stored form of a secret.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn to_hex(digest: &[u8; 32]) -> String {
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// The CSRF token of a session: derived from the session's secret, so it
/// needs no storage, differs per session (one stolen from another session
/// or replayed after logout is refused) and cannot be forged without the
/// secret, which only the `HttpOnly` cookie carries. Pages read it from
/// the login answer or `GET /api/belfry/session`.
pub fn csrf_token(session_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"belfry-csrf\0");
    h.update(session_secret.as_bytes());
    to_hex(&h.finalize().into())
}

/// Whether `given` is the CSRF token of `session_secret`; compares every
/// byte whatever the first difference, so timing says nothing.
pub fn csrf_matches(session_secret: &str, given: &str) -> bool {
    let want = csrf_token(session_secret);
    want.len() == given.len()
        && want
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

pub fn from_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_secrets_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(is_well_formed(&a), "{a}");
        assert!(is_well_formed(&b), "{b}");
        assert_ne!(a, b);
        assert_eq!(a.len(), SECRET_LEN);
    }

    #[test]
    fn malformed_secrets() {
        let good = generate();
        assert!(!is_well_formed(""));
        assert!(!is_well_formed(&good[1..]));
        assert!(!is_well_formed(&format!("{good}x")));
        assert!(!is_well_formed(&format!(" {}", &good[1..])));
        assert!(!is_well_formed(&good.replacen("bfy_", "bfx_", 1)));
        assert!(!is_well_formed(&format!("{}-", &good[..SECRET_LEN - 1])));
        // 36 bytes but a multi-byte character inside.
        assert!(!is_well_formed(&format!("{}é", &good[..SECRET_LEN - 2])));
    }

    #[test]
    fn session_and_token_secrets_are_told_apart() {
        let session = generate_session();
        let token = generate();
        assert!(is_well_formed_session(&session) && !is_well_formed(&session));
        assert!(is_well_formed(&token) && !is_well_formed_session(&token));
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let a = generate_session();
        let b = generate_session();
        let token = csrf_token(&a);
        assert!(csrf_matches(&a, &token));
        assert!(!csrf_matches(&b, &token));
        assert!(!csrf_matches(&a, ""));
        assert!(!csrf_matches(&a, &token[1..]));
        assert!(!csrf_matches(&a, &token.to_uppercase()));
    }

    #[test]
    fn hex_round_trips() {
        let d = digest("bfy_x");
        assert_eq!(from_hex(&to_hex(&d)), Some(d));
        assert_eq!(
            to_hex(&digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
    }

    proptest! {
        #[test]
        fn the_parser_accepts_exactly_the_format(s in "\\PC{0,40}") {
            let expected = s.len() == SECRET_LEN
                && s.starts_with("bfy_")
                && s[4..].chars().all(|c| c.is_ascii_alphanumeric());
            prop_assert_eq!(is_well_formed(&s), expected);
        }

        #[test]
        fn every_base62_body_is_accepted(body in "[0-9A-Za-z]{32}") {
            let secret = format!("bfy_{body}");
            prop_assert!(is_well_formed(&secret));
        }

        #[test]
        fn hex_round_trips_any_digest(bytes in proptest::array::uniform32(any::<u8>())) {
            prop_assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        }
    }
}
