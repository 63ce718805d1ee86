//! Accounts and access: local users with roles and argon2id passwords,
//! API tokens with scopes, the login lockout, and the audit log, all in
//! `state.redb`. `web` asks this module who a request is and what it may
//! do ([`Permission`]); this module knows nothing of HTTP.
//!
//! One concept per file: `role.rs` (roles, scopes, permissions),
//! `password.rs` (argon2id and the bounded pool checks run on),
//! `lockout.rs` (the rule), `users.rs`, `token_secret.rs` (the secret's
//! format and hash), `tokens.rs`, `audit.rs`, `metrics.rs`
//! (`belfry_auth_*`), `error.rs`.

mod audit;
mod error;
mod lockout;
mod metrics;
mod password;
mod role;
pub mod token_secret;
mod tokens;
mod users;

use std::sync::Arc;

pub use audit::{Actor, AuditEntry, AuditLog, AuditPage, MAX_PAGE as MAX_AUDIT_PAGE};
pub use error::AuthError;
pub use lockout::{AfterFailure, LockoutPolicy, LoginState};
pub use metrics::AuthMetrics;
pub use password::PasswordPool;
pub use role::{Permission, Role, Scope, scopes_allow};
pub use tokens::{LAST_USED_RESOLUTION_SECS, NewToken, TokenInfo, Tokens};
pub use users::{UserInfo, Users, Verified};

use crate::config::AuthConfig;
use crate::selfmetrics::Registry;
use crate::state::{StateStore, StateWriter};

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    crate::model::now_millis().div_euclid(1000)
}

/// Users, tokens and the audit log of one state store.
pub struct Accounts {
    pub users: Users,
    pub tokens: Tokens,
    pub audit: Arc<AuditLog>,
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
        let tokens = Tokens::open(&store, writer.clone(), audit.clone(), metrics)?;
        #[cfg(not(test))]
        drop(store);
        Ok(Accounts {
            users,
            tokens,
            audit,
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

    /// No user and no token: a developer's loopback server stays open.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    /// Some admin user or unexpired admin token exists, which a listen
    /// beyond loopback requires.
    pub fn has_admin(&self) -> bool {
        self.users.has_admin() || self.tokens.has_admin(unix_now())
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

#[cfg(test)]
mod tests;
