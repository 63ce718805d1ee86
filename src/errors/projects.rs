//! The projects events may be sent to: those of `errors.projects` and
//! those `belfry errors project add` stored in `state.redb`. On an id both
//! know, the configuration wins (the stored one is ignored, with a
//! warning), so the file stays the one place an operator reads.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::config::ProjectConfig;
use crate::state::{StateStore, WriteOp, tables};

use super::ErrorsError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredProject {
    pub id: u64,
    pub name: String,
    pub keys: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub id: u64,
    pub name: String,
    pub keys: Vec<String>,
    pub max_events_per_second: u32,
}

#[derive(Debug, Default)]
pub struct Projects {
    by_id: HashMap<u64, Project>,
}

impl Projects {
    pub fn new(
        config: &[ProjectConfig],
        stored: Vec<StoredProject>,
        default_events_per_second: u32,
    ) -> Projects {
        let mut by_id = HashMap::new();
        for p in config {
            let project = Project {
                id: p.id,
                name: p.name.clone(),
                keys: p.keys.clone(),
                max_events_per_second: p.max_events_per_second.unwrap_or(default_events_per_second),
            };
            by_id.insert(p.id, project);
        }
        for p in stored {
            if by_id.contains_key(&p.id) {
                tracing::warn!(id = p.id, name = %p.name, "a stored error project has the id of a configured one; the configured one is used");
                continue;
            }
            let project = Project {
                id: p.id,
                name: p.name,
                keys: p.keys,
                max_events_per_second: default_events_per_second,
            };
            by_id.insert(project.id, project);
        }
        Projects { by_id }
    }

    /// Every project's id, ascending.
    pub fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.by_id.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn get(&self, id: u64) -> Option<&Project> {
        self.by_id.get(&id)
    }

    /// The project, when `key` is one of its keys.
    pub fn authenticate(&self, id: u64, key: Option<&str>) -> Result<&Project, ErrorsError> {
        let project = self.by_id.get(&id).ok_or(ErrorsError::UnknownProject(id))?;
        let key = key.ok_or(ErrorsError::MissingAuth)?;
        if !project.keys.iter().any(|k| k == key) {
            return Err(ErrorsError::WrongKey(id));
        }
        Ok(project)
    }
}

/// The projects `belfry errors project add` stored. Blocking.
pub fn load_stored(state: &StateStore) -> Result<Vec<StoredProject>, ErrorsError> {
    let mut out = Vec::new();
    for (key, value) in state.scan(tables::ERROR_PROJECTS)? {
        match serde_json::from_slice::<StoredProject>(&value) {
            Ok(p) => out.push(p),
            Err(e) => tracing::warn!(key, error = %e, "cannot read a stored error project; it is skipped"),
        }
    }
    Ok(out)
}

/// Stores a new project with a fresh random key; its id is one above
/// every id the configuration or the store knows. Blocking.
pub fn add_project(
    state: &StateStore,
    config: &[ProjectConfig],
    name: &str,
) -> Result<StoredProject, ErrorsError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ErrorsError::BadRequest("a project needs a name".into()));
    }
    let stored = load_stored(state)?;
    if config.iter().any(|p| p.name == name) || stored.iter().any(|p| p.name == name) {
        return Err(ErrorsError::BadRequest(format!(
            "a project named {name:?} exists already"
        )));
    }
    let id = config
        .iter()
        .map(|p| p.id)
        .chain(stored.iter().map(|p| p.id))
        .max()
        .unwrap_or(0)
        + 1;
    let key: [u8; 16] = rand::random();
    let project = StoredProject {
        id,
        name: name.to_string(),
        keys: vec![key.iter().map(|b| format!("{b:02x}")).collect()],
    };
    let value = serde_json::to_vec(&project).expect("a project serializes");
    state.write(&[WriteOp::put(tables::ERROR_PROJECTS, format!("{id:020}"), value)])?;
    Ok(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(id: u64, name: &str, key: &str) -> ProjectConfig {
        ProjectConfig {
            id,
            name: name.into(),
            keys: vec![key.into()],
            max_events_per_second: None,
        }
    }

    #[test]
    fn unknown_project_wrong_and_missing_key_differ() {
        let p = Projects::new(&[config(1, "lms", "k1")], Vec::new(), 10);
        assert_eq!(p.authenticate(1, Some("k1")).unwrap().name, "lms");
        assert!(matches!(
            p.authenticate(1, Some("k2")),
            Err(ErrorsError::WrongKey(1))
        ));
        assert!(matches!(p.authenticate(1, None), Err(ErrorsError::MissingAuth)));
        assert!(matches!(
            p.authenticate(2, Some("k1")),
            Err(ErrorsError::UnknownProject(2))
        ));
    }

    #[test]
    fn added_projects_get_fresh_ids_and_config_wins() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateStore::open(dir.path()).unwrap();
        let cfg = vec![config(3, "lms", "k1")];
        let a = add_project(&state, &cfg, "quiz").unwrap();
        assert_eq!(a.id, 4);
        assert_eq!(a.keys[0].len(), 32);
        assert_eq!(add_project(&state, &cfg, "forum").unwrap().id, 5);
        assert!(add_project(&state, &cfg, "quiz").is_err());
        assert!(add_project(&state, &cfg, "lms").is_err());
        // A later config that takes id 4 wins over the stored project.
        let later = vec![config(4, "other", "k9")];
        let p = Projects::new(&later, load_stored(&state).unwrap(), 10);
        assert_eq!(p.get(4).unwrap().name, "other");
        assert_eq!(p.get(5).unwrap().name, "forum");
    }
}
