//! `Runbooks`: the built-in texts and the admins' edits, which are kept in
//! table `runbooks` of `state.redb` (by name; JSON `{"markdown",
//! "updated_by", "updated_at"}`) and held in memory, being few and small.
//! An edit of a built-in runbook hides its built-in text until restored;
//! a runbook for an alert outside the packs exists only as an edit.
//! Without a state store (tests of other APIs) edits live in memory only.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::selfmetrics::{CounterVec, Registry};
use crate::state::{StateStore, WriteOp, tables};

use super::RunbookError;
use super::builtin::{builtin_names, builtin_text};
use super::name::validate_name;
use super::render::summary_of;

/// The largest runbook accepted, in bytes of Markdown: several times the
/// longest built-in one, and small enough that every edit stays in memory.
pub const MAX_RUNBOOK_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Stored {
    markdown: String,
    updated_by: String,
    /// Unix milliseconds.
    updated_at: i64,
}

/// One runbook as the page and the API show it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Runbook {
    pub name: String,
    pub markdown: String,
    /// Whether a built-in text exists (shown again on restore).
    pub builtin: bool,
    /// Whether the text is an admin's rather than the built-in one.
    pub edited: bool,
    /// Who saved the edit ("" for the built-in text).
    pub updated_by: String,
    /// Unix milliseconds of the edit (0 for the built-in text).
    pub updated_at: i64,
}

/// A runbook as the list shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunbookSummary {
    pub name: String,
    /// The first paragraph, in plain text.
    pub summary: String,
    pub builtin: bool,
    pub edited: bool,
    pub updated_by: String,
    pub updated_at: i64,
}

pub struct Runbooks {
    store: Option<Arc<StateStore>>,
    edited: RwLock<BTreeMap<String, Stored>>,
    /// Edits refused, by reason (`too_large`, `invalid_name`).
    refused: Arc<CounterVec>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn refused_counter(registry: &Registry) -> Arc<CounterVec> {
    registry.counter_vec(
        "belfry_runbook_edits_refused_total",
        "Runbook edits refused, by reason: too_large (over 64 KiB of Markdown) or invalid_name.",
        &["reason"],
    )
}

impl Runbooks {
    /// Loads the stored edits. Blocking. One that does not decode is left
    /// in the table and out of the list, with a warning naming it.
    pub fn open(store: Arc<StateStore>, registry: &Registry) -> Result<Runbooks, RunbookError> {
        let mut edited = BTreeMap::new();
        for (name, bytes) in store.scan(tables::RUNBOOKS)? {
            match serde_json::from_slice::<Stored>(&bytes) {
                Ok(s) => {
                    edited.insert(name, s);
                }
                Err(e) => tracing::warn!(name, error = %e, "stored runbook does not decode; left out"),
            }
        }
        Ok(Runbooks {
            store: Some(store),
            edited: RwLock::new(edited),
            refused: refused_counter(registry),
        })
    }

    /// The built-in runbooks, and edits kept in memory.
    pub fn in_memory(registry: &Registry) -> Runbooks {
        Runbooks {
            store: None,
            edited: RwLock::new(BTreeMap::new()),
            refused: refused_counter(registry),
        }
    }

    fn runbook(name: &str, edit: Option<&Stored>) -> Option<Runbook> {
        let builtin = builtin_text(name);
        match (edit, builtin) {
            (Some(e), _) => Some(Runbook {
                name: name.to_string(),
                markdown: e.markdown.clone(),
                builtin: builtin.is_some(),
                edited: true,
                updated_by: e.updated_by.clone(),
                updated_at: e.updated_at,
            }),
            (None, Some(text)) => Some(Runbook {
                name: name.to_string(),
                markdown: text.to_string(),
                builtin: true,
                edited: false,
                updated_by: String::new(),
                updated_at: 0,
            }),
            (None, None) => None,
        }
    }

    /// The built-in runbooks in the packs' order, then the others by name.
    pub fn list(&self) -> Vec<RunbookSummary> {
        let edited = self.edited.read();
        let others = edited
            .keys()
            .filter(|n| builtin_text(n).is_none())
            .map(String::as_str);
        let mut names: Vec<&str> = builtin_names().collect();
        names.extend(others);
        names
            .into_iter()
            .filter_map(|name| Self::runbook(name, edited.get(name)))
            .map(|r| RunbookSummary {
                summary: summary_of(&r.markdown),
                name: r.name,
                builtin: r.builtin,
                edited: r.edited,
                updated_by: r.updated_by,
                updated_at: r.updated_at,
            })
            .collect()
    }

    /// The runbook of an alert: its edit, else its built-in text.
    pub fn get(&self, name: &str) -> Option<Runbook> {
        Self::runbook(name, self.edited.read().get(name))
    }

    /// Saves an admin's text for `name`, built in or not. Blocking (a
    /// durable write).
    pub fn put(&self, name: &str, markdown: String, actor: &str) -> Result<Runbook, RunbookError> {
        if let Err(e) = validate_name(name) {
            self.refused.with(&["invalid_name"]).inc();
            return Err(e);
        }
        if markdown.len() > MAX_RUNBOOK_BYTES {
            self.refused.with(&["too_large"]).inc();
            return Err(RunbookError::TooLarge {
                size: markdown.len(),
                limit: MAX_RUNBOOK_BYTES,
            });
        }
        if markdown.trim().is_empty() {
            return Err(RunbookError::InvalidBody(
                "the markdown is empty; restore the built-in text (DELETE) instead of saving nothing".into(),
            ));
        }
        let stored = Stored {
            markdown,
            updated_by: actor.to_string(),
            updated_at: now_ms(),
        };
        let mut edited = self.edited.write();
        if let Some(store) = &self.store {
            let bytes = serde_json::to_vec(&stored).map_err(|e| RunbookError::InvalidBody(e.to_string()))?;
            store.write(&[WriteOp::put(tables::RUNBOOKS, name.to_string(), bytes)])?;
        }
        edited.insert(name.to_string(), stored);
        Ok(Self::runbook(name, edited.get(name)).expect("just saved"))
    }

    /// Drops the edit of `name`: a built-in runbook shows its built-in
    /// text again (returned), one written for another alert is gone
    /// (None). Blocking.
    pub fn restore(&self, name: &str) -> Result<Option<Runbook>, RunbookError> {
        let mut edited = self.edited.write();
        if !edited.contains_key(name) {
            return Err(if builtin_text(name).is_some() {
                RunbookError::NotEdited(name.to_string())
            } else {
                RunbookError::NotFound(name.to_string())
            });
        }
        if let Some(store) = &self.store {
            store.write(&[WriteOp::delete(tables::RUNBOOKS, name)])?;
        }
        edited.remove(name);
        Ok(Self::runbook(name, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(registry: &Registry, reason: &str) -> bool {
        registry
            .render()
            .lines()
            .any(|l| l == format!("belfry_runbook_edits_refused_total{{reason=\"{reason}\"}} 1"))
    }

    /// One suite, run against the store-backed and the in-memory kind.
    fn suite(runbooks: &Runbooks, registry: &Registry) {
        let listed = runbooks.list();
        assert!(listed.len() >= 20);
        assert!(
            listed
                .iter()
                .all(|r| r.builtin && !r.edited && !r.summary.is_empty())
        );
        let builtin = runbooks.get("LMSAPIDown").unwrap();
        assert!(builtin.builtin && !builtin.edited);
        assert_eq!(builtin.markdown, builtin_text("LMSAPIDown").unwrap());
        assert!(runbooks.get("TheirAlert").is_none());

        let edit = runbooks
            .put("LMSAPIDown", "# LMSAPIDown\n\nCall Ada first.\n".into(), "ada")
            .unwrap();
        assert!(edit.builtin && edit.edited);
        assert_eq!(edit.updated_by, "ada");
        assert!(edit.updated_at > 0);
        assert_eq!(
            runbooks.get("LMSAPIDown").unwrap().markdown,
            "# LMSAPIDown\n\nCall Ada first.\n"
        );
        let row = runbooks
            .list()
            .into_iter()
            .find(|r| r.name == "LMSAPIDown")
            .unwrap();
        assert_eq!((row.summary.as_str(), row.edited), ("Call Ada first.", true));

        let mine = runbooks
            .put("TheirAlert", "# TheirAlert\n\nOur own.\n".into(), "bob")
            .unwrap();
        assert!(!mine.builtin && mine.edited);
        assert_eq!(runbooks.list().last().unwrap().name, "TheirAlert");

        let restored = runbooks.restore("LMSAPIDown").unwrap().unwrap();
        assert!(!restored.edited);
        assert_eq!(restored.markdown, builtin_text("LMSAPIDown").unwrap());
        assert!(matches!(
            runbooks.restore("LMSAPIDown"),
            Err(RunbookError::NotEdited(_))
        ));
        assert!(matches!(
            runbooks.restore("NoSuchAlert"),
            Err(RunbookError::NotFound(_))
        ));

        let big = "x".repeat(MAX_RUNBOOK_BYTES + 1);
        let e = runbooks.put("LMSAPIDown", big, "ada").unwrap_err();
        assert!(e.to_string().contains("64 KiB"), "{e}");
        assert!(refused(registry, "too_large"));
        runbooks
            .put("LMSAPIDown", "x".repeat(MAX_RUNBOOK_BYTES), "ada")
            .unwrap();
        runbooks.restore("LMSAPIDown").unwrap();
        assert!(matches!(
            runbooks.put("a/b", "text".into(), "ada"),
            Err(RunbookError::InvalidName { .. })
        ));
        assert!(refused(registry, "invalid_name"));
        assert!(matches!(
            runbooks.put("Empty", " \n".into(), "ada"),
            Err(RunbookError::InvalidBody(_))
        ));
    }

    #[test]
    fn in_memory() {
        let registry = Registry::new();
        suite(&Runbooks::in_memory(&registry), &registry);
    }

    #[test]
    fn in_the_state_store_and_kept_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let registry = Registry::new();
        let runbooks = Runbooks::open(store.clone(), &registry).unwrap();
        suite(&runbooks, &registry);
        runbooks
            .put("LMSDBDown", "# LMSDBDown\n\nPage the DBA.\n".into(), "ada")
            .unwrap();
        drop(runbooks);
        drop(store);
        let store = StateStore::open(dir.path()).unwrap();
        let reopened = Runbooks::open(store, &Registry::new()).unwrap();
        let edited: Vec<_> = reopened
            .list()
            .into_iter()
            .filter(|r| r.edited)
            .map(|r| (r.name, r.updated_by))
            .collect();
        assert_eq!(
            edited,
            [
                ("LMSDBDown".to_string(), "ada".to_string()),
                ("TheirAlert".to_string(), "bob".to_string())
            ]
        );
        assert_eq!(
            reopened.get("LMSDBDown").unwrap().markdown,
            "# LMSDBDown\n\nPage the DBA.\n"
        );
    }
}
