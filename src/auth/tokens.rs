//! API tokens for programs, in table `auth_tokens`: name, scopes, the
//! SHA-256 of the secret, created, expires, last used. The secret is
//! returned once by [`Tokens::add`] and never stored.
//!
//! Every token is held in memory by its hash, so a check is a hash of
//! 36 bytes and a map lookup (benches/auth_check.rs). The map is the
//! cache: it is changed in the same step as the table (add, remove), so a
//! removed token is refused from that moment. Last use is written at most
//! once a minute per token, without waiting, never once per request.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::audit::{Actor, AuditLog};
use super::last_use;
use super::metrics::AuthMetrics;
use super::token_secret;
use super::{AuthError, Scope, unix_now};
use crate::config::is_valid_account_name;
use crate::state::{StateStore, StateWriter, WriteOp, tables};

/// Last use is written when it moved by at least this much.
pub const LAST_USED_RESOLUTION_SECS: i64 = 60;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TokenRecord {
    name: String,
    scopes: Vec<Scope>,
    /// SHA-256 of the secret, hex.
    sha256: String,
    created: i64,
    #[serde(default)]
    expires: Option<i64>,
    #[serde(default)]
    last_used: Option<i64>,
    /// The user who created it over the API; it ends with that user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
}

/// A token as shown and as a check grants it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Unix seconds, as are the others.
    pub created: i64,
    pub expires: Option<i64>,
    pub last_used: Option<i64>,
    /// The user who created it over the API (None: the command line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A new token and its secret, which nothing can show again.
#[derive(Debug)]
pub struct NewToken {
    pub info: TokenInfo,
    pub secret: String,
}

struct Entry {
    name: String,
    scopes: Vec<Scope>,
    sha256: [u8; 32],
    created: i64,
    expires: Option<i64>,
    /// Unix seconds; 0 for never.
    last_used: AtomicI64,
    owner: Option<String>,
    /// Made at start for the server's own use and held in memory only:
    /// never stored, listed or counted as an account.
    internal: bool,
}

impl Entry {
    fn info(&self) -> TokenInfo {
        let last_used = self.last_used.load(Ordering::Relaxed);
        TokenInfo {
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            created: self.created,
            expires: self.expires,
            last_used: (last_used != 0).then_some(last_used),
            owner: self.owner.clone(),
        }
    }

    fn put(&self) -> Result<WriteOp, AuthError> {
        let info = self.info();
        let record = TokenRecord {
            name: info.name,
            scopes: info.scopes,
            sha256: token_secret::to_hex(&self.sha256),
            created: info.created,
            expires: info.expires,
            last_used: info.last_used,
            owner: info.owner,
        };
        let value = serde_json::to_vec(&record).map_err(|e| AuthError::Invalid(e.to_string()))?;
        Ok(WriteOp::put(tables::AUTH_TOKENS, self.name.clone(), value))
    }
}

pub struct Tokens {
    writer: StateWriter,
    audit: Arc<AuditLog>,
    by_hash: RwLock<HashMap<[u8; 32], Arc<Entry>>>,
    /// Held while a change of the map is queued for writing, so the
    /// table's writes come in the map's order (a last-use write never
    /// lands after the token's removal).
    changes: Mutex<()>,
    metrics: Arc<AuthMetrics>,
}

impl Tokens {
    /// Loads the tokens of `store`. Blocking.
    pub(super) fn open(
        store: &StateStore,
        writer: StateWriter,
        audit: Arc<AuditLog>,
        metrics: Arc<AuthMetrics>,
    ) -> Result<Tokens, AuthError> {
        let mut by_hash = HashMap::new();
        for (key, value) in store.scan(tables::AUTH_TOKENS)? {
            let corrupt = |message: String| AuthError::Corrupt {
                table: tables::AUTH_TOKENS,
                key: key.clone(),
                message,
            };
            let r: TokenRecord = serde_json::from_slice(&value).map_err(|e| corrupt(e.to_string()))?;
            let sha256 = token_secret::from_hex(&r.sha256)
                .ok_or_else(|| corrupt("sha256 is not 64 hex digits".to_string()))?;
            by_hash.insert(
                sha256,
                Arc::new(Entry {
                    name: r.name,
                    scopes: r.scopes,
                    sha256,
                    created: r.created,
                    expires: r.expires,
                    last_used: AtomicI64::new(r.last_used.unwrap_or(0)),
                    owner: r.owner,
                    internal: false,
                }),
            );
        }
        Ok(Tokens {
            writer,
            audit,
            by_hash: RwLock::new(by_hash),
            changes: Mutex::new(()),
            metrics,
        })
    }

    /// Creates a token; `expires_in` None is a token that does not expire.
    /// Blocks until durable.
    pub fn add(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[Scope],
        expires_in: Option<Duration>,
    ) -> Result<NewToken, AuthError> {
        self.add_owned(actor, name, scopes, expires_in, None)
    }

    /// As [`Tokens::add`], for a token that ends with its `owner`'s
    /// account (one a person creates over the API).
    pub fn add_owned(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[Scope],
        expires_in: Option<Duration>,
        owner: Option<&str>,
    ) -> Result<NewToken, AuthError> {
        if !is_valid_account_name(name) {
            return Err(AuthError::Invalid(format!(
                "{name:?} is not a valid token name (1–{} of letters, digits, '.', '_', '@', '-', not starting with '.' or '-')",
                crate::config::MAX_NAME_LEN
            )));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(AuthError::Invalid(
                "a token needs at least one scope (read, ingest, write or admin)".to_string(),
            ));
        }
        let now = unix_now();
        let expires = match expires_in {
            None => None,
            Some(d) if d.is_zero() => {
                return Err(AuthError::Invalid(
                    "a token's expiry must be after now".to_string(),
                ));
            }
            Some(d) => Some(now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))),
        };
        let secret = token_secret::generate();
        let entry = Arc::new(Entry {
            name: name.to_string(),
            scopes,
            sha256: token_secret::digest(&secret),
            created: now,
            expires,
            last_used: AtomicI64::new(0),
            owner: owner.map(str::to_string),
            internal: false,
        });
        let scope_names: Vec<&str> = entry.scopes.iter().map(|s| s.as_str()).collect();
        let mut detail = format!("scopes={}", scope_names.join(","));
        if let Some(e) = expires {
            detail.push_str(&format!(" expires={e}"));
        }
        let audit = self.audit.record(actor, "token.add", name, detail)?;
        let pending = {
            let _changes = self.changes.lock();
            let mut map = self.by_hash.write();
            if map.values().any(|e| e.name == name) {
                return Err(AuthError::TokenExists(name.to_string()));
            }
            let pending = self.writer.enqueue(vec![entry.put()?, audit]);
            map.insert(entry.sha256, entry.clone());
            pending
        };
        pending.durable_blocking()?;
        Ok(NewToken {
            info: entry.info(),
            secret,
        })
    }

    /// Deletes a token; checks refuse it from now on.
    pub fn remove(&self, actor: &Actor, name: &str) -> Result<(), AuthError> {
        let audit = self.audit.record(actor, "token.remove", name, "")?;
        let pending = {
            let _changes = self.changes.lock();
            let mut map = self.by_hash.write();
            let Some(hash) = map.values().find(|e| e.name == name).map(|e| e.sha256) else {
                return Err(AuthError::NoSuchToken(name.to_string()));
            };
            map.remove(&hash);
            self.writer
                .enqueue(vec![WriteOp::delete(tables::AUTH_TOKENS, name), audit])
        };
        pending.durable_blocking().map_err(AuthError::from)
    }

    /// Deletes the tokens `owner` created (the user is being removed).
    /// Blocks until durable; returns how many.
    pub fn remove_owned_by(&self, actor: &Actor, owner: &str) -> Result<usize, AuthError> {
        let pending = {
            let _changes = self.changes.lock();
            let mut map = self.by_hash.write();
            let owned: Vec<_> = map
                .values()
                .filter(|e| e.owner.as_deref() == Some(owner))
                .cloned()
                .collect();
            let mut ops = Vec::with_capacity(owned.len() * 2);
            for e in &owned {
                map.remove(&e.sha256);
                ops.push(WriteOp::delete(tables::AUTH_TOKENS, e.name.clone()));
                ops.push(self.audit.record(
                    actor,
                    "token.remove",
                    &e.name,
                    format!("owner={owner} removed"),
                )?);
            }
            if owned.is_empty() {
                return Ok(0);
            }
            (owned.len(), self.writer.enqueue(ops))
        };
        pending.1.durable_blocking()?;
        Ok(pending.0)
    }

    /// A token for the server's own use (its self-scrape), valid until the
    /// process ends: held in memory only, never listed, and not an account
    /// (it opens nothing that was closed, nor closes what was open).
    pub fn add_internal(&self, name: &str, scopes: &[Scope]) -> String {
        let secret = token_secret::generate();
        let entry = Arc::new(Entry {
            name: name.to_string(),
            scopes: scopes.to_vec(),
            sha256: token_secret::digest(&secret),
            created: unix_now(),
            expires: None,
            last_used: AtomicI64::new(0),
            owner: None,
            internal: true,
        });
        self.by_hash.write().insert(entry.sha256, entry);
        secret
    }

    /// Every token, by name.
    pub fn list(&self) -> Vec<TokenInfo> {
        let mut out: Vec<TokenInfo> = self
            .by_hash
            .read()
            .values()
            .filter(|e| !e.internal)
            .map(|e| e.info())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.read().values().all(|e| e.internal)
    }

    /// Whether some unexpired token has the admin scope.
    pub fn has_admin(&self, now: i64) -> bool {
        self.by_hash
            .read()
            .values()
            .any(|e| !e.internal && e.scopes.contains(&Scope::Admin) && e.expires.is_none_or(|x| x > now))
    }

    /// The token whose secret this is, at the current time.
    pub fn check(&self, secret: &str) -> Result<TokenInfo, AuthError> {
        self.check_at(secret, unix_now())
    }

    /// As [`Tokens::check`], at `now` (unix seconds). Does not block.
    pub fn check_at(&self, secret: &str, now: i64) -> Result<TokenInfo, AuthError> {
        if !token_secret::is_well_formed(secret) {
            self.metrics.token_malformed.inc();
            return Err(AuthError::MalformedToken);
        }
        let hash = token_secret::digest(secret);
        let Some(entry) = self.by_hash.read().get(&hash).cloned() else {
            self.metrics.token_unknown.inc();
            return Err(AuthError::UnknownToken);
        };
        if entry.expires.is_some_and(|e| e <= now) {
            self.metrics.token_expired.inc();
            return Err(AuthError::TokenExpired(entry.name.clone()));
        }
        self.touch(&entry, now);
        Ok(entry.info())
    }

    /// Records a use at `now`, written when the last written use is a
    /// minute old or more; concurrent checks of one token write once.
    fn touch(&self, entry: &Arc<Entry>, now: i64) {
        if entry.internal || !last_use::claim_write(&entry.last_used, now, LAST_USED_RESOLUTION_SECS) {
            return;
        }
        let _changes = self.changes.lock();
        // Removed since the lookup: its row is gone and must stay gone.
        if !self.by_hash.read().contains_key(&entry.sha256) {
            return;
        }
        match entry.put() {
            Ok(op) => self.writer.write_detached(vec![op]),
            Err(e) => tracing::error!(token = %entry.name, error = %e, "cannot record a token's last use"),
        }
    }
}
