//! `LdapDirectory`: one sign-in against the directory, search-then-bind.
//!
//! 1. Refuse, before any network, what no directory should see: an empty
//!    password (a simple bind with one is an *unauthenticated* bind, which
//!    many servers answer with success), over-long names and passwords,
//!    control characters in a name.
//! 2. Connect (TLS or STARTTLS), bind as `bind_dn` (or stay anonymous).
//! 3. Search `user_base_dn` with `user_filter`, the typed name escaped;
//!    exactly one entry must match.
//! 4. Search the groups whose `group_filter` names that entry; the highest
//!    mapped role wins, else `default_role`, else the user is refused.
//! 5. Bind as the entry with the typed password.
//!
//! A wrong password, an unknown user and a user in no mapped group get one
//! answer, [`AuthError::InvalidCredentials`]; the metrics and the log say
//! which it was. A directory that cannot be reached, times out or refuses
//! the service account is [`AuthError::Directory`].

use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapResult, SearchEntry};
use tokio::sync::Semaphore;

use super::filter::fill;
use super::metrics::{LdapMetrics, result};
use super::roles::GroupRoles;
use super::session::Session;
use crate::auth::metrics::AuthMetrics;
use crate::auth::{AuthError, Role, Verified};
use crate::config::{
    DN_PLACEHOLDER, LdapConfig, MAX_NAME_LEN, MAX_PASSWORD_LEN, Secret, TlsConfig, USER_PLACEHOLDER,
    is_valid_account_name,
};
use crate::selfmetrics::Registry;

/// Most groups read for one user; past it the rest are not considered
/// (and a warning says so).
const MAX_GROUPS: i32 = 1000;

/// LDAP result codes a user's bind may fail with that are the user's
/// business, not the directory's: invalidCredentials (49, also an account
/// locked by a password policy), inappropriateAuthentication (48),
/// unwillingToPerform (53, a disabled account).
const USER_REFUSED_CODES: [u32; 3] = [48, 49, 53];
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const NO_SUCH_OBJECT: u32 = 32;

pub struct LdapDirectory {
    url: String,
    /// The client configuration for ldaps:// and STARTTLS, read once.
    tls: Option<Arc<rustls::ClientConfig>>,
    start_tls: bool,
    service: Option<(String, Secret)>,
    user_base_dn: String,
    user_filter: String,
    group_base_dn: Option<String>,
    group_filter: String,
    roles: GroupRoles,
    timeout: Duration,
    /// One permit per sign-in talking to the directory.
    permits: Arc<Semaphore>,
    metrics: LdapMetrics,
    auth_metrics: Arc<AuthMetrics>,
}

/// Why a sign-in did not succeed, before it becomes an [`AuthError`].
#[derive(Debug)]
enum Refusal {
    /// The user's fault (the `result` label says which).
    Refused(&'static str),
    Busy,
    /// The directory's (the `step` label says where).
    Directory {
        step: &'static str,
        message: String,
    },
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl LdapDirectory {
    /// Checks the configuration again and reads `ca_file`, so a wrong path
    /// fails at start rather than at the first sign-in. Blocking (reads a
    /// file).
    pub fn new(config: &LdapConfig, registry: &Registry) -> Result<LdapDirectory, AuthError> {
        config
            .validate()
            .map_err(|e| AuthError::Invalid(format!("auth.{e}")))?;
        let tls = if config.uses_tls() {
            let tls_config = TlsConfig {
                ca_file: config.ca_file.clone(),
                ..TlsConfig::default()
            };
            let mut client = crate::http_client::client_config(&tls_config)
                .map_err(|e| AuthError::Directory(format!("auth.ldap: TLS setup: {e}")))?;
            // That configuration offers HTTP's ALPN; LDAP has none.
            client.alpn_protocols.clear();
            Some(Arc::new(client))
        } else {
            None
        };
        Ok(LdapDirectory {
            url: config.url.clone(),
            tls,
            start_tls: config.start_tls,
            service: config
                .bind_dn
                .clone()
                .map(|dn| (dn, config.bind_password.clone())),
            user_base_dn: config.user_base_dn.clone(),
            user_filter: config.user_filter.clone(),
            group_base_dn: config.group_base_dn.clone(),
            group_filter: config.group_filter.clone(),
            roles: GroupRoles::new(&config.groups, config.default_role),
            timeout: config.timeout.as_duration(),
            permits: Arc::new(Semaphore::new(config.max_connections)),
            metrics: LdapMetrics::new(registry),
            auth_metrics: Arc::new(AuthMetrics::new(registry)),
        })
    }

    /// Search-then-bind. `Ok` with the name Belfry records (the entry's
    /// `uid` when it is a valid Belfry name, else the name as typed) and
    /// the mapped role; [`AuthError::InvalidCredentials`] for a wrong
    /// password, an unknown user, a user in no mapped group or a refused
    /// input; [`AuthError::Busy`] past `max_connections`;
    /// [`AuthError::Directory`] when the directory fails. Never waits
    /// longer than `timeout`. Counts and logs its outcome.
    pub async fn verify(&self, name: &str, password: &str) -> Result<Verified, AuthError> {
        let outcome = self.attempt(name, password).await;
        self.record(name, &outcome);
        outcome.map_err(|refusal| match refusal {
            Refusal::Refused(_) => AuthError::InvalidCredentials,
            Refusal::Busy => AuthError::Busy,
            Refusal::Directory { message, .. } => AuthError::Directory(message),
        })
    }

    async fn attempt(&self, name: &str, password: &str) -> Result<Verified, Refusal> {
        if !acceptable_input(name, password) {
            return Err(Refusal::Refused(result::REFUSED_INPUT));
        }
        let _permit = self.permits.try_acquire().map_err(|_| Refusal::Busy)?;
        match tokio::time::timeout(self.timeout, self.search_then_bind(name, password)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Refusal::Directory {
                step: "timeout",
                message: format!(
                    "ldap server {} did not answer within {:?} (auth.ldap.timeout)",
                    self.url, self.timeout
                ),
            }),
        }
    }

    async fn search_then_bind(&self, name: &str, password: &str) -> Result<Verified, Refusal> {
        let mut session = Session::open(&self.url, self.tls.as_ref(), self.start_tls, self.timeout)
            .await
            .map_err(|e| {
                self.failed(
                    "connect",
                    format!("cannot connect to ldap server {}: {e}", self.url),
                )
            })?;
        if let Some((dn, secret)) = &self.service {
            let answer = session.bind(dn, secret.expose()).await.map_err(|e| {
                self.failed(
                    "service_bind",
                    format!("binding as auth.ldap.bind_dn {dn:?} failed: {e}"),
                )
            })?;
            if answer.rc != 0 {
                return Err(self.failed(
                    "service_bind",
                    format!(
                        "the directory refused auth.ldap.bind_dn {dn:?}: {}",
                        describe(&answer)
                    ),
                ));
            }
        }
        let entry = self.find_user(&mut session, name).await?;
        let recorded = recorded_name(&entry, name).ok_or(Refusal::Refused(result::UNUSABLE_NAME))?;
        let role = self.role_of(&mut session, &entry, &recorded).await?;
        let Some(role) = role else {
            return Err(Refusal::Refused(result::NO_GROUP));
        };
        let answer = session
            .bind(&entry.dn, password)
            .await
            .map_err(|e| self.failed("user_bind", format!("binding as the user's entry failed: {e}")))?;
        match answer.rc {
            0 => {}
            rc if USER_REFUSED_CODES.contains(&rc) => return Err(Refusal::Refused(result::WRONG_PASSWORD)),
            _ => {
                return Err(self.failed(
                    "user_bind",
                    format!("the directory failed the user's bind: {}", describe(&answer)),
                ));
            }
        }
        session.close().await;
        Ok(Verified { name: recorded, role })
    }

    /// The one entry `user_filter` finds for `name`.
    async fn find_user(&self, session: &mut Session, name: &str) -> Result<SearchEntry, Refusal> {
        let filter = fill(&self.user_filter, &[(USER_PLACEHOLDER, name)]);
        // Two are enough to know the match is not unique.
        let found = session
            .search(&self.user_base_dn, &filter, &["uid"], 2)
            .await
            .map_err(|e| {
                self.failed(
                    "user_search",
                    format!("searching auth.ldap.user_base_dn failed: {e}"),
                )
            })?;
        match found.result.rc {
            0 => {}
            SIZE_LIMIT_EXCEEDED => return Err(Refusal::Refused(result::AMBIGUOUS_USER)),
            NO_SUCH_OBJECT => {
                return Err(self.failed(
                    "user_search",
                    format!(
                        "auth.ldap.user_base_dn {:?} does not exist in the directory, or {} may not read it",
                        self.user_base_dn,
                        self.search_identity()
                    ),
                ));
            }
            _ => {
                return Err(self.failed(
                    "user_search",
                    format!(
                        "searching auth.ldap.user_base_dn failed: {}",
                        describe(&found.result)
                    ),
                ));
            }
        }
        let mut entries = found.entries;
        match entries.len() {
            0 => Err(Refusal::Refused(result::UNKNOWN_USER)),
            1 => {
                let entry = entries.pop().expect("one entry");
                // A bind with an empty DN is anonymous and would succeed
                // whatever the password.
                if entry.dn.trim().is_empty() {
                    return Err(self.failed(
                        "user_search",
                        "the user search returned an entry without a DN".into(),
                    ));
                }
                Ok(entry)
            }
            _ => Err(Refusal::Refused(result::AMBIGUOUS_USER)),
        }
    }

    /// The role the groups of `entry` map to, or the default role.
    async fn role_of(
        &self,
        session: &mut Session,
        entry: &SearchEntry,
        user: &str,
    ) -> Result<Option<Role>, Refusal> {
        let Some(base) = self.group_base_dn.as_deref().filter(|_| self.roles.maps_groups()) else {
            return Ok(self.roles.role_for([]));
        };
        let filter = fill(
            &self.group_filter,
            &[(DN_PLACEHOLDER, &entry.dn), (USER_PLACEHOLDER, user)],
        );
        // "1.1": no attributes, the DNs are all that is needed.
        let found = session
            .search(base, &filter, &["1.1"], MAX_GROUPS)
            .await
            .map_err(|e| {
                self.failed(
                    "group_search",
                    format!("searching auth.ldap.group_base_dn failed: {e}"),
                )
            })?;
        match found.result.rc {
            0 => {}
            SIZE_LIMIT_EXCEEDED => {
                tracing::warn!(
                    user,
                    limit = MAX_GROUPS,
                    "ldap user is in more groups than are read; the rest are not mapped"
                );
            }
            NO_SUCH_OBJECT => {
                return Err(self.failed(
                    "group_search",
                    format!(
                        "auth.ldap.group_base_dn {base:?} does not exist in the directory, or {} may not read it",
                        self.search_identity()
                    ),
                ));
            }
            _ => {
                return Err(self.failed(
                    "group_search",
                    format!(
                        "searching auth.ldap.group_base_dn failed: {}",
                        describe(&found.result)
                    ),
                ));
            }
        }
        Ok(self.roles.role_for(found.entries.iter().map(|e| e.dn.as_str())))
    }

    /// Who searches, as the messages name it.
    fn search_identity(&self) -> String {
        match &self.service {
            Some((dn, _)) => format!("auth.ldap.bind_dn {dn:?}"),
            None => "an anonymous search (no auth.ldap.bind_dn)".to_string(),
        }
    }

    fn failed(&self, step: &'static str, message: String) -> Refusal {
        Refusal::Directory { step, message }
    }

    /// Counts and logs an outcome; never the password, and a typed name
    /// only when it is a valid one.
    fn record(&self, name: &str, outcome: &Result<Verified, Refusal>) {
        let user = loggable(name);
        match outcome {
            Ok(v) => {
                self.metrics.binds.with(&[result::SUCCESS]).inc();
                tracing::info!(user = %v.name, role = %v.role, "ldap login");
            }
            Err(Refusal::Refused(reason)) => {
                self.metrics.binds.with(&[*reason]).inc();
                self.auth_metrics
                    .login_failures
                    .with(&["invalid_credentials"])
                    .inc();
                tracing::warn!(user = %user, reason = *reason, "ldap login refused");
            }
            Err(Refusal::Busy) => {
                self.metrics.binds.with(&[result::BUSY]).inc();
                self.auth_metrics.login_failures.with(&["busy"]).inc();
                tracing::warn!(
                    user,
                    reason = "busy",
                    "ldap login refused: auth.ldap.max_connections sign-ins in progress"
                );
            }
            Err(Refusal::Directory { step, message }) => {
                self.metrics.binds.with(&[result::DIRECTORY_ERROR]).inc();
                self.metrics.directory_errors.with(&[*step]).inc();
                self.auth_metrics.login_failures.with(&["directory"]).inc();
                tracing::error!(user = %user, step = *step, error = %message, "ldap directory error");
            }
        }
    }
}

/// What may be sent to the directory at all.
fn acceptable_input(name: &str, password: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.chars().any(char::is_control)
        && !password.is_empty()
        && password.len() <= MAX_PASSWORD_LEN
}

/// The entry's `uid` when it is a valid Belfry name (the directory's
/// spelling: `Alice` typed is `alice` recorded), else the typed name when
/// it is one, else None.
fn recorded_name(entry: &SearchEntry, typed: &str) -> Option<String> {
    let uid = entry
        .attrs
        .iter()
        .find(|(attr, _)| attr.eq_ignore_ascii_case("uid"))
        .and_then(|(_, values)| {
            values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(typed))
                .or(values.first())
        });
    match uid {
        Some(uid) if is_valid_account_name(uid) => Some(uid.clone()),
        _ if is_valid_account_name(typed) => Some(typed.to_string()),
        _ => None,
    }
}

/// A result code with its name and the server's text.
fn describe(r: &LdapResult) -> String {
    r.to_string()
}

fn loggable(name: &str) -> &str {
    if is_valid_account_name(name) {
        name
    } else {
        "<invalid name>"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_refused_before_any_network() {
        assert!(acceptable_input("alice", "secret"));
        assert!(
            !acceptable_input("alice", ""),
            "an empty password is an unauthenticated bind"
        );
        assert!(!acceptable_input("", "secret"));
        assert!(!acceptable_input(&"a".repeat(MAX_NAME_LEN + 1), "secret"));
        assert!(!acceptable_input("ali\nce", "secret"));
        assert!(!acceptable_input("alice", &"p".repeat(MAX_PASSWORD_LEN + 1)));
        // Filter characters are escaped, not refused: the search finds
        // nobody of that name.
        assert!(acceptable_input("admin)(uid=*", "secret"));
    }

    fn entry(uids: &[&str]) -> SearchEntry {
        SearchEntry {
            dn: "uid=x,dc=example".into(),
            attrs: [("uid".to_string(), uids.iter().map(|s| s.to_string()).collect())].into(),
            bin_attrs: Default::default(),
        }
    }

    #[test]
    fn the_recorded_name_is_the_directorys_spelling() {
        assert_eq!(
            recorded_name(&entry(&["alice"]), "ALICE").as_deref(),
            Some("alice")
        );
        // Of several uid values, the one typed.
        assert_eq!(
            recorded_name(&entry(&["a.smith", "asmith"]), "asmith").as_deref(),
            Some("asmith")
        );
        // Found by mail: the uid.
        assert_eq!(
            recorded_name(&entry(&["asmith"]), "a@example.org").as_deref(),
            Some("asmith")
        );
        // A uid Belfry cannot record: the typed name, if it can.
        assert_eq!(
            recorded_name(&entry(&["a smith"]), "asmith").as_deref(),
            Some("asmith")
        );
        assert_eq!(recorded_name(&entry(&[]), "asmith").as_deref(), Some("asmith"));
        assert_eq!(recorded_name(&entry(&["a smith"]), "a smith"), None);
    }

    #[tokio::test]
    async fn an_empty_password_never_reaches_the_network() {
        // Nothing listens on port 9 of this host; an attempt to connect
        // would come back as a directory error, not as refused input.
        let registry = Registry::default();
        let config = LdapConfig {
            default_role: Some(crate::config::RoleName::Viewer),
            ..LdapConfig::new("ldap://127.0.0.1:9", "dc=example")
        };
        let directory = LdapDirectory::new(&config, &registry).unwrap();
        assert!(matches!(
            directory.verify("alice", "").await,
            Err(AuthError::InvalidCredentials)
        ));
        let rendered = registry.render();
        assert!(
            rendered.contains("belfry_auth_ldap_binds_total{result=\"refused_input\"} 1"),
            "{rendered}"
        );
        assert!(
            !rendered.contains("belfry_auth_ldap_directory_errors_total{"),
            "{rendered}"
        );
        // The same directory with a password does try, and fails to connect.
        let e = directory.verify("alice", "secret").await.unwrap_err();
        assert!(
            matches!(&e, AuthError::Directory(m) if m.contains("cannot connect to ldap server ldap://127.0.0.1:9")),
            "{e}"
        );
        assert!(!e.to_string().contains("secret"));
    }
}
