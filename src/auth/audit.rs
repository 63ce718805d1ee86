//! The audit log: who changed what, when and from where, in table
//! `auth_audit` of `state.redb`. An entry is written in the same
//! transaction as the change it records, so neither exists without the
//! other. Keys are `MICROS/SEQ` (zero-padded), so the newest entries are
//! the end of the table and a page is one reverse range scan.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::state::{StateStore, WriteOp, tables};

/// Who acted: a user name, `cli` for the command line on the server's
/// machine, `config` for what the configuration creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    /// Where from: a client address, or `local`.
    pub source: String,
}

impl Actor {
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> Actor {
        Actor {
            name: name.into(),
            source: source.into(),
        }
    }

    /// The command line, run by whoever may open the data directory.
    pub fn cli() -> Actor {
        Actor::new("cli", "local")
    }

    /// `auth.admin` of the configuration, applied at start.
    pub fn config() -> Actor {
        Actor::new("config", "local")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The entry's key: pass it as `before` for the next page.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Unix milliseconds.
    pub time: i64,
    pub actor: String,
    pub source: String,
    /// What was done, e.g. `user.add`, `token.remove`.
    pub action: String,
    /// What it was done to, e.g. the user's or token's name.
    pub target: String,
    /// More about it (a role, scopes), never a secret.
    pub detail: String,
}

/// One page of entries, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The `before` of the next page, when there may be one.
    pub next: Option<String>,
}

/// The most entries one page may ask for.
pub const MAX_PAGE: usize = 1000;

pub struct AuditLog {
    store: Arc<StateStore>,
    /// Orders entries of one millisecond in this process.
    seq: AtomicU64,
}

impl AuditLog {
    pub fn new(store: Arc<StateStore>) -> AuditLog {
        AuditLog {
            store,
            seq: AtomicU64::new(0),
        }
    }

    /// The write that records `action` on `target` now; the caller puts it
    /// in the transaction of the change.
    pub fn record(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        detail: impl Into<String>,
    ) -> Result<WriteOp, AuthError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let time = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
        // Microseconds in the key: entries of two processes (the command
        // line, then the server) never share a tick in practice.
        let micros = now.as_micros();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let entry = AuditEntry {
            id: String::new(),
            time,
            actor: actor.name.clone(),
            source: actor.source.clone(),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.into(),
        };
        let value = serde_json::to_vec(&entry).map_err(|e| AuthError::Invalid(e.to_string()))?;
        Ok(WriteOp::put(
            tables::AUTH_AUDIT,
            format!("{micros:024}/{seq:012}"),
            value,
        ))
    }

    /// Up to `limit` entries older than `before` (an entry's id), newest
    /// first. Blocking.
    pub fn list(&self, before: Option<&str>, limit: usize) -> Result<AuditPage, AuthError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let rows = self
            .store
            .scan_prefix_rev(tables::AUTH_AUDIT, "", before, limit)?;
        let full = rows.len() == limit;
        let mut entries = Vec::with_capacity(rows.len());
        for (key, value) in rows {
            let mut entry: AuditEntry = serde_json::from_slice(&value).map_err(|e| AuthError::Corrupt {
                table: tables::AUTH_AUDIT,
                key: key.clone(),
                message: e.to_string(),
            })?;
            entry.id = key;
            entries.push(entry);
        }
        let next = if full {
            entries.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let log = AuditLog::new(store.clone());
        for i in 0..5 {
            let op = log
                .record(&Actor::cli(), "user.add", &format!("u{i}"), "role=viewer")
                .unwrap();
            store.write(&[op]).unwrap();
        }
        let page = log.list(None, 2).unwrap();
        let targets = |p: &AuditPage| p.entries.iter().map(|e| e.target.clone()).collect::<Vec<_>>();
        assert_eq!(targets(&page), ["u4", "u3"]);
        assert_eq!(page.entries[0].actor, "cli");
        assert_eq!(page.entries[0].source, "local");
        let page = log.list(page.next.as_deref(), 2).unwrap();
        assert_eq!(targets(&page), ["u2", "u1"]);
        let page = log.list(page.next.as_deref(), 2).unwrap();
        assert_eq!(targets(&page), ["u0"]);
        assert_eq!(page.next, None);
    }
}
