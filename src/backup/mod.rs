//! Online backups, layer 4: a consistent copy of a running server's data
//! directory, taken by the server (which owns the files and their locks)
//! and streamed as a tar archive that `belfry backup DIR` unpacks into a
//! directory `belfry serve --data-dir DIR` opens. `copy.rs` takes each
//! store in turn into a staging directory (redb tables through a read
//! transaction, the rest by hard link; writers never wait), `archive.rs`
//! streams it with a manifest of every file's length and CRC last, and
//! `unpack.rs` writes an archive into a directory, checking it against
//! that manifest.

mod archive;
mod copy;
mod error;
mod manifest;
mod metrics;
mod unpack;

pub use copy::{Backups, Snapshot};
pub use error::BackupError;
pub use manifest::{MANIFEST_FILE, Manifest, ManifestFile};
pub use metrics::BackupMetrics;
pub use unpack::{check_empty_target, unpack};
