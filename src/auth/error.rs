//! Why an account operation or a credential check was refused. Messages
//! name what was wrong and what to do, but never echo a secret, and a
//! failed login does not say whether the user exists.

use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user or wrong password: one answer for both, so a caller
    /// cannot probe which users exist.
    #[error("invalid user name or password")]
    InvalidCredentials,
    /// Too many failed logins; `retry_after_secs` until it lifts.
    #[error(
        "user is locked after repeated failed logins; try again in {retry_after_secs}s or ask an admin to run `belfry user unlock`"
    )]
    Locked { retry_after_secs: u64 },
    /// Not the shape of a Belfry API token.
    #[error("malformed API token")]
    MalformedToken,
    /// A well-formed token that is not (or no longer) stored.
    #[error("unknown or revoked API token")]
    UnknownToken,
    #[error("API token {0:?} has expired; create a new one with `belfry token add`")]
    TokenExpired(String),
    /// The password checks' queue is full (a login flood): refused at once
    /// rather than queued without bound.
    #[error("too many logins in progress; try again in a moment")]
    Busy,
    #[error("user {0:?} already exists")]
    UserExists(String),
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error("API token {0:?} already exists")]
    TokenExists(String),
    #[error("no API token named {0:?}")]
    NoSuchToken(String),
    /// A name, role, scope, password or expiry that cannot be accepted.
    #[error("{0}")]
    Invalid(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("stored account record {key:?} in table {table} does not decode: {message}")]
    Corrupt {
        table: &'static str,
        key: String,
        message: String,
    },
    /// The LDAP directory could not answer a sign-in: unreachable, too
    /// slow, or refusing the configured search account. The message names
    /// the server and the step, never a password.
    #[error("ldap directory: {0}")]
    Directory(String),
    #[error(transparent)]
    State(#[from] StateError),
}

impl AuthError {
    /// The `reason` label of `belfry_auth_login_failures_total` this error
    /// counts as, for the refusals of a login.
    pub fn failure_reason(&self) -> &'static str {
        match self {
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::Locked { .. } => "locked",
            AuthError::Busy => "busy",
            AuthError::Directory(_) => "directory",
            _ => "error",
        }
    }
}
