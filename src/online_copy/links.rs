//! Taking a file into a copy by hard link: instant, however large, and
//! unaffected by the store deleting its own name for the file afterwards
//! (a WAL segment a checkpoint removes, a tantivy segment a merge
//! replaces). Files that only grow (a WAL's current segment) are taken
//! the same way with the length that belongs to the copy; whoever reads
//! the copy reads that many bytes.

use std::io;
use std::path::{Path, PathBuf};

/// One file of a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedFile {
    /// Where it is in the copy, relative to the copy's root.
    pub path: PathBuf,
    /// How many of its bytes, from the start, belong to the copy.
    pub len: u64,
}

/// Hard-links `from` as `to`; where the two are on different file systems
/// (a data directory with a store mounted apart), copies it instead.
pub fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => std::fs::copy(from, to).map(|_| ()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linked_file_outlives_its_first_name() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"first").unwrap();
        link_or_copy(&a, &b).unwrap();
        std::fs::remove_file(&a).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"first");
        let err = link_or_copy(&a, &dir.path().join("c")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
