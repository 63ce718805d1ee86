//! `Accounts`: the users, tokens and audit log of one state store, opened
//! together at start-up.

use std::sync::Arc;

use crate::config::AuthConfig;
use crate::selfmetrics::Registry;
use crate::state::{StateStore, StateWriter};

use super::audit::{Actor, AuditLog};
use super::error::AuthError;
use super::ldap::LdapDirectory;
use super::lockout::LockoutPolicy;
use super::metrics::AuthMetrics;
use super::password::PasswordPool;
use super::role::Role;
use super::sessions::Sessions;
use super::throttle::LoginThrottle;
use super::tokens::Tokens;
use super::unix_now;
use super::users::Users;

/// Users, tokens, sessions and the audit log of one state store, the
/// login throttle, and the LDAP directory of `auth.ldap` when one is
/// configured.
pub struct Accounts {
    pub users: Users,
    pub tokens: Tokens,
    pub sessions: Sessions,
    pub throttle: LoginThrottle,
    pub audit: Arc<AuditLog>,
    pub metrics: Arc<AuthMetrics>,
    pub ldap: Option<LdapDirectory>,
    writer: StateWriter,
    #[cfg(test)]
    store: Arc<StateStore>,
}

impl Accounts {
    /// Loads users and tokens and starts the password pool. Blocking.
    pub fn open(
        store: Arc<StateStore>,
        config: &AuthConfig,
        registry: &Registry,
    ) -> Result<Accounts, AuthError> {
        let metrics = Arc::new(AuthMetrics::new(registry));
        // Their own writer: a login's failure count or a token's last use
        // never waits behind a batch of error events.
        let writer = StateWriter::start(store.clone());
        let audit = Arc::new(AuditLog::new(store.clone()));
        let pool = Arc::new(PasswordPool::start(
            config.password_hashing.workers,
            config.password_hashing.queue,
            metrics.password_queue_full.clone(),
        ));
        let users = Users::open(
            &store,
            writer.clone(),
            audit.clone(),
            LockoutPolicy::from(&config.lockout),
            pool,
            metrics.clone(),
        )?;
        let tokens = Tokens::open(&store, writer.clone(), audit.clone(), metrics.clone())?;
        let sessions = Sessions::open(
            &store,
            writer.clone(),
            audit.clone(),
            &config.session,
            metrics.clone(),
        )?;
        let throttle = LoginThrottle::new(&config.login_throttle, metrics.clone());
        let ldap = config
            .ldap
            .as_ref()
            .map(|c| LdapDirectory::new(c, registry))
            .transpose()?;
        #[cfg(not(test))]
        drop(store);
        Ok(Accounts {
            users,
            tokens,
            sessions,
            throttle,
            metrics,
            audit,
            ldap,
            writer,
            #[cfg(test)]
            store,
        })
    }

    /// Creates `auth.admin` when no user of that name exists. A user of
    /// that name is left as it is — its password may have been changed
    /// with `belfry user passwd` since — and said so. Returns whether it
    /// was created. Blocking.
    pub fn ensure_admin(&self, config: &AuthConfig) -> Result<bool, AuthError> {
        let Some(admin) = &config.admin else {
            return Ok(false);
        };
        if let Some(existing) = self.users.get(&admin.user) {
            if existing.role != Role::Admin {
                tracing::warn!(
                    user = %admin.user,
                    role = %existing.role,
                    "auth.admin names an existing user who is not an admin; left unchanged"
                );
            }
            return Ok(false);
        }
        self.users.add(
            &Actor::config(),
            &admin.user,
            Role::Admin,
            admin.password.expose(),
        )?;
        tracing::info!(user = %admin.user, "created the admin user of auth.admin");
        Ok(true)
    }

    /// No user, no token and no directory to sign in through: a
    /// developer's loopback server stays open.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty() && self.ldap.is_none()
    }

    /// Some admin user or unexpired admin token exists, which a listen
    /// beyond loopback requires.
    pub fn has_admin(&self) -> bool {
        self.users.has_admin() || self.tokens.has_admin(unix_now())
    }

    /// Removes a user with their sessions and the tokens they created.
    /// Blocking.
    pub fn remove_user(&self, actor: &Actor, name: &str) -> Result<(), AuthError> {
        self.users.remove(actor, name)?;
        self.sessions.revoke_user(name)?;
        self.tokens.remove_owned_by(actor, name)?;
        Ok(())
    }

    /// Sets a user's password and ends their sessions (whoever held one
    /// with the old password holds none now). Blocking.
    pub fn set_password(&self, actor: &Actor, name: &str, password: &str) -> Result<(), AuthError> {
        self.users.set_password(actor, name, password)?;
        self.sessions.revoke_user(name)?;
        Ok(())
    }

    /// Records a change made over the API that no account method records
    /// itself (a silence, a reload, an issue's status). Does not wait.
    pub fn record(&self, actor: &Actor, action: &str, target: &str, detail: String) {
        match self.audit.record(actor, action, target, detail) {
            Ok(op) => self.writer.write_detached(vec![op]),
            Err(e) => tracing::error!(action, error = %e, "cannot record an audit entry"),
        }
    }

    /// Waits until every write queued so far is durable (last-use times
    /// are written without waiting). Blocking.
    pub fn flush(&self) -> Result<(), AuthError> {
        self.writer.write_blocking(Vec::new()).map_err(AuthError::from)
    }
}

#[cfg(test)]
impl Accounts {
    /// A table's rows as stored, for tests that look at what is on disk.
    pub(crate) fn raw_rows(&self, table: &'static str) -> Vec<(String, Vec<u8>)> {
        self.store.scan(table).unwrap()
    }
}
