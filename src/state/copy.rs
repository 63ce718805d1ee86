//! A consistent copy of `state.redb` while the server writes it: every
//! table as one read transaction sees it, written into a new file (see
//! `crate::online_copy`). Users, silences, dashboards, issues and their
//! events are then all of one moment.

use std::path::Path;

use redb::{Database, ReadableDatabase};

use super::store::{META, STATE_CACHE_BYTES};
use super::{StateError, StateStore, tables};
use crate::online_copy;

/// What a copy holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopiedRows {
    pub rows: u64,
    /// Key and value bytes (the file has redb's pages around them).
    pub bytes: u64,
}

impl StateStore {
    /// Copies every table into a new redb file at `dest`, which must not
    /// exist. Writers go on meanwhile; the copy is the commit that was
    /// newest when it began. Blocking.
    pub fn copy_to(&self, dest: &Path) -> Result<CopiedRows, StateError> {
        let snapshot = self.db().begin_read().map_err(|e| self.err(e))?;
        if dest.exists() {
            return Err(StateError::Db {
                path: dest.display().to_string(),
                message: "the copy's file exists already".to_string(),
            });
        }
        let copy = Database::builder()
            .set_cache_size(STATE_CACHE_BYTES)
            .create(dest)
            .map_err(|e| StateError::db(dest, e))?;
        let mut out = CopiedRows::default();
        let mut add = |(rows, bytes): (u64, u64)| {
            out.rows += rows;
            out.bytes += bytes;
        };
        let fail = |e: redb::Error| StateError::db(dest, e);
        add(online_copy::copy_table(&snapshot, &copy, META).map_err(fail)?);
        for name in tables::ALL {
            add(online_copy::copy_table(&snapshot, &copy, tables::bytes_table(name)).map_err(fail)?);
        }
        online_copy::finish(&copy).map_err(fail)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::WriteOp;

    #[test]
    fn the_copy_opens_as_a_store_with_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(&dir.path().join("live")).unwrap();
        store
            .write(&[
                WriteOp::put(tables::SILENCES, "s1", b"{\"id\":\"s1\"}".to_vec()),
                WriteOp::put(tables::AUTH_USERS, "ada", b"{}".to_vec()),
            ])
            .unwrap();
        let copy_dir = dir.path().join("copy");
        std::fs::create_dir(&copy_dir).unwrap();
        let copied = store.copy_to(&copy_dir.join("state.redb")).unwrap();
        // The two rows and the schema version.
        assert_eq!(copied.rows, 3);
        store
            .write(&[WriteOp::put(tables::SILENCES, "s2", b"{}".to_vec())])
            .unwrap();
        let err = store.copy_to(&copy_dir.join("state.redb")).unwrap_err();
        assert!(err.to_string().contains("exists already"), "{err}");

        let restored = StateStore::open(&copy_dir).unwrap();
        assert_eq!(restored.version().unwrap(), Some(crate::state::SCHEMA_VERSION));
        assert_eq!(
            restored.scan(tables::SILENCES).unwrap(),
            vec![("s1".to_string(), b"{\"id\":\"s1\"}".to_vec())]
        );
        assert_eq!(restored.scan(tables::AUTH_USERS).unwrap().len(), 1);
    }
}
