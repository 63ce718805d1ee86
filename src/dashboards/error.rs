//! Why a dashboard was refused or not found.

use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The JSON is not a dashboard: `path` names the field
    /// (`panels[3].gridPos.w`), as Grafana's importer users expect.
    #[error("invalid dashboard: {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("the dashboard is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: usize, limit: usize },
    #[error("no dashboard has uid {0:?}")]
    NotFound(String),
    #[error("dashboard {0:?} is built in and cannot be changed; duplicate it to edit a copy")]
    BuiltIn(String),
    #[error("a dashboard with uid {0:?} exists; import with overwrite to replace it")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StateError),
}

impl DashboardError {
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> DashboardError {
        DashboardError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}
