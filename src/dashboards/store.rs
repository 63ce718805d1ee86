//! `Dashboards`: the built-in ones and those imported, which are kept in
//! table `dashboards` of `state.redb` (by uid; JSON `{"dashboard", "updated",
//! "updated_by"}`) and held in memory, being few and small. Without a state
//! store (tests of other APIs) imports live in memory only.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{StateStore, WriteOp, tables};

use super::builtin::builtin;
use super::model::slug;
use super::{Dashboard, DashboardError, parse_dashboard};

/// A dashboard as the list shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DashboardSummary {
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    pub builtin: bool,
    /// Unix seconds of the last import; 0 for a built-in one.
    pub updated: f64,
    pub updated_by: String,
}

#[derive(Serialize, Deserialize)]
struct StoredDashboard {
    dashboard: Value,
    updated: f64,
    updated_by: String,
}

struct Imported {
    dashboard: Dashboard,
    updated: f64,
    updated_by: String,
}

pub struct Dashboards {
    store: Option<Arc<StateStore>>,
    imported: RwLock<BTreeMap<String, Imported>>,
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn is_builtin(uid: &str) -> bool {
    builtin().iter().any(|d| d.uid == uid)
}

impl Dashboards {
    /// Loads the imported dashboards. Blocking. A stored dashboard that no
    /// longer passes the checks (a newer build's stricter ones) is left in
    /// the table and out of the list, with a warning naming it.
    pub fn open(store: Arc<StateStore>) -> Result<Dashboards, DashboardError> {
        let mut imported = BTreeMap::new();
        for (uid, bytes) in store.scan(tables::DASHBOARDS)? {
            let loaded = serde_json::from_slice::<StoredDashboard>(&bytes)
                .map_err(|e| DashboardError::invalid("(stored)", e.to_string()))
                .and_then(|s| {
                    let d = parse_dashboard(&serde_json::to_vec(&s.dashboard).unwrap_or_default())?;
                    Ok(Imported {
                        dashboard: d,
                        updated: s.updated,
                        updated_by: s.updated_by,
                    })
                });
            match loaded {
                Ok(i) => {
                    imported.insert(uid, i);
                }
                Err(e) => tracing::warn!(uid, error = %e, "stored dashboard does not load; left out"),
            }
        }
        Ok(Dashboards {
            store: Some(store),
            imported: RwLock::new(imported),
        })
    }

    /// Built-in dashboards only, and imports kept in memory.
    pub fn in_memory() -> Dashboards {
        Dashboards {
            store: None,
            imported: RwLock::new(BTreeMap::new()),
        }
    }

    /// Built-in ones first, then the imported by title.
    pub fn list(&self) -> Vec<DashboardSummary> {
        let mut out: Vec<DashboardSummary> = builtin()
            .iter()
            .map(|d| DashboardSummary {
                uid: d.uid.clone(),
                title: d.title.clone(),
                tags: d.tags.clone(),
                builtin: true,
                updated: 0.0,
                updated_by: String::new(),
            })
            .collect();
        let mut imported: Vec<DashboardSummary> = self
            .imported
            .read()
            .values()
            .map(|i| DashboardSummary {
                uid: i.dashboard.uid.clone(),
                title: i.dashboard.title.clone(),
                tags: i.dashboard.tags.clone(),
                builtin: false,
                updated: i.updated,
                updated_by: i.updated_by.clone(),
            })
            .collect();
        imported.sort_by(|a, b| {
            a.title
                .to_lowercase()
                .cmp(&b.title.to_lowercase())
                .then(a.uid.cmp(&b.uid))
        });
        out.extend(imported);
        out
    }

    /// The dashboard and whether it is built in.
    pub fn get(&self, uid: &str) -> Option<(Dashboard, bool)> {
        if let Some(d) = builtin().iter().find(|d| d.uid == uid) {
            return Some((d.clone(), true));
        }
        self.imported
            .read()
            .get(uid)
            .map(|i| (i.dashboard.clone(), false))
    }

    /// Imports a dashboard document; an existing uid is replaced only with
    /// `overwrite`. A dashboard carrying a built-in one's uid (the guide's
    /// sample is the API Performance dashboard's) is kept beside it as
    /// `UID-imported`, since built-in dashboards never change. Blocking (a
    /// durable write).
    pub fn import(&self, bytes: &[u8], overwrite: bool, actor: &str) -> Result<Dashboard, DashboardError> {
        let mut dashboard = parse_dashboard(bytes)?;
        if is_builtin(&dashboard.uid) {
            let base = slug(&format!("{}-imported", dashboard.uid));
            let uid = if overwrite { base } else { self.free_uid(&base) };
            dashboard.model["uid"] = Value::String(uid.clone());
            dashboard.uid = uid;
        }
        if !overwrite && self.imported.read().contains_key(&dashboard.uid) {
            return Err(DashboardError::Exists(dashboard.uid));
        }
        self.put(dashboard.clone(), actor)?;
        Ok(dashboard)
    }

    /// `base`, or `base2`, `base3`, … whichever no dashboard has.
    fn free_uid(&self, base: &str) -> String {
        let taken = |u: &str| is_builtin(u) || self.imported.read().contains_key(u);
        (1..)
            .map(|n| {
                if n == 1 {
                    base.to_string()
                } else {
                    slug(&format!("{base}{n}"))
                }
            })
            .find(|u| !taken(u))
            .unwrap_or_else(|| base.to_string())
    }

    /// An editable copy under a new uid and title ("… (copy)", then
    /// "(copy 2)", …).
    pub fn duplicate(&self, uid: &str, actor: &str) -> Result<Dashboard, DashboardError> {
        let (source, _) = self
            .get(uid)
            .ok_or_else(|| DashboardError::NotFound(uid.to_string()))?;
        let copy_uid = self.free_uid(&slug(&format!("{}-copy", source.uid)));
        let n = copy_uid
            .rsplit("-copy")
            .next()
            .and_then(|n| n.parse::<u32>().ok());
        let title = match n {
            Some(n) => format!("{} (copy {n})", source.title),
            None => format!("{} (copy)", source.title),
        };
        let mut model = source.model.clone();
        model["uid"] = Value::String(copy_uid.clone());
        model["title"] = Value::String(title.clone());
        model["editable"] = Value::Bool(true);
        let copy = Dashboard {
            uid: copy_uid,
            title,
            tags: source.tags.clone(),
            model,
        };
        self.put(copy.clone(), actor)?;
        Ok(copy)
    }

    /// Removes an imported dashboard. Blocking.
    pub fn delete(&self, uid: &str) -> Result<(), DashboardError> {
        if is_builtin(uid) {
            return Err(DashboardError::BuiltIn(uid.to_string()));
        }
        let mut imported = self.imported.write();
        if !imported.contains_key(uid) {
            return Err(DashboardError::NotFound(uid.to_string()));
        }
        if let Some(store) = &self.store {
            store.write(&[WriteOp::delete(tables::DASHBOARDS, uid)])?;
        }
        imported.remove(uid);
        Ok(())
    }

    fn put(&self, dashboard: Dashboard, actor: &str) -> Result<(), DashboardError> {
        let updated = now_secs();
        let mut imported = self.imported.write();
        if let Some(store) = &self.store {
            let stored = StoredDashboard {
                dashboard: dashboard.model.clone(),
                updated,
                updated_by: actor.to_string(),
            };
            let bytes = serde_json::to_vec(&stored)
                .map_err(|e| DashboardError::invalid("(stored)", e.to_string()))?;
            store.write(&[WriteOp::put(tables::DASHBOARDS, dashboard.uid.clone(), bytes)])?;
        }
        imported.insert(
            dashboard.uid.clone(),
            Imported {
                dashboard,
                updated,
                updated_by: actor.to_string(),
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINE: &[u8] =
        br#"{"uid": "courses", "title": "Courses", "tags": ["lms"], "panels": [{"type": "stat"}]}"#;

    /// One suite, run against the store-backed and the in-memory kind.
    fn suite(dashboards: &Dashboards) {
        assert_eq!(dashboards.list().len(), 4);
        assert!(dashboards.list().iter().all(|d| d.builtin));
        let d = dashboards.import(MINE, false, "ada").unwrap();
        assert_eq!(d.uid, "courses");
        assert!(matches!(
            dashboards.import(MINE, false, "ada"),
            Err(DashboardError::Exists(_))
        ));
        dashboards.import(MINE, true, "bob").unwrap();
        let listed = dashboards.list();
        assert_eq!(listed.len(), 5);
        assert_eq!(
            (listed[4].uid.as_str(), listed[4].updated_by.as_str()),
            ("courses", "bob")
        );

        let builtin_json = serde_json::to_vec(&dashboards.get("lms-security").unwrap().0.model).unwrap();
        let kept_beside = dashboards.import(&builtin_json, false, "ada").unwrap();
        assert_eq!(kept_beside.uid, "lms-security-imported");
        assert_eq!(
            dashboards.import(&builtin_json, false, "ada").unwrap().uid,
            "lms-security-imported2"
        );
        assert_eq!(dashboards.get("lms-security").map(|(_, b)| b), Some(true));
        dashboards.delete("lms-security-imported2").unwrap();
        assert!(matches!(
            dashboards.delete("lms-security"),
            Err(DashboardError::BuiltIn(_))
        ));

        let copy = dashboards.duplicate("lms-security", "ada").unwrap();
        assert_eq!(
            (copy.uid.as_str(), copy.title.as_str()),
            ("lms-security-copy", "LMS Security (copy)")
        );
        let again = dashboards.duplicate("lms-security", "ada").unwrap();
        assert_eq!(
            (again.uid.as_str(), again.title.as_str()),
            ("lms-security-copy2", "LMS Security (copy 2)")
        );
        assert_eq!(dashboards.get("lms-security-copy").map(|(_, b)| b), Some(false));

        dashboards.delete("courses").unwrap();
        dashboards.delete("lms-security-imported").unwrap();
        assert!(matches!(
            dashboards.delete("courses"),
            Err(DashboardError::NotFound(_))
        ));
        assert!(dashboards.get("courses").is_none());
    }

    #[test]
    fn in_memory() {
        suite(&Dashboards::in_memory());
    }

    #[test]
    fn in_the_state_store_and_kept_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        suite(&Dashboards::open(store.clone()).unwrap());
        drop(store);
        let store = StateStore::open(dir.path()).unwrap();
        let reopened = Dashboards::open(store).unwrap();
        let mut uids: Vec<_> = reopened
            .list()
            .into_iter()
            .filter(|d| !d.builtin)
            .map(|d| d.uid)
            .collect();
        uids.sort();
        assert_eq!(uids, vec!["lms-security-copy", "lms-security-copy2"]);
    }
}
