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
    /// No session for this cookie: never was, ended, or expired.
    #[error("not signed in, or the session has ended; sign in again")]
    NoSession,
    /// Logins from this address failed too often.
    #[error("too many failed logins from this address; try again in {retry_after_secs}s")]
    Throttled { retry_after_secs: u64 },
    /// Authenticated, but the role or the token's scopes do not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// A state change made with a session without its CSRF token.
    #[error("missing or wrong CSRF token (send the session's token in the X-CSRF-Token header)")]
    Csrf,
    /// Nothing said who the request is from, where that is required.
    #[error(
        "authentication required: sign in, or send an API token (Authorization: Bearer, or HTTP Basic with the token as password)"
    )]
    Unauthenticated,
    /// A credential header that cannot be read (too long, not the scheme
    /// it says); names the header, never its content.
    #[error("malformed {0} header")]
    MalformedCredentials(&'static str),
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
            AuthError::Throttled { .. } => "throttled",
            AuthError::Directory(_) => "directory",
            _ => "error",
        }
    }
}
