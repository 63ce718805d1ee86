//! The logins subsystem's errors.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoginsError {
    /// The geo database of `logins.geoip_database` cannot be used.
    #[error("cannot use the geo database {}: {message}", .path.display())]
    GeoDatabase { path: PathBuf, message: String },
    /// One address's lookup failed in a database that opened.
    #[error("geo lookup failed: {0}")]
    GeoLookup(String),
    #[error("cannot read the login history from state.redb: {0}")]
    State(#[from] crate::state::StateError),
}
