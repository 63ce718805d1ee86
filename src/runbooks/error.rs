//! Why a runbook was refused or not found.

use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum RunbookError {
    /// The name cannot be an alertname label's value in a URL path.
    #[error("invalid runbook name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("the runbook is {size} bytes of Markdown; at most {limit} bytes (64 KiB) are accepted")]
    TooLarge { size: usize, limit: usize },
    #[error("invalid runbook body: {0}")]
    InvalidBody(String),
    #[error("no runbook named {0:?}: neither built in nor written by an admin")]
    NotFound(String),
    #[error("runbook {0:?} has no edit to undo: it is the built-in text")]
    NotEdited(String),
    #[error(transparent)]
    Store(#[from] StateError),
}
