//! Why file tailing could not start.

use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("cannot read the log file positions: {0}")]
    Positions(#[from] StateError),
    #[error("logs.files[{index}]: {message}")]
    Config { index: usize, message: String },
    #[error("cannot start the file tailing thread: {0}")]
    Thread(std::io::Error),
}
