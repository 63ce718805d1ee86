//! User ids → tokens: HMAC-SHA256 under the installation's key, shown as
//! `u_` and the first 16 hex digits (64 bits) of the MAC.
//!
//! Why 64 bits: two of a million users share a token with probability
//! about 10⁻⁸ (n²/2⁶⁵), which keeps per-user counts exact for any LMS,
//! while the token stays short enough to read and type in a search box.
//! Without the key nobody can map ids to tokens at all, so a longer tag
//! would add no secrecy. The `u_` prefix tells a reader (and a search) that
//! the value is a token, not an id.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::UserIdKey;

pub const TOKEN_PREFIX: &str = "u_";

/// MAC bytes kept in the token.
const TOKEN_BYTES: usize = 8;

/// Cheap to clone; the keyed state is prepared once, so a token costs two
/// SHA-256 compressions.
#[derive(Clone)]
pub struct UserIdHasher {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for UserIdHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserIdHasher")
    }
}

impl UserIdHasher {
    pub fn new(key: &UserIdKey) -> Self {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
            .expect("HMAC accepts keys of any length");
        UserIdHasher { mac }
    }

    /// The token for `user_id`. Ids are compared as sent: `42` and ` 42`
    /// are different users, since trimming would merge ids a system
    /// keeps apart.
    pub fn token(&self, user_id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(user_id.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = String::with_capacity(TOKEN_PREFIX.len() + TOKEN_BYTES * 2);
        out.push_str(TOKEN_PREFIX);
        for b in &tag[..TOKEN_BYTES] {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn hasher(key: &str) -> UserIdHasher {
        UserIdHasher::new(&UserIdKey::from_secret(&Secret::new(key)))
    }

    #[test]
    fn same_id_same_token_and_shape() {
        let h = hasher("key-one-0123456789");
        let a = h.token("12345");
        assert_eq!(a, h.token("12345"));
        assert_eq!(a, h.clone().token("12345"));
        assert_eq!(a.len(), 18);
        assert!(a.starts_with("u_"));
        assert!(
            a[2..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(a, h.token("12346"));
        assert!(!a.contains("12345"));
    }

    #[test]
    fn the_key_changes_every_token() {
        assert_ne!(
            hasher("key-one-0123456789").token("alice"),
            hasher("key-two-0123456789").token("alice")
        );
    }

    #[test]
    fn matches_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for
        // nothing?", MAC 5bdcc146bf60754e…
        assert_eq!(
            hasher("Jefe").token("what do ya want for nothing?"),
            "u_5bdcc146bf60754e"
        );
    }
}
