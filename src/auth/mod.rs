//! Accounts and access: local users with roles and argon2id passwords,
//! API tokens with scopes, sessions, the login lockout and throttle, and
//! the audit log, all in
//! `state.redb`. `web` asks this module who a request is and what it may
//! do ([`Permission`]); this module knows nothing of HTTP.
//!
//! One concept per file: `accounts.rs` (all of them opened together),
//! `role.rs` (roles, scopes, permissions),
//! `password.rs` (argon2id and the bounded pool checks run on),
//! `lockout.rs` (the rule), `users.rs`, `token_secret.rs` (the secret's
//! format and hash, and the CSRF token), `tokens.rs`, `sessions.rs`,
//! `throttle.rs` (failed logins per source address), `audit.rs`,
//! `oidc/` (single sign-on with an OpenID Provider),
//! `metrics.rs` (`belfry_auth_*`), `error.rs`; `ldap/`, sign-in against an
//! LDAP directory.

mod accounts;
mod audit;
mod error;
mod last_use;
mod ldap;
mod lockout;
mod low_priority;
mod metrics;
pub mod oidc;
mod password;
mod role;
mod sessions;
mod throttle;
pub mod token_secret;
mod tokens;
mod users;

pub use accounts::Accounts;
pub use audit::{Actor, AuditEntry, AuditLog, AuditPage, MAX_PAGE as MAX_AUDIT_PAGE};
pub use error::AuthError;
pub use ldap::LdapDirectory;
pub use lockout::{AfterFailure, LockoutPolicy, LoginState};
pub use metrics::AuthMetrics;
pub use password::PasswordPool;
pub use role::{Permission, Role, Scope, scopes_allow};
pub use sessions::{NewSession, SessionUser, Sessions};
pub use throttle::LoginThrottle;
pub use tokens::{LAST_USED_RESOLUTION_SECS, NewToken, TokenInfo, Tokens};
pub use users::{UserInfo, Users, Verified};

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    crate::model::now_millis().div_euclid(1000)
}

#[cfg(test)]
mod tests;
