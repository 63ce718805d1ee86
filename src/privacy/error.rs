//! Why the privacy machinery cannot start: the key file cannot be read,
//! written or understood. Scrubbing itself never fails.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("cannot read the user id key {path}: {source}")]
    ReadKey {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the user id key {path}: {source}")]
    WriteKey {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Never answered by generating a new key: that would give every user
    /// a new token and split their history in two.
    #[error(
        "the user id key {path} is malformed ({reason}); restore it from a backup, or set logs.privacy.user_id_key (a new key makes every user a new token)"
    )]
    MalformedKey { path: PathBuf, reason: String },
}
