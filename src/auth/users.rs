//! Local users in table `auth_users`: name, role, argon2id hash, when
//! created, and the lockout state. The records are held in memory as well
//! (an institution has tens of users), written through on every change.
//!
//! Adding a user or changing a password hashes on the caller's thread
//! (the command line, or an admin's request on the blocking pool); a login
//! check ([`Users::verify`]) runs on the bounded [`PasswordPool`], since
//! anyone can send one.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::audit::{Actor, AuditLog};
use super::lockout::{AfterFailure, LockoutPolicy, LoginState};
use super::metrics::AuthMetrics;
use super::password::{self, PasswordPool};
use super::{AuthError, Role, unix_now};
use crate::config::{is_valid_account_name, password_problem};
use crate::state::{StateStore, StateWriter, WriteOp, tables};

/// A user as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct UserRecord {
    name: String,
    role: Role,
    /// PHC string (`$argon2id$…`).
    password_hash: String,
    /// Unix seconds.
    created: i64,
    #[serde(default)]
    failed_logins: u32,
    #[serde(default)]
    locked_until: Option<i64>,
}

impl UserRecord {
    fn login_state(&self) -> LoginState {
        LoginState {
            failed_logins: self.failed_logins,
            locked_until: self.locked_until,
        }
    }

    fn set_login_state(&mut self, s: LoginState) {
        self.failed_logins = s.failed_logins;
        self.locked_until = s.locked_until;
    }

    fn put(&self) -> Result<WriteOp, AuthError> {
        let value = serde_json::to_vec(self).map_err(|e| AuthError::Invalid(e.to_string()))?;
        Ok(WriteOp::put(tables::AUTH_USERS, self.name.clone(), value))
    }
}

/// A user as shown (no hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub created: i64,
    pub failed_logins: u32,
    /// Set while the user is locked.
    pub locked_until: Option<i64>,
}

/// Who a successful login is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub name: String,
    pub role: Role,
}

struct Inner {
    writer: StateWriter,
    audit: Arc<AuditLog>,
    records: Mutex<BTreeMap<String, UserRecord>>,
    policy: LockoutPolicy,
    metrics: Arc<AuthMetrics>,
}

#[derive(Clone)]
pub struct Users {
    inner: Arc<Inner>,
    pool: Arc<PasswordPool>,
}

impl Users {
    /// Loads the users of `store`. Blocking.
    pub(super) fn open(
        store: &StateStore,
        writer: StateWriter,
        audit: Arc<AuditLog>,
        policy: LockoutPolicy,
        pool: Arc<PasswordPool>,
        metrics: Arc<AuthMetrics>,
    ) -> Result<Users, AuthError> {
        let mut records = BTreeMap::new();
        for (key, value) in store.scan(tables::AUTH_USERS)? {
            let record: UserRecord = serde_json::from_slice(&value).map_err(|e| AuthError::Corrupt {
                table: tables::AUTH_USERS,
                key: key.clone(),
                message: e.to_string(),
            })?;
            records.insert(key, record);
        }
        Ok(Users {
            inner: Arc::new(Inner {
                writer,
                audit,
                records: Mutex::new(records),
                policy,
                metrics,
            }),
            pool,
        })
    }

    /// Creates a user. Hashes on this thread; blocks until durable.
    pub fn add(&self, actor: &Actor, name: &str, role: Role, password: &str) -> Result<UserInfo, AuthError> {
        check_name(name)?;
        check_password(password)?;
        if self.inner.records.lock().contains_key(name) {
            return Err(AuthError::UserExists(name.to_string()));
        }
        let record = UserRecord {
            name: name.to_string(),
            role,
            password_hash: password::hash(password)?,
            created: unix_now(),
            failed_logins: 0,
            locked_until: None,
        };
        let audit = self
            .inner
            .audit
            .record(actor, "user.add", name, format!("role={role}"))?;
        // Checked again under the lock: hashing took a while.
        let mut records = self.inner.records.lock();
        if records.contains_key(name) {
            return Err(AuthError::UserExists(name.to_string()));
        }
        let pending = self.inner.writer.enqueue(vec![record.put()?, audit]);
        let info = info(&record);
        records.insert(name.to_string(), record);
        drop(records);
        wait(pending)?;
        Ok(info)
    }

    /// Replaces a user's password; also lifts a lock, as a reset by an
    /// admin should.
    pub fn set_password(&self, actor: &Actor, name: &str, password: &str) -> Result<(), AuthError> {
        check_password(password)?;
        if !self.inner.records.lock().contains_key(name) {
            return Err(AuthError::NoSuchUser(name.to_string()));
        }
        let hash = password::hash(password)?;
        self.change(actor, name, "user.passwd", String::new(), |r| {
            r.password_hash = hash;
            r.set_login_state(LoginState::default());
        })
    }

    pub fn set_role(&self, actor: &Actor, name: &str, role: Role) -> Result<(), AuthError> {
        self.change(actor, name, "user.role", format!("role={role}"), |r| {
            r.role = role
        })
    }

    /// Ends a lock and clears the failure count.
    pub fn unlock(&self, actor: &Actor, name: &str) -> Result<(), AuthError> {
        self.change(actor, name, "user.unlock", String::new(), |r| {
            r.set_login_state(LoginState::default())
        })
    }

    pub fn remove(&self, actor: &Actor, name: &str) -> Result<(), AuthError> {
        let audit = self.inner.audit.record(actor, "user.remove", name, "")?;
        let mut records = self.inner.records.lock();
        if records.remove(name).is_none() {
            return Err(AuthError::NoSuchUser(name.to_string()));
        }
        let pending = self
            .inner
            .writer
            .enqueue(vec![WriteOp::delete(tables::AUTH_USERS, name), audit]);
        drop(records);
        wait(pending)
    }

    /// Every user, by name.
    pub fn list(&self) -> Vec<UserInfo> {
        self.inner.records.lock().values().map(info).collect()
    }

    pub fn get(&self, name: &str) -> Option<UserInfo> {
        self.inner.records.lock().get(name).map(info)
    }

    /// The role of `name` now; None when no such user exists. Runs on
    /// every request made with a session, so a role change or a removal
    /// applies from the next request.
    pub fn role_of(&self, name: &str) -> Option<Role> {
        self.inner.records.lock().get(name).map(|r| r.role)
    }

    pub fn is_empty(&self) -> bool {
        self.inner.records.lock().is_empty()
    }

    pub fn has_admin(&self) -> bool {
        self.inner.records.lock().values().any(|r| r.role == Role::Admin)
    }

    /// Checks a login on the password pool and waits for the answer (for
    /// threads that may block: never the async executor).
    pub fn verify_blocking(&self, name: &str, password: &str, source: &str) -> Result<Verified, AuthError> {
        let wait = self.submit_verify(name, password, source)?;
        wait.blocking_recv().map_err(|_| AuthError::Busy)?
    }

    /// Checks a login on the password pool.
    pub async fn verify(&self, name: &str, password: &str, source: &str) -> Result<Verified, AuthError> {
        let wait = self.submit_verify(name, password, source)?;
        wait.await.map_err(|_| AuthError::Busy)?
    }

    fn submit_verify(
        &self,
        name: &str,
        password: &str,
        source: &str,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<Verified, AuthError>>, AuthError> {
        let inner = self.inner.clone();
        let job = {
            let (name, password, source) = (name.to_string(), password.to_string(), source.to_string());
            move || inner.verify(&name, &password, &source)
        };
        self.pool.submit(job).inspect_err(|e| {
            self.inner
                .metrics
                .login_failures
                .with(&[e.failure_reason()])
                .inc();
            tracing::warn!(user = %loggable(name), source, reason = e.failure_reason(), "login failed");
        })
    }

    fn change(
        &self,
        actor: &Actor,
        name: &str,
        action: &str,
        detail: String,
        f: impl FnOnce(&mut UserRecord),
    ) -> Result<(), AuthError> {
        let audit = self.inner.audit.record(actor, action, name, detail)?;
        let mut records = self.inner.records.lock();
        let record = records
            .get_mut(name)
            .ok_or_else(|| AuthError::NoSuchUser(name.to_string()))?;
        f(record);
        let pending = self.inner.writer.enqueue(vec![record.put()?, audit]);
        drop(records);
        wait(pending)
    }
}

impl Inner {
    /// Runs on a pool thread: the lock check, the hash check (against the
    /// decoy for an unknown name), the failure count and its write.
    fn verify(&self, name: &str, password: &str, source: &str) -> Result<Verified, AuthError> {
        let result = self.check(name, password, source);
        if let Err(e) = &result {
            self.metrics.login_failures.with(&[e.failure_reason()]).inc();
            tracing::warn!(user = %loggable(name), source, reason = e.failure_reason(), "login failed");
        }
        result
    }

    fn check(&self, name: &str, password: &str, source: &str) -> Result<Verified, AuthError> {
        let now = unix_now();
        let snapshot = self.records.lock().get(name).cloned();
        let Some(record) = snapshot else {
            // Same work as a wrong password, so the time taken does not
            // say the name is unknown.
            password::verify(password, password::decoy_hash());
            return Err(AuthError::InvalidCredentials);
        };
        if let Some(retry_after_secs) = self.policy.locked_for(&record.login_state(), now) {
            return Err(AuthError::Locked { retry_after_secs });
        }
        let ok = password.len() <= crate::config::MAX_PASSWORD_LEN
            && password::verify(password, &record.password_hash);
        let mut records = self.records.lock();
        // The user may have been removed or changed during the check.
        let Some(current) = records.get_mut(name) else {
            return Err(AuthError::InvalidCredentials);
        };
        if current.password_hash != record.password_hash {
            return Err(AuthError::InvalidCredentials);
        }
        let mut state = current.login_state();
        if ok {
            let changed = self.policy.succeed(&mut state);
            let verified = Verified {
                name: current.name.clone(),
                role: current.role,
            };
            if changed {
                current.set_login_state(state);
                let pending = self.writer.enqueue(vec![current.put()?]);
                drop(records);
                wait(pending)?;
            }
            return Ok(verified);
        }
        let outcome = self.policy.fail(&mut state, now);
        current.set_login_state(state);
        let mut ops = vec![current.put()?];
        if let AfterFailure::LockedOut { until } = outcome {
            self.metrics.lockouts.inc();
            tracing::warn!(user = %loggable(name), source, until, "user locked out after repeated failed logins");
            let actor = Actor::new(name, source);
            ops.push(
                self.audit
                    .record(&actor, "user.lockout", name, format!("until={until}"))?,
            );
        }
        let pending = self.writer.enqueue(ops);
        drop(records);
        wait(pending)?;
        Err(AuthError::InvalidCredentials)
    }
}

fn info(r: &UserRecord) -> UserInfo {
    UserInfo {
        name: r.name.clone(),
        role: r.role,
        created: r.created,
        failed_logins: r.failed_logins,
        locked_until: r.locked_until,
    }
}

fn wait(pending: crate::state::PendingWrite) -> Result<(), AuthError> {
    pending.durable_blocking().map_err(AuthError::from)
}

fn check_name(name: &str) -> Result<(), AuthError> {
    if is_valid_account_name(name) {
        return Ok(());
    }
    Err(AuthError::Invalid(format!(
        "{:?} is not a valid user name (1–{} of letters, digits, '.', '_', '@', '-', not starting with '.' or '-')",
        loggable(name),
        crate::config::MAX_NAME_LEN
    )))
}

fn check_password(password: &str) -> Result<(), AuthError> {
    match password_problem(password) {
        Some(p) => Err(AuthError::Invalid(p)),
        None => Ok(()),
    }
}

/// A login's user name as it may appear in logs: a client chooses it, so
/// one that is not a valid name (too long, control characters) is not
/// written out.
fn loggable(name: &str) -> &str {
    if is_valid_account_name(name) {
        name
    } else {
        "<invalid name>"
    }
}
