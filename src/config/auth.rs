//! The `auth:` section: whether access control is off (`disabled`, said
//! explicitly), the first admin for a container deployment (its password
//! from `${VAR}`), the login lockout, the bounds of the password
//! hashing pool, and sign-in against an LDAP directory (`ldap`, its shape
//! in `ldap.rs`). The machinery that applies it is `crate::auth`.
//!
//! The rules for user and token names and password lengths live here, the
//! floor, so that the configuration, the command line and the API refuse
//! the same things.

use serde::Deserialize;

use super::ldap::LdapConfig;
use super::secret::Secret;
use crate::model::PromDuration;

/// Shortest password accepted anywhere (configuration, CLI, API).
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted: argon2's work grows with its input, and a
/// client must not choose how much work a login costs.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Longest user or token name.
pub const MAX_NAME_LEN: usize = 64;

/// A user or token name: 1–64 of `A-Z a-z 0-9 . _ @ -`, not starting with
/// a dot or a dash (so it never reads as a path or a flag).
pub fn is_valid_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

/// Why a password is refused, or None when it is acceptable.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Some(format!(
            "password is too short ({chars} characters; at least {MIN_PASSWORD_LEN})"
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Some(format!(
            "password is too long (more than {MAX_PASSWORD_LEN} bytes)"
        ));
    }
    None
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Turns access control off even where it would be required (a
    /// non-loopback listen without an admin); logged at every start.
    #[serde(default)]
    pub disabled: bool,
    /// An admin created at start when no user of that name exists.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    #[serde(default)]
    pub lockout: LockoutConfig,
    #[serde(default)]
    pub password_hashing: PasswordHashingConfig,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub login_throttle: LoginThrottleConfig,
    /// Sign-in against an LDAP directory, beside the local users.
    #[serde(default)]
    pub ldap: Option<LdapConfig>,
    /// Single sign-on with an OpenID Provider, beside local users.
    #[serde(default)]
    pub oidc: Option<super::auth_oidc::OidcConfig>,
}

/// How long a person stays signed in.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// A session unused this long ends.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: PromDuration,
    /// A session ends this long after sign-in, however busy.
    #[serde(default = "default_absolute_timeout")]
    pub absolute_timeout: PromDuration,
    /// Most sessions held at once; the least recently used one ends to
    /// make room (counted in `belfry_auth_sessions_evicted_total`).
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout: default_idle_timeout(),
            absolute_timeout: default_absolute_timeout(),
            max_sessions: default_max_sessions(),
        }
    }
}

fn default_idle_timeout() -> PromDuration {
    PromDuration::from_secs(8 * 3600)
}
fn default_absolute_timeout() -> PromDuration {
    PromDuration::from_secs(7 * 24 * 3600)
}
fn default_max_sessions() -> usize {
    10_000
}

/// Failed logins from one address, whatever the user names: past
/// `max_failures` within `window`, that address's logins are refused
/// until the window has passed. The per-user lockout (`lockout`) stops
/// guessing one password; this stops one address trying many users.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoginThrottleConfig {
    #[serde(default = "default_source_max_failures")]
    pub max_failures: u32,
    #[serde(default = "default_source_window")]
    pub window: PromDuration,
    /// Most addresses tracked at once (memory bound); past it, new
    /// addresses are not throttled (the per-user lockout still holds) and
    /// `belfry_auth_throttle_table_full_total` counts it.
    #[serde(default = "default_max_sources")]
    pub max_sources: usize,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        LoginThrottleConfig {
            max_failures: default_source_max_failures(),
            window: default_source_window(),
            max_sources: default_max_sources(),
        }
    }
}

fn default_source_max_failures() -> u32 {
    20
}
fn default_source_window() -> PromDuration {
    PromDuration::from_secs(5 * 60)
}
fn default_max_sources() -> usize {
    10_000
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub user: String,
    /// Usually `${VAR}`, so the password stays out of the file.
    pub password: Secret,
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutConfig {
    /// Failed logins in a row after which a user is locked.
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
    /// How long a locked user stays locked (`belfry user unlock` ends it).
    #[serde(default = "default_lockout_duration")]
    pub duration: PromDuration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures: default_max_failures(),
            duration: default_lockout_duration(),
        }
    }
}

impl LockoutConfig {
    pub fn lockout_duration(&self) -> std::time::Duration {
        self.duration.0
    }
}

fn default_max_failures() -> u32 {
    5
}
fn default_lockout_duration() -> PromDuration {
    PromDuration::from_secs(15 * 60)
}

/// Password checks run on a few threads of their own with a bounded
/// queue, so a flood of logins waits (or is refused) there instead of
/// taking the cores ingest and queries need.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordHashingConfig {
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Checks waiting beyond the running ones; more are refused (503).
    #[serde(default = "default_queue")]
    pub queue: usize,
}

impl Default for PasswordHashingConfig {
    fn default() -> Self {
        PasswordHashingConfig {
            workers: default_workers(),
            queue: default_queue(),
        }
    }
}

fn default_workers() -> usize {
    2
}
fn default_queue() -> usize {
    32
}

impl AuthConfig {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(admin) = &self.admin {
            if !is_valid_account_name(&admin.user) {
                return Err(format!(
                    "admin.user: {:?} is not a valid user name (1–{MAX_NAME_LEN} of letters, digits, \
                     '.', '_', '@', '-', not starting with '.' or '-')",
                    admin.user
                ));
            }
            if admin.password.is_empty() {
                return Err(
                    "admin.password is empty (set it from the environment, e.g. password: ${BELFRY_ADMIN_PASSWORD})"
                        .to_string(),
                );
            }
            if let Some(problem) = password_problem(admin.password.expose()) {
                return Err(format!("admin.password: {problem}"));
            }
        }
        if self.lockout.max_failures == 0 {
            return Err("lockout.max_failures must be at least 1".to_string());
        }
        if self.lockout.duration.is_zero() {
            return Err("lockout.duration must be longer than 0s".to_string());
        }
        let hashing = &self.password_hashing;
        if !(1..=16).contains(&hashing.workers) {
            return Err(format!(
                "password_hashing.workers must be between 1 and 16 (got {})",
                hashing.workers
            ));
        }
        if hashing.queue == 0 {
            return Err("password_hashing.queue must be at least 1".to_string());
        }
        let session = &self.session;
        if session.idle_timeout.is_zero() || session.absolute_timeout.is_zero() {
            return Err(
                "session.idle_timeout and session.absolute_timeout must be longer than 0s".to_string(),
            );
        }
        if session.max_sessions == 0 {
            return Err("session.max_sessions must be at least 1".to_string());
        }
        let throttle = &self.login_throttle;
        if throttle.max_failures == 0 || throttle.window.is_zero() || throttle.max_sources == 0 {
            return Err(
                "login_throttle.max_failures, window and max_sources must all be above 0".to_string(),
            );
        }
        if let Some(ldap) = &self.ldap {
            ldap.validate()?;
        }
        if let Some(oidc) = &self.oidc {
            oidc.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<crate::config::Config, String> {
        crate::config::Config::from_yaml_with_env(yaml, "c.yml", |name| match name {
            "ADMIN_PW" => Some("correct horse".to_string()),
            "SHORT_PW" => Some("abc".to_string()),
            _ => None,
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_admin_from_the_environment() {
        let c = parse("auth:\n  admin:\n    user: root\n    password: ${ADMIN_PW}\n").unwrap();
        let admin = c.auth.admin.unwrap();
        assert_eq!(admin.user, "root");
        assert_eq!(admin.password.expose(), "correct horse");
        assert_eq!(c.auth.lockout.max_failures, 5);
        assert_eq!(c.auth.lockout.duration, PromDuration::from_secs(900));
        assert!(!c.auth.disabled);
        assert_eq!(parse("").unwrap().auth, AuthConfig::default());
    }

    #[test]
    fn refusals_name_the_problem() {
        let e = parse("auth:\n  admin:\n    user: root\n    password: ${SHORT_PW}\n").unwrap_err();
        assert!(e.contains("auth: admin.password: password is too short"), "{e}");
        let e = parse("auth:\n  admin: {user: root, password: \"\"}\n").unwrap_err();
        assert!(e.contains("admin.password is empty"), "{e}");
        let e = parse("auth:\n  admin:\n    user: a b\n    password: ${ADMIN_PW}\n").unwrap_err();
        assert!(e.contains("admin.user: \"a b\" is not a valid user name"), "{e}");
        let e = parse("auth:\n  lockout: {max_failures: 0}\n").unwrap_err();
        assert!(e.contains("lockout.max_failures must be at least 1"), "{e}");
        let e = parse("auth:\n  password_hashing: {workers: 0}\n").unwrap_err();
        assert!(e.contains("password_hashing.workers"), "{e}");
        let e = parse("auth:\n  session: {max_sessions: 0}\n").unwrap_err();
        assert!(e.contains("session.max_sessions must be at least 1"), "{e}");
        let e = parse("auth:\n  login_throttle: {window: 0s}\n").unwrap_err();
        assert!(e.contains("login_throttle.max_failures, window"), "{e}");
        let e = parse("auth:\n  admins: []\n").unwrap_err();
        assert!(e.contains("unknown field `admins`"), "{e}");
        let e = parse("auth:\n  admin:\n    user: root\n    password: ${NOPE}\n").unwrap_err();
        assert!(e.contains("environment variable NOPE is not set"), "{e}");
    }

    #[test]
    fn account_names() {
        for ok in ["alice", "a.b_c-d@example.org", "X9"] {
            assert!(is_valid_account_name(ok), "{ok}");
        }
        for bad in ["", ".hidden", "-flag", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(!is_valid_account_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_admin_password_never_prints() {
        let c = parse("auth:\n  admin:\n    user: root\n    password: ${ADMIN_PW}\n").unwrap();
        assert!(!format!("{:?}", c.auth).contains("correct horse"));
        assert!(!serde_json::to_string(&c.auth).unwrap().contains("correct horse"));
    }
}
