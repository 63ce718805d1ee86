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
    /// Sign-in against an LDAP directory, beside the local users.
    #[serde(default)]
    pub ldap: Option<LdapConfig>,
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
        if let Some(ldap) = &self.ldap {
            ldap.validate()?;
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
