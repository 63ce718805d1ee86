//! The store itself: opening `state.redb` with its schema-version guard
//! and migrations, and reading and writing its string-keyed tables.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::migrations;
use super::tables;
use super::{StateError, WriteOp};

/// The schema this build writes. Older files are migrated on open; newer
/// ones are refused, so an old binary never damages a newer file.
pub const SCHEMA_VERSION: u64 = 1;

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const VERSION_KEY: &str = "schema_version";

/// The page cache of `state.redb`. Small: what reads it often (an
/// issue's users on ingest, a page of events) finds its pages in the OS's
/// page cache as well, while loading the issues at start would otherwise
/// leave this many bytes of their pages resident for good (16 MiB did,
/// with 10,000 issues, half the errors' memory budget).
pub(super) const STATE_CACHE_BYTES: usize = 2 << 20;

pub struct StateStore {
    db: Database,
    path: PathBuf,
}

impl StateStore {
    /// Opens or creates `dir/state.redb`, migrating it to
    /// [`SCHEMA_VERSION`] and creating any missing tables. Blocking.
    pub fn open(dir: &Path) -> Result<Arc<StateStore>, StateError> {
        std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("state.redb");
        // redb's default page cache is 1 GiB: on a file holding months of
        // error events, reading the issues at start would keep their pages
        // resident long after. State is small and read rarely.
        let db = Database::builder()
            .set_cache_size(STATE_CACHE_BYTES)
            .create(&path)
            .map_err(|e| StateError::db(&path, e))?;
        let store = StateStore { db, path };
        let found = store.version()?;
        match found {
            None => store.set_version(SCHEMA_VERSION)?,
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StateError::TooNew {
                    path: store.path.display().to_string(),
                    found: v,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(v) => migrations::upgrade(&store, v)?,
        }
        store.create_tables()?;
        Ok(Arc::new(store))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the file (None for a new file).
    pub fn version(&self) -> Result<Option<u64>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        Ok(table
            .get(VERSION_KEY)
            .map_err(|e| self.err(e))?
            .map(|v| v.value()))
    }

    pub(super) fn set_version(&self, v: u64) -> Result<(), StateError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = txn.open_table(META).map_err(|e| self.err(e))?;
            t.insert(VERSION_KEY, v).map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    fn create_tables(&self) -> Result<(), StateError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        for name in tables::ALL {
            txn.open_table(tables::bytes_table(name))
                .map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Every (key, value) of a table. Blocking.
    pub fn scan(&self, table: &'static str) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn
            .open_table(tables::bytes_table(table))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Hands every (key, value) of a table to `row`, in key order,
    /// without gathering them first: a start-up load of a large table
    /// then holds one row at a time beside what it keeps, instead of a
    /// copy of the whole table that the allocator keeps after it is freed.
    /// Blocking.
    pub fn scan_each(&self, table: &'static str, mut row: impl FnMut(&str, &[u8])) -> Result<(), StateError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn
            .open_table(tables::bytes_table(table))
            .map_err(|e| self.err(e))?;
        for r in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = r.map_err(|e| self.err(e))?;
            row(k.value(), v.value());
        }
        Ok(())
    }

    /// One value of a table. Blocking.
    pub fn get(&self, table: &'static str, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn
            .open_table(tables::bytes_table(table))
            .map_err(|e| self.err(e))?;
        Ok(t.get(key).map_err(|e| self.err(e))?.map(|v| v.value().to_vec()))
    }

    /// Up to `limit` rows whose key starts with `prefix`, last key first,
    /// starting below `before` when given: a page of a key range without
    /// reading the whole table. Blocking.
    pub fn scan_prefix_rev(
        &self,
        table: &'static str,
        prefix: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn
            .open_table(tables::bytes_table(table))
            .map_err(|e| self.err(e))?;
        let upper = prefix_end(prefix);
        let end = match before {
            Some(b) if b < upper.as_str() => b.to_string(),
            _ => upper,
        };
        let mut out = Vec::new();
        let range = t.range::<&str>(prefix..end.as_str()).map_err(|e| self.err(e))?;
        for row in range.rev().take(limit) {
            let (k, v) = row.map_err(|e| self.err(e))?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Up to `limit` rows with `start <= key < end`, first key first.
    /// Blocking.
    pub fn scan_range(
        &self,
        table: &'static str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn
            .open_table(tables::bytes_table(table))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        if start >= end {
            return Ok(out);
        }
        for row in t.range::<&str>(start..end).map_err(|e| self.err(e))?.take(limit) {
            let (k, v) = row.map_err(|e| self.err(e))?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Up to `limit` rows whose key starts with `prefix`, first key
    /// first. Blocking.
    pub fn scan_prefix(
        &self,
        table: &'static str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        self.scan_range(table, prefix, &prefix_end(prefix), limit)
    }

    /// Applies puts and deletes in one durable transaction. Blocking.
    pub fn write(&self, ops: &[WriteOp]) -> Result<(), StateError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        for op in ops {
            let mut t = txn
                .open_table(tables::bytes_table(op.table))
                .map_err(|e| self.err(e))?;
            match &op.value {
                Some(v) => {
                    t.insert(op.key.as_str(), v.as_slice()).map_err(|e| self.err(e))?;
                }
                None => {
                    t.remove(op.key.as_str()).map_err(|e| self.err(e))?;
                }
            }
        }
        txn.commit().map_err(|e| self.err(e))
    }

    pub(super) fn db(&self) -> &Database {
        &self.db
    }

    pub(super) fn err(&self, e: impl Into<redb::Error>) -> StateError {
        StateError::db(&self.path, e)
    }
}

/// The least string above every string that starts with `prefix`
/// (prefixes end in an ASCII separator, whose successor is one byte on).
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_string();
    match end.pop() {
        Some(c) if c.is_ascii() && c != '\x7f' => end.push(char::from(c as u8 + 1)),
        Some(c) => {
            end.push(c);
            end.push(char::MAX);
        }
        None => end.push(char::MAX),
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_versioned_file_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        assert_eq!(s.version().unwrap(), Some(SCHEMA_VERSION));
        s.write(&[WriteOp::put(tables::SILENCES, "a", b"1".to_vec())])
            .unwrap();
        s.write(&[
            WriteOp::put(tables::SILENCES, "b", b"2".to_vec()),
            WriteOp::delete(tables::SILENCES, "a"),
        ])
        .unwrap();
        drop(s);
        let s = StateStore::open(dir.path()).unwrap();
        assert_eq!(
            s.scan(tables::SILENCES).unwrap(),
            vec![("b".to_string(), b"2".to_vec())]
        );
        let mut rows = Vec::new();
        s.scan_each(tables::SILENCES, |k, v| rows.push((k.to_string(), v.to_vec())))
            .unwrap();
        assert_eq!(rows, s.scan(tables::SILENCES).unwrap());
    }

    #[test]
    fn pages_a_prefix_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        let ops: Vec<WriteOp> = ["a/1", "a/2", "a/3", "b/1", "a0"]
            .iter()
            .map(|k| WriteOp::put(tables::SILENCES, *k, k.as_bytes().to_vec()))
            .collect();
        s.write(&ops).unwrap();
        let keys = |rows: Vec<(String, Vec<u8>)>| rows.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            keys(s.scan_prefix_rev(tables::SILENCES, "a/", None, 10).unwrap()),
            ["a/3", "a/2", "a/1"]
        );
        assert_eq!(
            keys(s.scan_prefix_rev(tables::SILENCES, "a/", None, 2).unwrap()),
            ["a/3", "a/2"]
        );
        assert_eq!(
            keys(s.scan_prefix_rev(tables::SILENCES, "a/", Some("a/2"), 5).unwrap()),
            ["a/1"]
        );
        assert_eq!(s.get(tables::SILENCES, "b/1").unwrap(), Some(b"b/1".to_vec()));
        assert_eq!(s.get(tables::SILENCES, "b/2").unwrap(), None);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        s.set_version(SCHEMA_VERSION + 1).unwrap();
        drop(s);
        let err = StateStore::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("newer"), "{err}");
    }
}
