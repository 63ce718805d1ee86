//! Sessions of people signed in (login page, LDAP, single sign-on), in
//! table `auth_sessions`: the SHA-256 of the cookie's secret, the user,
//! when it began and when it was last used. The secret is returned once,
//! for the cookie, and never stored.
//!
//! Like tokens, every session is held in memory by its hash, so a check
//! is one hash and a map lookup. A session ends when unused for
//! `idle_timeout`, at `absolute_timeout` after sign-in, at logout, and
//! when its user is removed or given a new password. Last use is written
//! at most once a minute per session, without waiting, so idle expiry
//! survives a restart to within that minute.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::audit::{Actor, AuditLog};
use super::last_use;
use super::metrics::AuthMetrics;
use super::token_secret;
use super::{AuthError, Role, unix_now};
use crate::config::SessionConfig;
use crate::state::{StateStore, StateWriter, WriteOp, tables};

/// Last use is written when it moved by at least this much.
const LAST_SEEN_RESOLUTION_SECS: i64 = 60;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SessionRecord {
    user: String,
    created: i64,
    last_seen: i64,
    /// Set for a person signed in through a directory (LDAP, single
    /// sign-on), who has no local user to read the role from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
}

struct Entry {
    user: String,
    role: Option<Role>,
    sha256: [u8; 32],
    created: i64,
    last_seen: AtomicI64,
}

impl Entry {
    fn put(&self) -> Result<WriteOp, AuthError> {
        let record = SessionRecord {
            user: self.user.clone(),
            created: self.created,
            last_seen: self.last_seen.load(Ordering::Relaxed),
            role: self.role,
        };
        let value = serde_json::to_vec(&record).map_err(|e| AuthError::Invalid(e.to_string()))?;
        Ok(WriteOp::put(
            tables::AUTH_SESSIONS,
            token_secret::to_hex(&self.sha256),
            value,
        ))
    }

    fn delete(&self) -> WriteOp {
        WriteOp::delete(tables::AUTH_SESSIONS, token_secret::to_hex(&self.sha256))
    }
}

/// Who a session is: a local user (whose role is read from their account
/// at each request) or a directory's user with the role they signed in
/// with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionUser {
    pub name: String,
    pub directory_role: Option<Role>,
}

/// A new session: the cookie's secret and the CSRF token pages send back.
#[derive(Debug)]
pub struct NewSession {
    pub secret: String,
    pub csrf_token: String,
    /// Unix seconds when it ends at the latest.
    pub expires: i64,
}

/// The session timeouts in seconds.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    idle: i64,
    absolute: i64,
}

impl Timeouts {
    fn expired(&self, created: i64, last_seen: i64, now: i64) -> bool {
        now - last_seen >= self.idle || now - created >= self.absolute
    }
}

pub struct Sessions {
    writer: StateWriter,
    audit: Arc<AuditLog>,
    by_hash: RwLock<HashMap<[u8; 32], Arc<Entry>>>,
    /// Held while a change of the map is queued for writing, so the
    /// table's writes come in the map's order (a last-use write never
    /// lands after the session's end).
    changes: Mutex<()>,
    timeouts: Timeouts,
    max_sessions: usize,
    metrics: Arc<AuthMetrics>,
}

impl Sessions {
    /// Loads the sessions of `store`, dropping those that ended while the
    /// server was stopped. Blocking.
    pub(super) fn open(
        store: &StateStore,
        writer: StateWriter,
        audit: Arc<AuditLog>,
        config: &SessionConfig,
        metrics: Arc<AuthMetrics>,
    ) -> Result<Sessions, AuthError> {
        let timeouts = Timeouts {
            idle: secs(config.idle_timeout.0),
            absolute: secs(config.absolute_timeout.0),
        };
        let now = unix_now();
        let mut by_hash = HashMap::new();
        let mut ended = Vec::new();
        for (key, value) in store.scan(tables::AUTH_SESSIONS)? {
            let corrupt = |message: String| AuthError::Corrupt {
                table: tables::AUTH_SESSIONS,
                key: key.clone(),
                message,
            };
            let r: SessionRecord = serde_json::from_slice(&value).map_err(|e| corrupt(e.to_string()))?;
            let sha256 = token_secret::from_hex(&key)
                .ok_or_else(|| corrupt("key is not 64 hex digits".to_string()))?;
            if timeouts.expired(r.created, r.last_seen, now) {
                ended.push(WriteOp::delete(tables::AUTH_SESSIONS, key.clone()));
                continue;
            }
            by_hash.insert(
                sha256,
                Arc::new(Entry {
                    user: r.user,
                    role: r.role,
                    sha256,
                    created: r.created,
                    last_seen: AtomicI64::new(r.last_seen),
                }),
            );
        }
        if !ended.is_empty() {
            writer.write_blocking(ended)?;
        }
        metrics.sessions.set(by_hash.len() as f64);
        Ok(Sessions {
            writer,
            audit,
            by_hash: RwLock::new(by_hash),
            changes: Mutex::new(()),
            timeouts,
            max_sessions: config.max_sessions.max(1),
            metrics,
        })
    }

    /// Begins a session for the local user `user`, who has just proved
    /// who they are with their password. Blocks until durable.
    pub fn create(&self, user: &str, source: &str, via: &str) -> Result<NewSession, AuthError> {
        self.begin(user, None, source, via)
    }

    /// Begins a session for a directory's user (`via`: ldap, oidc), with
    /// the role the directory's groups or claims gave. Blocks until
    /// durable.
    pub fn create_for_directory_user(
        &self,
        user: &str,
        role: Role,
        source: &str,
        via: &str,
    ) -> Result<NewSession, AuthError> {
        self.begin(user, Some(role), source, via)
    }

    fn begin(
        &self,
        user: &str,
        role: Option<Role>,
        source: &str,
        via: &str,
    ) -> Result<NewSession, AuthError> {
        let now = unix_now();
        let secret = token_secret::generate_session();
        let entry = Arc::new(Entry {
            user: user.to_string(),
            role,
            sha256: token_secret::digest(&secret),
            created: now,
            last_seen: AtomicI64::new(now),
        });
        let audit = self.audit.record(
            &Actor::new(user, source),
            "session.login",
            user,
            format!("via={via}"),
        )?;
        let pending = {
            let _changes = self.changes.lock();
            let mut map = self.by_hash.write();
            let mut ops = vec![entry.put()?, audit];
            if map.len() >= self.max_sessions
                && let Some(oldest) = least_recently_used(&map)
            {
                // Memory and the table stay bounded whatever signs in.
                map.remove(&oldest.sha256);
                ops.push(oldest.delete());
                self.metrics.sessions_evicted.inc();
                tracing::warn!(user = %oldest.user, "session ended to make room (auth.session.max_sessions)");
            }
            map.insert(entry.sha256, entry.clone());
            self.metrics.sessions.set(map.len() as f64);
            self.writer.enqueue(ops)
        };
        pending.durable_blocking()?;
        Ok(NewSession {
            csrf_token: token_secret::csrf_token(&secret),
            secret,
            expires: now + self.timeouts.absolute,
        })
    }

    /// The user of the session whose secret this is, now.
    pub fn check(&self, secret: &str) -> Result<SessionUser, AuthError> {
        self.check_at(secret, unix_now())
    }

    /// As [`Sessions::check`], at `now` (unix seconds). Does not block.
    pub fn check_at(&self, secret: &str, now: i64) -> Result<SessionUser, AuthError> {
        if !token_secret::is_well_formed_session(secret) {
            return Err(AuthError::NoSession);
        }
        let hash = token_secret::digest(secret);
        let Some(entry) = self.by_hash.read().get(&hash).cloned() else {
            return Err(AuthError::NoSession);
        };
        if self
            .timeouts
            .expired(entry.created, entry.last_seen.load(Ordering::Relaxed), now)
        {
            self.end(&entry, None);
            return Err(AuthError::NoSession);
        }
        self.touch(&entry, now);
        Ok(SessionUser {
            name: entry.user.clone(),
            directory_role: entry.role,
        })
    }

    /// Ends the session whose secret this is (logout), recorded as done by
    /// `actor`. Blocks until durable; an unknown secret is no error.
    pub fn revoke(&self, actor: &Actor, secret: &str) -> Result<(), AuthError> {
        let hash = token_secret::digest(secret);
        let Some(entry) = self.by_hash.read().get(&hash).cloned() else {
            return Ok(());
        };
        let audit = self.audit.record(actor, "session.logout", &entry.user, "")?;
        match self.end(&entry, Some(audit)) {
            Some(pending) => pending.durable_blocking().map_err(AuthError::from),
            None => Ok(()),
        }
    }

    /// Ends every session of `user` (removed, or given a new password).
    /// Blocks until durable; returns how many ended.
    pub fn revoke_user(&self, user: &str) -> Result<usize, AuthError> {
        let ops = {
            let _changes = self.changes.lock();
            let mut map = self.by_hash.write();
            let ended: Vec<_> = map.values().filter(|e| e.user == user).cloned().collect();
            for e in &ended {
                map.remove(&e.sha256);
            }
            self.metrics.sessions.set(map.len() as f64);
            ended.iter().map(|e| e.delete()).collect::<Vec<_>>()
        };
        let n = ops.len();
        if n > 0 {
            self.writer.write_blocking(ops)?;
        }
        Ok(n)
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.by_hash.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes `entry` out of the map and queues its deletion (with `extra`
    /// in the same transaction). None when another request ended it first.
    fn end(&self, entry: &Arc<Entry>, extra: Option<WriteOp>) -> Option<crate::state::PendingWrite> {
        let _changes = self.changes.lock();
        let mut map = self.by_hash.write();
        map.remove(&entry.sha256)?;
        self.metrics.sessions.set(map.len() as f64);
        let mut ops = vec![entry.delete()];
        ops.extend(extra);
        Some(self.writer.enqueue(ops))
    }

    /// Records a use at `now`, written when the last written use is a
    /// minute old or more; concurrent checks of one session write once.
    fn touch(&self, entry: &Arc<Entry>, now: i64) {
        if !last_use::claim_write(&entry.last_seen, now, LAST_SEEN_RESOLUTION_SECS) {
            return;
        }
        let _changes = self.changes.lock();
        // Ended since the lookup: its row is gone and must stay gone.
        if !self.by_hash.read().contains_key(&entry.sha256) {
            return;
        }
        match entry.put() {
            Ok(op) => self.writer.write_detached(vec![op]),
            Err(e) => tracing::error!(user = %entry.user, error = %e, "cannot record a session's last use"),
        }
    }
}

fn least_recently_used(map: &HashMap<[u8; 32], Arc<Entry>>) -> Option<Arc<Entry>> {
    map.values()
        .min_by_key(|e| e.last_seen.load(Ordering::Relaxed))
        .cloned()
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
