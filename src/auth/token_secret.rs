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
/// Random characters after the prefix.
pub const RANDOM_LEN: usize = 32;
pub const SECRET_LEN: usize = PREFIX.len() + RANDOM_LEN;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new secret.
pub fn generate() -> String {
    let mut out = String::with_capacity(SECRET_LEN);
    out.push_str(PREFIX);
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
    text.len() == SECRET_LEN
        && text.starts_with(PREFIX)
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
