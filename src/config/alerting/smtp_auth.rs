//! The SMTP credentials Alertmanager takes that Belfry's mail client
//! cannot use, refused at load rather than silently ignored: a CRAM-MD5
//! secret, and a PLAIN authorization identity other than the username.

use super::error::AlertingConfigError;
use crate::config::Secret;

/// The keys as the section names them (`auth_*` in an email config,
/// `smtp_auth_*` in `global`).
pub(super) struct Keys {
    pub secret: &'static str,
    pub identity: &'static str,
}

pub(super) const EMAIL_KEYS: Keys = Keys {
    secret: "auth_secret",
    identity: "auth_identity",
};

pub(super) const GLOBAL_KEYS: Keys = Keys {
    secret: "smtp_auth_secret",
    identity: "smtp_auth_identity",
};

pub(super) fn check(
    keys: &Keys,
    username: Option<&str>,
    secret: &Secret,
    identity: Option<&str>,
) -> Result<(), AlertingConfigError> {
    if !secret.is_empty() {
        return Err(AlertingConfigError::AuthSecret { key: keys.secret });
    }
    // An identity equal to the username is what an empty one means
    // (RFC 4616), which is what the mail client sends.
    match identity.filter(|i| !i.is_empty()) {
        Some(id) if Some(id) != username => Err(AlertingConfigError::AuthIdentity {
            key: keys.identity,
            identity: id.to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_credentials_are_named() {
        let err = check(&EMAIL_KEYS, Some("u"), &Secret::new("s"), None).unwrap_err();
        assert!(err.to_string().contains("auth_secret"), "{err}");
        let err = check(&GLOBAL_KEYS, Some("u"), &Secret::default(), Some("other")).unwrap_err();
        assert!(err.to_string().contains("smtp_auth_identity"), "{err}");
        assert!(check(&EMAIL_KEYS, Some("u"), &Secret::default(), Some("u")).is_ok());
        assert!(check(&EMAIL_KEYS, None, &Secret::default(), Some("")).is_ok());
    }
}
